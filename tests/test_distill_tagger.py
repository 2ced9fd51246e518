"""`evidex distill` with the span tagger (issue 9 §2, §5): values the teacher finds that no candidate proposes —
here shop names printed over two lines — become the tagger's candidates, so the distilled student can give
them; without the tagger it cannot. Real receipts written as files, a fake teacher answering from them."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pytest

pytest.importorskip("lightgbm")
pytest.importorskip("sklearn")
pytest.importorskip("pycrfsuite")

from typer.testing import CliRunner

import evidex
from evidex.backends.base import Request
from evidex.backends.fake import FakeBackend
from evidex.cli.main import app
from evidex.distill import distill
from evidex.errors import UsageError
from evidex.extract import ExtractOptions
from evidex.extract.tagger import student_stages
from evidex.model import Schema
from evidex.pipeline import Pipeline, PipelineSpec

SCHEMA = Schema.from_yaml("""\
name: receipt
fields:
  company: {type: string, description: Name of the shop that issued the receipt.}
  total: {type: money, description: Total amount paid.}
""")
_NAMES = ["KEDAI MAJU", "SUN HARDWARE", "GOLDEN BAKERY", "TECK HUAT", "MEGA MART", "LIM BROTHERS", "HUP SENG",
          "AIK CHEONG", "BOON LAY", "CITY FLORIST", "KAH MOTOR", "EVERGREEN", "PASAR RIA", "NEW WAVE", "SRI JAYA"]


def _receipt(rnd: random.Random, i: int) -> tuple[str, dict[str, str]]:
    name, suffix = rnd.choice(_NAMES), rnd.choice(["SDN BHD", "ENTERPRISE", "TRADING CO"])
    total = round(rnd.uniform(5, 300), 2)
    lines = [name, suffix, f"(CO. REG {rnd.randint(100000, 999999)}-K)",
             f"NO {rnd.randint(1, 99)}, JALAN {rnd.choice(['MERANTI', 'BUNGA', 'IPOH'])}, KUALA LUMPUR",
             f"INVOICE NO: INV{1000 + i}", f"ITEM 1   {total:.2f}", f"TOTAL   RM {total:.2f}", "THANK YOU"]
    return "\n".join(lines) + "\n", {"company": f"{name} {suffix}", "total": f"{total:.2f}"}


def _docs(root: Path, n: int, seed: int) -> tuple[list[Path], dict[int, dict[str, str]]]:
    rnd = random.Random(seed)
    root.mkdir(parents=True, exist_ok=True)
    paths, truth = [], {}
    for i in range(n):
        text, fields = _receipt(rnd, i)
        (root / f"r{i:03d}.txt").write_text(text, encoding="utf-8")
        paths.append(root / f"r{i:03d}.txt")
        truth[1000 + i] = fields
    return paths, truth


def _teacher(truth: dict[int, dict[str, str]]):  # type: ignore[no-untyped-def]
    def answer(req: Request) -> str:
        n = int(re.findall(r"INV(\d{4})", "".join(m.content for m in req.messages))[-1])
        return json.dumps(truth[n])
    return answer


@pytest.fixture(scope="module")
def students(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, object]]:
    root = tmp_path_factory.mktemp("distill-tagger")
    paths, truth = _docs(root / "docs", 30, seed=11)
    reports: dict[str, object] = {}
    for which in ("off", "auto"):
        be = FakeBackend().push(*([_teacher(truth)] * 90))
        with Pipeline(SCHEMA, be, ExtractOptions(mode="generate")) as pipe:
            reports[which] = distill(paths, SCHEMA, root / which, teacher=pipe, seed=1, rounds=40, tagger=which)
    return root, reports


def _right(model: Path, tmp_path: Path) -> int:
    paths, truth = _docs(tmp_path / "unseen", 10, seed=99)
    proposer, _ = student_stages(model, [])
    opts = {"scorer": {"model": str(model)}, **({"proposer": {"model": str(model)}} if proposer else {})}
    results = evidex.extract(paths, SCHEMA, backend=None, options=ExtractOptions(
        mode="rules", scorer="student", proposer=proposer or "candidates", stage_options=opts))
    return sum(1 for i, r in enumerate(results) for x in r.extractions
               if x.path == "company" and x.value == truth[1000 + i]["company"])


def test_auto_tags_the_field_no_candidate_covers(students: tuple[Path, dict[str, object]]) -> None:
    root, reports = students
    tag = reports["auto"].tagger  # type: ignore[attr-defined]
    assert tag is not None and tag.fields == ["company"]  # total always has a candidate: not tagged
    assert tag.coverage_before.to_dict()["company"]["miss_share"] > 0.5
    card = json.loads((root / "auto" / "card.json").read_text(encoding="utf-8"))
    assert card["tagger"]["fields"] == {"company": "string"} and card["training_data"]["teacher"]
    assert (root / "auto" / "tagger.crfsuite").is_file() and not (root / "off" / "tagger.crfsuite").exists()
    assert reports["off"].tagger is None  # type: ignore[attr-defined]


def test_the_tagger_lets_the_distilled_student_give_two_line_names(
        students: tuple[Path, dict[str, object]], tmp_path: Path) -> None:
    root, _ = students
    with_tagger, without = _right(root / "auto", tmp_path / "a"), _right(root / "off", tmp_path / "b")
    # a candidate spans both lines only for some suffixes (an organisation's "SDN BHD"): the tagger covers the rest
    assert with_tagger >= 8 and with_tagger >= without + 4, (with_tagger, without)


def test_distill_cli_tagger_option(tmp_path: Path) -> None:
    _, truth = _docs(tmp_path / "docs", 12, seed=3)
    answers = [json.dumps(truth[1000 + i]) for i in range(12)]
    spec = PipelineSpec.create(SCHEMA, "fake", {"outputs": answers}, ExtractOptions(mode="generate"))
    (tmp_path / "teacher.json").write_text(spec.to_json(), encoding="utf-8")
    base = ["distill", str(tmp_path / "docs"), "--teacher-spec", str(tmp_path / "teacher.json"), "--rounds", "5"]
    res = CliRunner().invoke(app, [*base, "-o", str(tmp_path / "m"), "--tagger", "company"])
    assert res.exit_code == 0, res.output
    assert "span tagger: company" in res.output and (tmp_path / "m" / "tagger.crfsuite").is_file()
    res = CliRunner().invoke(app, [*base, "-o", str(tmp_path / "m2"), "--tagger", "compnay"])
    assert isinstance(res.exception, UsageError) and "compnay" in str(res.exception)  # `evidex` exits 2 on it
    assert "company" in (res.exception.hint or "") and not (tmp_path / "m2").exists()  # before the teacher ran
