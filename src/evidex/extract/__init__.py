"""Extraction engines: candidates + choice, generation, rules; prompts; records from tables."""

from evidex.extract.engine import ExtractOptions, Extractor

__all__ = ["ExtractOptions", "Extractor"]
