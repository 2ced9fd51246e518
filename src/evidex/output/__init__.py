"""Writers for results: JSON Lines, flat tables (CSV, Parquet) and a self-contained HTML evidence report.

All writers take an iterable of ``(document, result)`` pairs; ``document`` is ``None`` for a document that
failed to parse (its ``result.error`` says why) and such documents are always written, never dropped.
"""

from evidex.output.common import Record, nest_values
from evidex.output.html_report import write_html_report
from evidex.output.jsonl import read_jsonl, record_to_dict, write_jsonl
from evidex.output.tables import to_rows, write_csv, write_parquet

__all__ = [
    "Record", "nest_values", "read_jsonl", "record_to_dict", "to_rows", "write_csv", "write_html_report",
    "write_jsonl", "write_parquet",
]
