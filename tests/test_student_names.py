"""Students by registered name (issue 9 §2: "loadable by path or registered name"): the packaged ``default``
comes from the ``evidex.students`` entry point, a plugin or an application registers more, and ``--student
NAME`` runs exactly what ``--student DIR`` runs."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from evidex import registry
from evidex.cli.main import app
from evidex.errors import ConfigError
from evidex.extract.student.names import DEFAULT_MODEL, resolve_student, student_names
from evidex.extract.student.scorer import StudentOptions, StudentScorer

RECEIPT = "SUN HARDWARE SDN BHD\nNO 12, JALAN IPOH, 51200 KUALA LUMPUR\nDATE: 03/04/2018\nITEM 1   12.50\n" \
          "TOTAL   RM 12.50\nCASH   20.00\nCHANGE   7.50\n"
SCHEMA = "name: receipt\nfields:\n  company:\n    type: string\n    description: Name of the shop.\n" \
         "  date:\n    type: date\n    description: Date of the receipt.\n" \
         "  total:\n    type: money\n    description: Total amount paid.\n"


@pytest.fixture
def mine(tmp_path: Path) -> Iterator[Path]:
    """A copy of the packaged student registered as ``mine`` (what a package's entry point would do)."""
    d = tmp_path / "students" / "mine-v1"
    shutil.copytree(DEFAULT_MODEL, d)
    registry.students.register("mine", d)  # a Path object (a str would name "module:attr")
    yield d
    registry.students.unregister("mine")


def test_default_is_a_registered_entry_point() -> None:
    assert "default" in registry.students.names()  # from pyproject's evidex.students group, like any plugin
    assert Path(registry.students.get("default")) == DEFAULT_MODEL
    assert resolve_student("default") == resolve_student("") == DEFAULT_MODEL


def test_a_registered_name_resolves_and_loads(mine: Path) -> None:
    assert "mine" in student_names()
    assert resolve_student("mine") == mine
    assert StudentScorer(StudentOptions(model="mine")).model.path == mine
    registry.students.register("lazy", lambda: mine)  # a function returning the directory also works
    try:
        assert resolve_student("lazy") == mine
    finally:
        registry.students.unregister("lazy")


def test_a_directory_wins_over_a_name(mine: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    other = tmp_path / "mine"
    shutil.copytree(DEFAULT_MODEL, other)
    monkeypatch.chdir(tmp_path)
    assert resolve_student("mine") == Path("mine")  # ./mine exists: the user's directory, not the registered one


def test_an_unknown_name_lists_the_registered_ones(mine: Path) -> None:
    with pytest.raises(ConfigError) as e:
        StudentScorer(StudentOptions(model="mien"))
    assert "mien" in str(e.value)
    assert "default" in (e.value.hint or "") and "mine" in (e.value.hint or "")


def test_cli_student_by_name_equals_by_path(mine: Path, tmp_path: Path) -> None:
    doc = tmp_path / "r.txt"
    doc.write_text(RECEIPT, encoding="utf-8")
    schema = tmp_path / "s.yaml"
    schema.write_text(SCHEMA, encoding="utf-8")
    out: dict[str, list[dict[str, object]]] = {}
    for how, student in (("name", "mine"), ("path", str(mine))):
        pred = tmp_path / f"{how}.jsonl"
        res = CliRunner().invoke(app, ["extract", str(doc), "--schema", str(schema), "--backend", "none",
                                       "--student", student, "-o", str(pred), "--quiet", "--in-process"])
        assert res.exit_code == 0, res.output
        rec = json.loads(pred.read_text(encoding="utf-8").splitlines()[0])
        out[how] = [{k: x[k] for k in ("path", "value", "confidence")} for x in rec["extractions"]]
    assert out["name"] == out["path"]
    assert any(x["path"] == "company" and x["value"] == "SUN HARDWARE SDN BHD" for x in out["name"])
