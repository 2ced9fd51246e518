"""Extraction: the engine, its stages (modes, proposers, scorers, generators) and their options.

The package is callable: ``evidex.extract(inputs, schema, …)`` is :func:`evidex.api.extract`.
"""

from evidex.extract.engine import Extractor
from evidex.extract.options import ExtractOptions

__all__ = ["ExtractOptions", "Extractor"]

from evidex._callable import make_callable

make_callable(__name__, "evidex.api:extract")
