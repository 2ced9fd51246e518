"""evidex: documents in, evidence-backed tables out.

Every extracted value carries spans into one immutable canonical text per document, and from there to
the page and box, sheet cell, DOM node or MIME part it came from.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
