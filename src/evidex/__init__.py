"""evidex: documents in, evidence-backed tables out.

Every extracted value carries spans into one immutable canonical text per document, and from there to
the page and box, sheet cell, DOM node or MIME part it came from.

The public API is small and stable; everything else lives in subpackages::

    import evidex

    schema = evidex.Schema.from_dict({"fields": {"invoice_number": "string", "total": "money"}})
    for res in evidex.extract(["invoice.pdf"], schema):
        print(res.source, res.values())

Names are imported lazily, so ``import evidex`` stays fast.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "parse": "",  # callable packages (see evidex._callable)
    "extract": "",
    "Schema": "evidex.model",
    "Field": "evidex.model",
    "FieldType": "evidex.model",
    "Document": "evidex.model",
    "Span": "evidex.model",
    "Extraction": "evidex.model",
    "Grounding": "evidex.model",
    "Result": "evidex.model",
    "ExtractOptions": "evidex.extract",
    "Pipeline": "evidex.pipeline",
    "PipelineSpec": "evidex.pipeline",
    "EvidexError": "evidex.errors",
}

__all__ = [
    "Document", "EvidexError", "ExtractOptions", "Extraction", "Field", "FieldType", "Grounding", "Pipeline",
    "PipelineSpec", "Result", "Schema", "Span", "__version__", "extract", "parse",
]

def __getattr__(name: str) -> Any:
    mod = _EXPORTS.get(name)
    if mod is None:
        raise AttributeError(f"module 'evidex' has no attribute {name!r}")
    value = import_module(f"evidex.{name}") if mod == "" else getattr(import_module(mod), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
