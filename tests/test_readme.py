"""The README's Python examples run as written (from the repository root)."""

from __future__ import annotations

import contextlib
import io
import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _python_blocks() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return re.findall(r"```python\n(.*?)```", text, re.S)


def test_readme_has_python_examples() -> None:
    assert _python_blocks()


@pytest.mark.parametrize("block", _python_blocks())
def test_readme_python_example_runs(block: str) -> None:
    out = io.StringIO()
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        with contextlib.redirect_stdout(out):
            exec(compile(block, "README.md", "exec", dont_inherit=True), {"__name__": "__readme__"})
    finally:
        os.chdir(cwd)
    printed = out.getvalue()
    assert "invoice_number INV-2024-0042 exact" in printed
    assert "'£692.40'" in printed


def test_schema_doc_examples_load() -> None:
    """docs/schema.md (named by the EVX-C001 hint) shows schemas that actually load."""
    from evidex.model import FieldType, Schema

    text = (ROOT / "docs" / "schema.md").read_text(encoding="utf-8")
    (yaml_block,) = re.findall(r"```yaml\n(.*?)```", text, re.S)
    schema = Schema.from_yaml(yaml_block)
    assert schema.field("term").type is FieldType.DURATION
    assert schema.field("receipt_date").as_printed
    assert schema.field("line_items.amount").type is FieldType.MONEY
    assert schema.relations[0].head == "PERSON"
    for block in re.findall(r"```python\n(.*?)```", text, re.S):
        exec(compile(block, "docs/schema.md", "exec", dont_inherit=True), {"__name__": "__doc__"})
