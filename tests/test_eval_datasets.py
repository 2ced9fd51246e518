"""Dataset adapters (on small samples of /work/shared/data; skipped when absent), schemas and JSONL gold."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evidex.errors import FileMissingError, MalformedError, UsageError
from evidex.eval import evaluate
from evidex.eval.cli_api import load_gold, prepare_inputs, run_eval
from evidex.eval.datasets import GoldSet, load_dataset, load_jsonl_gold
from evidex.eval.datasets.cuad import category_field
from evidex.eval.datasets.kleister import parse_expected, unescape
from evidex.eval.datasets.schemas import SCHEMA_YAML, builtin_schema
from evidex.model.schema import Schema


# --------------------------------------------------------------------------- schemas
@pytest.mark.parametrize("name", sorted(SCHEMA_YAML))
def test_example_schema_loads_and_matches_builtin(name: str, examples_dir: Path) -> None:
    path = examples_dir / "schemas" / f"{name}.yaml"
    schema = Schema.from_yaml(path.read_text(encoding="utf-8"), name=name)
    assert schema.name == name
    assert schema.fields or schema.entities
    assert schema.to_dict() == builtin_schema(name).to_dict(), "examples/schemas and eval/datasets/schemas.py differ"


def test_schema_shapes() -> None:
    assert builtin_schema("kleister-nda").field("party").many
    assert builtin_schema("kleister-nda").field("effective_date").type.value == "date"
    assert [e.name for e in builtin_schema("wnut17").entities] == [
        "person", "location", "corporation", "product", "creative-work", "group"]
    cuad = builtin_schema("cuad")
    assert len(cuad.fields) >= 5 and all(f.many for f in cuad.fields)
    assert {f.name for f in builtin_schema("swde-book").fields} == {"title", "author", "isbn_13", "publisher", "publication_date"}


# --------------------------------------------------------------------------- pure helpers
def test_kleister_unescape_and_expected() -> None:
    assert unescape(r"a\nb\fc\td\\ne\q") == "a\nb\fc\td\\ne\\q"
    assert parse_expected("jurisdiction=New_York party=A party=B_C term=") == {
        "jurisdiction": ["New_York"], "party": ["A", "B_C"]}


def test_cuad_category_field() -> None:
    assert category_field("Non-Compete") == "non_compete"
    assert category_field("Rofr/Rofo/Rofn") == "rofr_rofo_rofn"
    assert category_field("Notice Period To Terminate Renewal") == "notice_period_to_terminate_renewal"


# --------------------------------------------------------------------------- JSONL gold
def test_jsonl_gold_roundtrip(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "inv1.txt").write_text("Invoice total 12.50", encoding="utf-8")
    gold = tmp_path / "gold.jsonl"
    lines = [
        {"id": "inv1", "path": "docs/inv1.txt", "fields": {"total": "12.50", "items": ["a", "b"], "po": None}},
        {"id": "note", "text": "Call Ann Lee.", "fields": {"total": []}, "spans": [{"label": "PERSON", "start": 5, "end": 12}]},
    ]
    gold.write_text("# comment\n" + "\n".join(json.dumps(x) for x in lines) + "\n\n", encoding="utf-8")
    gs = load_jsonl_gold(gold)
    assert [d.id for d in gs] == ["inv1", "note"]
    assert gs.docs[0].path == tmp_path / "docs" / "inv1.txt"
    assert gs.docs[0].fields == {"total": ("12.50",), "items": ("a", "b"), "po": ()}
    assert gs.docs[1].spans[0].text == "Ann Lee"
    assert gs.schema.field("items").many and not gs.schema.field("total").many
    assert [e.name for e in gs.schema.entities] == ["PERSON"]
    paths = gs.paths(tmp_path / "cache")
    assert paths[1].read_text(encoding="utf-8") == "Call Ann Lee."
    preds = tmp_path / "pred.jsonl"
    recs = [{"doc_id": "x", "source": str(paths[0]), "values": {"total": "12.50", "items": ["a"]}},
            {"doc_id": "note", "source": str(paths[1]), "values": {},
             "entities": [{"type": "PERSON", "start": 5, "end": 12, "text": "Ann Lee"}]}]
    preds.write_text("\n".join(json.dumps(r) for r in recs), encoding="utf-8")
    rep = run_eval(preds, str(gold))
    assert (rep.overall.tp, rep.overall.fp, rep.overall.fn) == (2, 0, 1)
    assert rep.extra["span_f1"] == 1.0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "invalid JSON"),
        ('{"path": "x"}', "missing 'id'"),
        ('{"id": "a"}', "needs 'path' or 'text'"),
        ('{"id": "a", "text": "abc", "spans": [{"label": "X", "start": 2, "end": 9}]}', "out of range"),
        ('{"id": "a", "text": "t"}\n{"id": "a", "text": "u"}', "duplicate id"),
        ("", "no gold documents"),
    ],
)
def test_jsonl_gold_errors(tmp_path: Path, content: str, message: str) -> None:
    p = tmp_path / "g.jsonl"
    p.write_text(content, encoding="utf-8")
    with pytest.raises(MalformedError, match=message):
        load_jsonl_gold(p)


def test_unknown_dataset_and_missing_root(tmp_path: Path) -> None:
    with pytest.raises(UsageError):
        load_dataset("imagenet", tmp_path)
    with pytest.raises(FileMissingError):
        load_dataset("kleister-nda", tmp_path)
    with pytest.raises(UsageError):
        load_gold("wnut17", data_root=tmp_path, sample=3)


# --------------------------------------------------------------------------- real datasets (skipped when absent)
def _perfect(gs: GoldSet, value_map: dict[str, str] | None = None) -> list[dict[str, object]]:
    recs: list[dict[str, object]] = []
    for d in gs:
        vals = {k: [v.replace("_", " ") if value_map else v for v in vs] for k, vs in d.fields.items() if vs}
        ents = [{"type": s.label, "start": s.start, "end": s.end, "text": s.text} for s in d.spans]
        recs.append({"doc_id": "content-hash", "source": str(d.path), "values": vals, "entities": ents})
    return recs


def test_kleister_nda(shared_data: Path, tmp_path: Path) -> None:
    gs = load_dataset("kleister-nda", shared_data, "dev-0", limit=3, cache_dir=tmp_path)
    assert gs.metric == "kleister" and len(gs) == 3
    d = gs.docs[0]
    assert d.id == "073f3b9eb0c7088be4ef688f4edfdb6d"
    assert d.fields["party"] == ("Liquidmetal_Technology_Inc.", "Visser_Precision_Cast_LLC")
    assert d.fields["term"] == ("3_years",)
    assert d.path is not None and d.path.parent.is_relative_to(tmp_path)
    text = d.path.read_text(encoding="utf-8")
    assert "\\n" not in text and "\n" in text and "May 20, 2014" in text
    assert gs.docs[1].fields["effective_date"] == ()  # a decoy key: asked for, no value
    assert len(load_dataset("kleister-nda", shared_data, "dev-0", cache_dir=tmp_path)) == 83
    rep = evaluate(_perfect(gs, {"_": " "}), gs)  # values with spaces, as a model would give them
    assert rep.primary_name == "F1(UC)" and rep.primary == 1.0


def test_sroie(shared_data: Path, tmp_path: Path) -> None:
    a = load_dataset("sroie", shared_data, sample=5, seed=0, cache_dir=tmp_path)
    b = load_dataset("sroie", shared_data, sample=5, seed=0, cache_dir=tmp_path)
    assert [d.id for d in a] == [d.id for d in b] and len(a) == 5
    assert [d.id for d in a] != [d.id for d in load_dataset("sroie", shared_data, sample=5, seed=1, cache_dir=tmp_path)]
    for d in a:
        assert d.path is not None
        lines = d.path.read_text(encoding="utf-8").split("\n")
        assert len(lines) == len(d.meta["boxes"])
        assert set(d.fields) == {"company", "date", "address", "total"}
    full = load_dataset("sroie", shared_data, sample=None, cache_dir=tmp_path)
    assert len(full) == 626
    assert sum(len(v) for d in full for v in d.fields.values()) == 626 * 4 - 2  # one empty total, one missing address
    rep = evaluate(_perfect(a), a)
    assert rep.primary == 1.0


def test_cuad(shared_data: Path) -> None:
    gs = load_dataset("cuad", shared_data, limit=3)
    assert len(gs) == 3 and gs.metric == "cuad"
    assert set(gs.docs[0].fields) == {f.name for f in gs.schema.fields}
    for d in gs:
        assert d.path is not None and d.path.is_relative_to(shared_data)  # read in place, never copied
        text = d.path.read_text(encoding="utf-8")
        assert all(text[s.start : s.end] == s.text for s in d.spans)
        assert all("<omitted>" not in v for vs in d.fields.values() for v in vs)
    allcats = load_dataset("cuad", shared_data, limit=1, categories="all")
    assert len(allcats.schema.fields) == 41
    with pytest.raises(UsageError):
        load_dataset("cuad", shared_data, limit=1, categories=("not_a_category",))
    rep = evaluate(_perfect(gs), gs)
    assert rep.primary_name == "aupr" and rep.primary == 1.0


def test_cuad_odd_filename_row(shared_data: Path) -> None:
    # master_clauses.csv names one contract "...AGREEMENT.PDF'" (upper case, stray quote)
    gs = load_dataset("cuad", shared_data)
    assert len(gs) == 357
    assert any(d.id.startswith("KALLOINC_11_03_2011") for d in gs)


def test_wnut17(shared_data: Path, tmp_path: Path) -> None:
    gs = load_dataset("wnut17", shared_data, "dev", limit=50, cache_dir=tmp_path)
    assert len(gs) == 50
    for d in gs:
        assert d.path is not None and d.text is not None
        assert d.path.read_text(encoding="utf-8") == d.text
        assert all(d.text[s.start : s.end] == s.text for s in d.spans)
    assert any(s.label == "location" and s.text == "Empire State Building"
               for s in load_dataset("wnut17", shared_data, "train", limit=1, cache_dir=tmp_path).docs[0].spans)
    dev = load_dataset("wnut17", shared_data, "dev", cache_dir=tmp_path)
    assert len(dev) == 1009 and sum(len(d.spans) for d in dev) == 836  # = number of B- tags
    rep = evaluate(_perfect(gs), gs)
    assert rep.extra["f1"] == 1.0 and rep.extra["surface_f1"] == 1.0
    with pytest.raises(UsageError):
        load_dataset("wnut17", shared_data, "validation")


def test_swde(shared_data: Path, tmp_path: Path) -> None:
    gs = load_dataset("swde", shared_data, limit=3, cache_dir=tmp_path)
    assert [d.id for d in gs] == ["0000", "0001", "0002"]
    assert gs.docs[2].fields["author"] == ("Glenn Beck", "Kevin Balfe", "Emily Bestler", "Jack Henderson")
    assert gs.docs[0].fields["isbn_13"] == (": 9780316125581",)  # raw ground truth keeps the ": " prefix
    for d in gs:
        assert d.path is not None  # pages are copied byte for byte: a UTF-8 BOM, then the crawler's <base> tag
        assert d.path.read_bytes().startswith(b"\xef\xbb\xbf<base href=")
    recs = [{"doc_id": "h", "source": str(d.path),
             "values": {k: [v.lstrip(": ") for v in vs] for k, vs in d.fields.items() if vs}} for d in gs]
    rep = evaluate(recs, gs)
    assert rep.primary_name == "macro_f1" and rep.primary == 1.0 and not rep.errors


def test_prepare_inputs(shared_data: Path, tmp_path: Path) -> None:
    gold, paths = prepare_inputs("sroie", data_root=shared_data, sample=3, cache_dir=tmp_path)
    assert len(paths) == 3 and all(p.is_file() for p in paths)
    assert [p.stem for p in paths] == [d.id for d in gold]


def test_load_gold_sampling_defaults(shared_data: Path, tmp_path: Path) -> None:
    assert len(load_gold("sroie", data_root=shared_data, cache_dir=tmp_path)) == 100  # adapter default
    assert len(load_gold("sroie", data_root=shared_data, sample=0, cache_dir=tmp_path)) == 626
    assert len(load_gold("swde", data_root=shared_data, sample=2, seed=3, cache_dir=tmp_path)) == 2
