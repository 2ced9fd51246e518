"""Context selection: structure-aware chunks, ranking per field, budgeted compression → TextViews."""

from evidex.select.chunk import Chunk, chunk_view, select_context

__all__ = ["Chunk", "chunk_view", "select_context"]
