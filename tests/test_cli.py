"""The CLI end to end, through the installed ``evidex`` entry point (a real subprocess)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from evidex.model import document_from_dict, document_to_dict
from evidex.parse import parse_file

EVIDEX = shutil.which("evidex") or str(Path(sys.executable).parent / "evidex")


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([EVIDEX, *args], capture_output=True, text=True, timeout=300, cwd=cwd)


def test_version() -> None:
    r = run("--version")
    assert r.returncode == 0 and r.stdout.startswith("evidex ")


def test_help_documents_exit_codes() -> None:
    r = run("--help")
    assert r.returncode == 0
    assert "Exit codes" in r.stdout and "usage or configuration error" in r.stdout
    r = run("parse", "--help")
    assert r.returncode == 0 and "--format" in r.stdout


def test_parse_examples_as_tree(examples_dir: Path) -> None:
    files = sorted(str(p) for p in examples_dir.iterdir() if p.is_file())
    r = run("parse", *files, "--format", "tree")
    assert r.returncode == 0, r.stderr
    assert "letter-termination.txt" in r.stdout and "key_value" in r.stdout and "heading" in r.stdout


def test_parse_json_is_lossless(examples_dir: Path, tmp_path: Path) -> None:
    """The CLI's JSON (parsed in a worker process) is exactly the in-process parse: same text, nodes, layers,
    provenance, anchors, pages, metadata and warnings — and it loads back into an equal Document."""
    files = [examples_dir / "travel-policy.md", examples_dir / "invoice-acme.html"]
    r = run("parse", *map(str, files), "--format", "json")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.strip().splitlines()
    assert len(lines) == len(files)
    for path, line in zip(files, lines, strict=True):
        got = json.loads(line)
        local = parse_file(path)
        assert got == json.loads(json.dumps(document_to_dict(local), ensure_ascii=False)), path.name
        doc = document_from_dict(got)
        doc.check()
        assert (doc.text, doc.nodes, doc.anchors, doc.pages) == (local.text, local.nodes, local.anchors, local.pages)
        assert dict(doc.metadata) == dict(local.metadata) and doc.warnings == local.warnings
        assert document_to_dict(doc) == document_to_dict(local)
    md = document_from_dict(json.loads(lines[0]))
    assert "Effective date: 1 April 2024" in md.text
    html = document_from_dict(json.loads(lines[1]))
    assert {n.layer.value for n in html.nodes} >= {"body", "furniture"}  # layers survive the trip


def test_parse_markdown_output(examples_dir: Path) -> None:
    r = run("parse", str(examples_dir / "travel-policy.md"), "--format", "markdown")
    assert r.returncode == 0
    assert "# Travel and Expense Policy" in r.stdout
    assert "| Meals | £45.00 | Yes |" in r.stdout


def test_bad_files_give_coded_errors_and_exit_1_but_good_files_print(tmp_path: Path, examples_dir: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    r = run("parse", str(empty), str(tmp_path / "missing.txt"), str(examples_dir / "letter-termination.txt"),
            "--format", "json")
    assert r.returncode == 1
    assert "[EVX-D003]" in r.stderr and "empty.txt" in r.stderr
    assert "[EVX-D001]" in r.stderr and "missing.txt" in r.stderr
    records = [json.loads(x) for x in r.stdout.splitlines()]
    assert [("error" in x) for x in records] == [True, True, False]
    assert records[0]["error"]["reason"] == "EMPTY_INPUT"


def test_unknown_format_is_a_usage_error(examples_dir: Path) -> None:
    r = run("parse", str(examples_dir / "letter-termination.txt"), "--as", "wordperfect")
    assert r.returncode == 2, (r.returncode, r.stderr)  # README: 2 = usage/config error
    assert "EVX-C002" in r.stderr and "available:" in r.stderr
    assert r.stdout == ""  # nothing was parsed


@pytest.mark.parametrize("example", ["evidex parse examples/invoice-acme.html", "evidex parse examples/travel-policy.md --format markdown"])
def test_help_examples_run(example: str, examples_dir: Path) -> None:
    args = example.split()[1:]
    r = run(*args, cwd=examples_dir.parent)
    assert r.returncode == 0, r.stderr


def test_parse_compact_reports_sheet_compression(tmp_path: Path) -> None:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Ledger"
    ws.append(["Account", "Description", "Amount"])
    for i in range(300):
        ws.append(["4000", "Sale", 100 + i])
    path = tmp_path / "ledger.xlsx"
    wb.save(path)
    r = run("parse", str(path), "--format", "compact")
    assert r.returncode == 0, r.stderr
    assert "similar rows" in r.stdout and "Account" in r.stdout
    assert "compression" in r.stderr and "rows collapsed" in r.stderr
