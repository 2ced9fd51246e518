"""Dataset adapters (on small samples of /work/shared/data; skipped when absent), schemas and JSONL gold."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from evidex.errors import FileMissingError, MalformedError, UsageError
from evidex.eval import evaluate
from evidex.eval.cli_api import load_gold, prepare_inputs, run_eval
from evidex.eval.datasets import load_dataset, load_jsonl_gold
from evidex.eval.datasets.cuad import category_field
from evidex.eval.datasets.kleister import parse_expected, unescape
from evidex.eval.datasets.schemas import SCHEMA_YAML, builtin_schema
from evidex.eval.metrics import PRF
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
# Every score below comes from predictions written by hand (as a model would give them: other spacing, case,
# date formats, partial answers) against gold values read off the raw dataset files, with the expected
# counts worked out in the comments — never from predictions copied from the loaded gold and "expect 1.0",
# which any scorer returning 1.0 on identical input would pass.
def _ext(path: str, value: str, conf: float) -> dict[str, object]:
    return {"path": path, "value": value, "confidence": conf, "grounding": "exact",
            "evidence": [{"start": 0, "end": len(value), "text": value}]}


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
    # Predictions written by hand as a model would give them (spaces, commas, any case), scored against the
    # first three lines of dev-0/expected.tsv (5 + 2 + 5 = 12 key=value tokens):
    recs = [
        {"doc_id": "x", "source": str(gs.docs[0].path), "values": {  # all 5 match
            "effective_date": "2014-05-20", "jurisdiction": "New York", "term": "3 years",
            "party": ["Liquidmetal Technology, Inc.", "Visser Precision Cast LLC"]}},
        {"doc_id": "y", "source": str(gs.docs[1].path), "values": {  # 2 match upper-cased, 1 spurious party
            "jurisdiction": "new york", "party": ["Oglethorpe Power Corporation", "Georgia Transmission Corp"]}},
        # the third document has no prediction: its 5 tokens are misses
    ]
    rep = evaluate(recs, gs)
    assert rep.primary_name == "F1(UC)"
    assert rep.overall == PRF(7, 1, 5)  # P 7/8, R 7/12
    assert rep.primary == pytest.approx(0.7)  # 2·7 / (8 + 12)
    assert rep.extra["F1"] == pytest.approx(0.6)  # true case: "new_york" ≠ "New_York" → TP 6, FP 2, FN 6
    assert rep.per_field["party"] == PRF(3, 1, 2)


def test_kleister_repeated_party_counts_twice(shared_data: Path, tmp_path: Path) -> None:
    """Mutation caught: set instead of multiset matching in ``eval/metrics.py``. Line 55 of the NDA train
    labels lists ``party=Imagine_Exhibitions_Inc.`` twice (10 tokens, 9 distinct)."""
    gs = load_dataset("kleister-nda", shared_data, "train", limit=55, cache_dir=tmp_path)
    doc = gs.docs[54]
    assert doc.fields["party"].count("Imagine_Exhibitions_Inc.") == 2 and len(doc.fields["party"]) == 9
    one = dataclasses.replace(gs, docs=(doc,))
    pred = {"jurisdiction": "Georgia", "party": [
        "RMS Titanic, Inc.", "Premier Exhibitions", "Imagine Exhibitions, Inc.", "Imagine Exhibitions, Inc.",
        "Imagine Exhibitions Pte Ltd.", "Tz, Inc.", "Kingsmen Exhibits Pte Ltd.", "Kingsmen Creative Ltd."]}
    rep = evaluate([{"doc_id": "x", "source": str(doc.path), "values": pred}], one)
    # TP 8: jurisdiction + 7 party tokens, both Imagine copies among them (a set would count 7);
    # FP 1: "Premier Exhibitions" (the label is "Premier_Exhibitions_Inc."); FN 2: that label, Thomas Zaller
    assert rep.overall == PRF(8, 1, 2)
    assert rep.primary == pytest.approx(16 / 19)  # 2·8 / (9 + 10)


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
    assert [d.id for d in a] == ["X51005441402", "X51006388082", "X51006619777", "X51006913028", "X51007846301"]
    preds = {
        "X51005441402": {"company": "THREE STOOGES", "date": "03/03/2018",  # 4 right (spacing is normalised)
                         "address": "109, SS21/1A,  DAMANSARA UTAMA", "total": "174.90"},
        "X51006388082": {"company": "Broadview Marketing Sdn Bhd", "date": "15-05-2017",  # case and date
                         "total": "4.70"},  # format are errors in SROIE; the total is right; no address
        "X51006619777": {"company": "99 SPEED MART S/B", "total": "27.30"},  # 2 right, 2 missing
        "X51006913028": {"company": "UNIHAKKA INTERNATIONAL SDN BHD", "date": "07 MAY 2018",
                         "total": "8.70"},  # gold is "$8.70": exact match only; no address
        # X51007846301: no prediction, 4 misses
    }
    recs = [{"doc_id": "h", "source": str(d.path), "values": preds[d.id]} for d in a if d.id in preds]
    rep = evaluate(recs, a)
    assert rep.per_field["company"] == PRF(3, 1, 2)
    assert rep.per_field["date"] == PRF(2, 1, 3)
    assert rep.per_field["address"] == PRF(1, 0, 4)
    assert rep.per_field["total"] == PRF(3, 1, 2)
    assert rep.overall == PRF(9, 3, 11)  # 12 predicted, 20 gold
    assert rep.primary == pytest.approx(18 / 32)  # 2·9 / (12 + 20)


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
    assert sum(len(v) for d in gs for v in d.fields.values()) == 38  # gold answers in the 10 default categories
    d0, d1, d2 = gs.docs
    assert d0.fields["parties"] == ("EuroMedia Holdings Corp.", "Rogers", "Rogers Cable Communications Inc.", "Licensor")
    assert d1.fields["agreement_date"] == ("Feb 10, 2014",)
    recs = [
        # parties: EuroMedia and "Rogers Cable …" match, "Rogers" matches as a substring (CUAD's Parties
        # rule), "Licensor" is missed → TP 3, FN 1; "July 11, 2006" = gold "July 11 , 2006" → TP 1
        {"doc_id": "a", "source": str(d0.path), "extractions": [
            _ext("parties", "EuroMedia Holdings Corp.", 0.9), _ext("parties", "Rogers Cable Communications Inc.", 0.9),
            _ext("agreement_date", "July 11, 2006", 0.9)]},
        # {february, 10, 2014} vs {feb, 10, 2014}: Jaccard exactly 0.5, which matches (≥ 0.5) → TP 1
        {"doc_id": "b", "source": str(d1.path), "extractions": [_ext("agreement_date", "February 10, 2014", 0.8)]},
        # Jaccard 0.25 with the New York clause → FP 1 (and that answer a FN)
        {"doc_id": "c", "source": str(d2.path), "extractions": [
            _ext("governing_law", "This Agreement is governed by the laws of England.", 0.5)]},
    ]
    rep = evaluate(recs, gs)
    assert rep.primary_name == "aupr"
    assert rep.overall == PRF(5, 1, 33)
    # curve: keep > 0.8 → P 1, R 4/38; > 0.5 → P 1, R 5/38; all → P 5/6, R 5/38. AUPR = 5/38 · 1
    assert rep.primary == pytest.approx(5 / 38)
    assert rep.extra["precision_at_80_recall"] == 0.0


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
    # 51 entities in the first 50 dev sentences (= B- tags: awk over emerging.dev.conll agrees), 49 unique
    # (type, text) pairs (person "trump" and "Trump" appear twice each)
    assert sum(len(d.spans) for d in gs) == 51
    text = {d.id: d.text for d in gs}
    assert text["dev-00001"][26:44] == "Redondo Beach Blvd" and text["dev-00014"][43:58] == "Hillary Clinton"

    def ent(label: str, doc: str, start: int, end: int) -> dict[str, object]:
        return {"type": label, "start": start, "end": end, "text": text[doc][start:end]}

    preds = {
        "dev-00001": [ent("location", "dev-00001", 26, 44), ent("location", "dev-00001", 78, 85),
                      ent("person", "dev-00001", 88, 95)],  # Compton is a location: wrong type
        "dev-00002": [ent("creative-work", "dev-00002", 40, 54)],  # Rick and Morty
        "dev-00005": [ent("person", "dev-00005", 0, 5)],  # trump
        "dev-00012": [ent("corporation", "dev-00012", 0, 8)],  # Warriors is a group: wrong type
        "dev-00014": [ent("person", "dev-00014", 43, 50)],  # "Hillary": overlaps "Hillary Clinton", not exact
    }
    recs = [{"doc_id": "h", "source": str(d.path), "entities": preds.get(d.id, [])} for d in gs]
    rep = evaluate(recs, gs)
    assert rep.overall == PRF(4, 3, 47)  # exact type and span: 4 of 7 predictions, 4 of 51 entities
    assert rep.primary == pytest.approx(8 / 58)
    assert rep.extra["overlap_f1"] == pytest.approx(10 / 58)  # + Hillary: TP 5, FP 2, FN 46
    assert rep.extra["surface_f1"] == pytest.approx(8 / 56)  # unique pairs: 4 of 7 predicted, of 49 gold
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
    # Predictions written by hand against groundtruth/book-booksamillion-*.txt (pages 0000-0002); the
    # page-level metric counts a page correct when its *top* predicted value is one of the gold values.
    preds = {
        "0000": {"title": "The Short Second Life of Bree Tanner - An Eclipse Novella", "author": "Stephenie Meyer",
                 "isbn_13": "9780316125581", "publisher": "Little, Brown"},  # publisher wrong, no date
        "0001": {"title": "Game Over", "author": ["Janet Dailey", "Fern Michaels"],  # top author wrong
                 "isbn_13": "9781420106879", "publisher": "Zebra", "publication_date": "June 2010"},
        "0002": {"title": "The Overton Window", "author": ["Kevin Balfe", "Glenn Beck"],  # any gold author
                 "isbn_13": "9781439184300", "publication_date": ": June 2010"},  # one digit off; no publisher
    }
    recs = [{"doc_id": "h", "source": str(d.path), "values": preds[d.id]} for d in gs]
    rep = evaluate(recs, gs)
    assert rep.primary_name == "macro_f1"
    assert rep.per_field["title"] == PRF(3, 0, 0)
    assert rep.per_field["author"] == PRF(2, 1, 1)
    assert rep.per_field["isbn_13"] == PRF(2, 1, 1)
    assert rep.per_field["publisher"] == PRF(1, 1, 2)  # P 1/2, R 1/3, F1 0.4
    assert rep.per_field["publication_date"] == PRF(2, 0, 1)  # P 1, R 2/3, F1 0.8
    assert rep.overall == PRF(10, 3, 5)
    assert rep.primary == pytest.approx(53 / 75)  # (1 + 2/3 + 2/3 + 0.4 + 0.8) / 5


def test_prepare_inputs(shared_data: Path, tmp_path: Path) -> None:
    gold, paths = prepare_inputs("sroie", data_root=shared_data, sample=3, cache_dir=tmp_path)
    assert len(paths) == 3 and all(p.is_file() for p in paths)
    assert [p.stem for p in paths] == [d.id for d in gold]


def test_load_gold_sampling_defaults(shared_data: Path, tmp_path: Path) -> None:
    assert len(load_gold("sroie", data_root=shared_data, cache_dir=tmp_path)) == 100  # adapter default
    assert len(load_gold("sroie", data_root=shared_data, sample=0, cache_dir=tmp_path)) == 626
    assert len(load_gold("swde", data_root=shared_data, sample=2, seed=3, cache_dir=tmp_path)) == 2
