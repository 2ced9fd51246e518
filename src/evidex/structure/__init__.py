"""Structure-level operations on Documents: renderings (views) and tree enrichment."""

from evidex.structure.render import markdown_view, plain_view

__all__ = ["markdown_view", "plain_view"]
