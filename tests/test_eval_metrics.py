"""Metric tests on cases computed by hand (the comments show the arithmetic)."""

from __future__ import annotations

import itertools
import json
from types import MappingProxyType
from typing import Any

import pytest

from evidex.errors import UsageError
from evidex.eval import metrics as M
from evidex.eval.datasets import GoldDoc, GoldSet, GoldSpan
from evidex.eval.datasets.schemas import builtin_schema
from evidex.eval.report import check_fail_under, evaluate, summarize_usage
from evidex.model.schema import Schema

approx = pytest.approx


# --------------------------------------------------------------------------- PRF conventions
def test_prf_conventions() -> None:
    assert (M.PRF().precision, M.PRF().recall, M.PRF().f1) == (1.0, 1.0, 1.0)  # nothing expected, nothing predicted
    s = M.PRF(0, 0, 3)  # nothing predicted: P vacuous 1, R 0, F1 0
    assert (s.precision, s.recall, s.f1, s.support) == (1.0, 0.0, 0.0, 3)
    s = M.PRF(0, 2, 0)
    assert (s.precision, s.recall, s.f1) == (0.0, 1.0, 0.0)
    assert M.PRF(1, 2, 3) + M.PRF(1, 0, 1) == M.PRF(2, 2, 4)


# --------------------------------------------------------------------------- field level
def test_field_prf_two_thirds() -> None:
    # gold {x, y}, predicted {x}: P = 1/1, R = 1/2, F1 = 2·1·½ / 1.5 = 2/3
    s = M.field_prf([({"a": ["x", "y"]}, {"a": ["x"]})])
    assert s.micro == M.PRF(1, 0, 1)
    assert s.micro.f1 == approx(2 / 3)


def test_field_prf_multiset_normalisation_and_per_field() -> None:
    docs = [
        # "  Hello   World " ≡ "hello world"; duplicate prediction "x" is a FP (multiset)
        ({"name": ["  Hello   World "], "tag": ["x"]}, {"name": ["hello world"], "tag": ["x", "x"]}),
        ({"name": ["Ann"], "tag": []}, {"name": ["Bob"], "other": ["ignored"]}),
    ]
    s = M.field_prf(docs, keys=["name", "tag"])
    assert s.per_key["name"] == M.PRF(1, 1, 1)
    assert s.per_key["tag"] == M.PRF(1, 1, 0)
    assert s.micro == M.PRF(2, 2, 1)  # 'other' is not scored
    assert s.micro.f1 == approx(2 * 0.5 * (2 / 3) / (0.5 + 2 / 3))
    assert s.macro_f1 == approx((0.5 + 2 / 3) / 2)
    # without keys every field counts: 'other' adds one FP
    assert M.field_prf(docs).micro == M.PRF(2, 3, 1)


def test_repeated_values_are_counted_per_occurrence() -> None:
    """Mutation caught: multiset → set matching in ``_multiset_counts`` (``matched = len(set(g) & set(p))``,
    totals still counted per value). Only a value repeated on *both* sides tells them apart: Kleister-NDA
    labels list a party twice when the contract names it twice, and a model listing each mention does too."""
    # gold A, A, B; predicted A, A, C → multiset intersection {A: 2} → TP 2, FP 1, FN 1 (a set gives TP 1)
    s = M.field_prf([({"party": ["A", "A", "B"]}, {"party": ["A", "A", "C"]})])
    assert s.micro == M.PRF(2, 1, 1)
    assert s.micro.f1 == approx(2 / 3)
    # one copy predicted of a value labelled twice: TP 1, FN 1
    assert M.field_prf([({"party": ["A", "A"]}, {"party": ["a"]})]).micro == M.PRF(1, 0, 1)
    # two copies predicted of a value labelled once: TP 1, FP 1
    assert M.field_prf([({"party": ["A"]}, {"party": ["A", "A"]})]).micro == M.PRF(1, 1, 0)
    k = M.kleister_scores([(["party=X_Inc.", "party=X_Inc.", "term=1_year"], ["party=X_INC.", "party=x_inc.", "term=2_years"])])
    assert k.micro == M.PRF(2, 1, 1)  # upper-cased: both party tokens match, the term does not
    assert k.per_key["party"] == M.PRF(2, 0, 0)
    assert M.kleister_scores([(["party=X_Inc.", "party=X_Inc."], ["party=X_Inc."])]).micro == M.PRF(1, 0, 1)
    L = M.LabeledSpan  # the same exact span predicted twice matches the one gold span once
    assert M.span_prf([([L("a", 0, 3)], [L("a", 0, 3), L("a", 0, 3)])]).micro == M.PRF(1, 1, 0)


def test_value_text_of_typed_values() -> None:
    from decimal import Decimal

    assert M.value_text({"amount": Decimal("9.00"), "currency": "MYR"}) == "9.00"
    assert M.value_text(True) == "true"
    assert M.value_text(None) == ""
    assert M.normalize_value("Ｆｕｌｌ  WIDTH") == "full width"  # NFKC + casefold + spaces


# --------------------------------------------------------------------------- Kleister
def test_kleister_token_format() -> None:
    assert M.kleister_token("party", "Nike,  Inc.: x ") == "party=Nike_Inc.__x"  # labels drop commas in names
    assert M.kleister_token("jurisdiction", "Washington, D.C.") == "jurisdiction=Washington,_D.C."
    assert M.kleister_token("jurisdiction", "New\nYork") == "jurisdiction=New_York"
    assert M.kleister_tokens({"term": ["3 years"], "party": ["A", ""]}) == ["party=A", "term=3_years"]


def test_kleister_scores_upper_and_true_case() -> None:
    exp1 = ["effective_date=2014-05-20", "jurisdiction=New_York", "party=A_Inc.", "party=B_LLC"]
    got1 = ["effective_date=2014-05-20", "jurisdiction=NEW_YORK", "party=A_Inc.", "term=3_years"]
    exp2 = ["party=X"]
    got2: list[str] = []
    uc = M.kleister_scores([(exp1, got1), (exp2, got2)])
    # upper-cased: 3 matches (date, jurisdiction, party A); 5 expected, 4 predicted
    assert uc.micro == M.PRF(3, 1, 2)
    assert (uc.micro.precision, uc.micro.recall) == (0.75, 0.6)
    assert uc.micro.f1 == approx(2 / 3)  # 2·0.75·0.6/1.35
    assert uc.per_key["party"] == M.PRF(1, 0, 2)
    assert uc.per_key["term"] == M.PRF(0, 1, 0)
    tc = M.kleister_scores([(exp1, got1), (exp2, got2)], uppercase=False)
    assert tc.micro == M.PRF(2, 2, 3)  # New_York ≠ NEW_YORK when case matters


# --------------------------------------------------------------------------- SROIE
def test_sroie_whitespace_only_normalisation() -> None:
    gold = {"company": ["BOOK TA .K SDN BHD"], "date": ["25/12/2018"], "address": [], "total": ["9.00"]}
    pred = {"company": [" BOOK  TA .K\nSDN BHD "], "date": ["25-12-2018"], "total": ["9.00"], "extra": ["x"]}
    s = M.sroie_scores([(gold, pred)])
    assert s.per_key["company"] == M.PRF(1, 0, 0)
    assert s.per_key["date"] == M.PRF(0, 1, 1)  # reformatting a date is an error
    assert s.micro == M.PRF(2, 1, 1)
    lower = M.sroie_scores([({"company": ["ABC"]}, {"company": ["abc"]})])
    assert lower.micro == M.PRF(0, 1, 1)  # case-sensitive


# --------------------------------------------------------------------------- CUAD
def test_cuad_jaccard() -> None:
    gold = "The Agreement shall be governed by the laws of Nevada."
    # gold words {the, agreement, shall, be, governed, by, laws, of, nevada} (9); pred 6 of them → 6/9
    assert M.cuad_jaccard(gold, "governed by the laws of Nevada") == approx(6 / 9)
    assert M.cuad_jaccard("and/or", "AND OR") == 1.0
    assert M.cuad_match("Rogers", "Rogers Cable Communications Inc.", substring_ok=True)
    assert not M.cuad_match("Rogers", "Rogers Cable Communications Inc.")


def test_cuad_counts_rules() -> None:
    gold = {("d1", "law"): ["a b c d"], ("d2", "law"): []}
    preds = {("d1", "law"): ["a b c d", "a b c"], ("d2", "law"): ["x"], ("d9", "law"): ["ignored"]}
    # both d1 predictions match the one answer → 1 TP, 0 FP; d2 has no answer → FP; d9 is not a question
    assert M.cuad_counts(gold, preds) == M.PRF(1, 1, 0)
    parties = {("d1", "parties"): ["Rogers"]}
    assert M.cuad_counts(parties, {("d1", "parties"): ["Rogers Cable Communications Inc."]}) == M.PRF(1, 0, 0)


CUAD_GOLD = {("d1", "law"): ["a b c d"], ("d2", "law"): ["e f g h"], ("d3", "law"): []}
CUAD_PREDS = {
    ("d1", "law"): [("a b c d", 0.9), ("z z z", 0.3)],
    ("d3", "law"): [("x y", 0.8)],
    ("d2", "law"): [("e f g h", 0.6)],
}


@pytest.mark.parametrize("thresholds", ["exact", "official"])
def test_cuad_aupr_by_hand(thresholds: str) -> None:
    # keep ≥0.9: TP1 FP0 FN1 → P 1,   R .5
    # keep ≥0.8: TP1 FP1 FN1 → P .5,  R .5
    # keep ≥0.6: TP2 FP1 FN0 → P 2/3, R 1
    # keep ≥0.3: TP2 FP2 FN0 → P .5,  R 1
    # curve from (R0, P1); monotone precisions (max to the right): 1, 1, 2/3, 2/3, .5
    # AUPR = .5·(1+1)/2 + 0 + .5·(2/3+2/3)/2 + 0 = 1/2 + 1/3 = 5/6
    s = M.cuad_scores(CUAD_GOLD, CUAD_PREDS, thresholds=thresholds)
    assert s.aupr == approx(5 / 6)
    assert s.precision_at_80_recall == approx(2 / 3)
    assert s.precision_at_90_recall == approx(2 / 3)
    assert s.at_all == M.PRF(2, 2, 0)
    if thresholds == "exact":
        assert [x for _, p, r in s.curve for x in (p, r)] == approx([1, 0.5, 0.5, 0.5, 2 / 3, 1, 0.5, 1])


def test_cuad_edge_cases() -> None:
    assert M.cuad_scores(CUAD_GOLD, {}).aupr == 0.0  # nothing predicted
    assert M.cuad_scores({("d", "law"): []}, {("d", "law"): [("x", 1.0)]}).aupr == 0.0  # no gold answers
    # a confidence of exactly 0 is never kept by the official grid (> 0), but is by "exact"
    zero = {("d1", "law"): [("a b c d", 0.0)]}
    assert M.cuad_scores({("d1", "law"): ["a b c d"]}, zero).precision_at_80_recall == 0.0
    assert M.cuad_scores({("d1", "law"): ["a b c d"]}, zero, thresholds="exact").aupr == 1.0


def test_cuad_official_thresholds_match_numpy_arange() -> None:
    ts = M.cuad_official_thresholds()
    assert len(ts) == 101 and ts[0] == 0.99 and ts[-2:] == [0.001, 0.0]
    assert all(a > b for a, b in itertools.pairwise(ts))
    np = pytest.importorskip("numpy")
    assert ts[:99] == [float(x) for x in np.arange(0.99, 0, -0.01)]


# --------------------------------------------------------------------------- entities and spans
def test_bio_to_spans_conlleval_rules() -> None:
    tags = ["B-person", "I-person", "O", "I-location", "B-group", "B-group", "I-corporation"]
    L = M.LabeledSpan
    assert M.bio_to_spans(tags) == [L("person", 0, 2), L("location", 3, 4), L("group", 4, 5), L("group", 5, 6),
                                     L("corporation", 6, 7)]
    assert M.bio_to_spans([]) == []


def test_entity_and_overlap_prf() -> None:
    L = M.LabeledSpan
    gold = [L("person", 0, 5), L("location", 10, 15)]
    pred = [L("person", 0, 5), L("location", 10, 14), L("group", 20, 25)]
    ex = M.entity_prf([(gold, pred)])
    assert ex.micro == M.PRF(1, 2, 1)  # P 1/3, R 1/2, F1 0.4
    assert ex.micro.f1 == approx(0.4)
    ov = M.span_prf([(gold, pred)], mode="overlap")
    assert ov.micro == M.PRF(2, 1, 0)
    assert ov.micro.f1 == approx(0.8)
    # one gold span cannot be matched twice
    assert M.span_prf([([L("a", 0, 10)], [L("a", 0, 5), L("a", 5, 10)])], mode="overlap").micro == M.PRF(1, 1, 0)
    # maximum matching: greedy p1→g1 would leave p2 unmatched; the optimum pairs p1→g2, p2→g1
    g = [L("a", 0, 10), L("a", 8, 12)]
    p = [L("a", 5, 9), L("a", 0, 3)]
    assert M.span_prf([(g, p)], mode="overlap").micro == M.PRF(2, 0, 0)
    with pytest.raises(ValueError):
        M.span_prf([], mode="fuzzy")


def test_touching_spans_do_not_overlap() -> None:
    """Half-open spans: [0, 5) and [5, 9) share no character (mutation caught: ``<=`` in the overlap test)."""
    L = M.LabeledSpan
    assert M.span_prf([([L("a", 0, 5)], [L("a", 5, 9)])], mode="overlap").micro == M.PRF(0, 1, 1)
    assert M.span_prf([([L("a", 5, 9)], [L("a", 0, 5)])], mode="overlap").micro == M.PRF(0, 1, 1)
    assert M.span_prf([([L("a", 0, 5)], [L("a", 4, 9)])], mode="overlap").micro == M.PRF(1, 0, 0)  # one shared


def test_surface_form_f1_uses_corpus_sets() -> None:
    gold = [[("person", "Bob"), ("location", "Paris")], [("person", "Bob")]]
    pred = [[("person", "Bob")], [("person", "Alice"), ("person", "Bob")]]
    s = M.surface_prf(zip(gold, pred, strict=True))
    assert s.micro == M.PRF(1, 1, 1)  # unique gold {Bob, Paris}, unique pred {Bob, Alice}
    assert s.per_key["location"] == M.PRF(0, 0, 1)


# --------------------------------------------------------------------------- SWDE
def test_swde_page_level() -> None:
    rows = [
        ("title", ["A"], ["A"]),  # correct
        ("title", ["B"], ["C"]),  # predicted, wrong
        ("title", [], ["D"]),  # predicted, no gold
        ("title", ["E"], []),  # missed
        ("author", ["X", "Y"], ["Y", "Z"]),  # the first prediction is one of the gold values
        ("publication_date", [": June 2010"], ["June  2010"]),  # SWDE's ": " prefix is stripped
    ]
    s = M.swde_scores(rows)
    assert s.per_key["title"] == M.PRF(1, 2, 2)  # P = R = F1 = 1/3
    assert s.per_key["author"] == M.PRF(1, 0, 0)
    assert s.per_key["publication_date"] == M.PRF(1, 0, 0)
    assert s.macro_f1 == approx((1 / 3 + 1 + 1) / 3)
    assert M.swde_scores([("author", ["X"], ["Z", "X"])]).micro == M.PRF(0, 1, 1)  # only the top value counts


# --------------------------------------------------------------------------- ANLS
def test_anls_by_hand() -> None:
    assert M.levenshtein("kitten", "sitting") == 3
    assert M.levenshtein("", "abc") == 3
    assert M.anls_score("sitting", ["kitten"]) == approx(1 - 3 / 7)  # NL = 3/7 < 0.5
    assert M.anls_score("abc", ["xyz"]) == 0.0
    assert M.anls_score("ab", ["ac"]) == 0.0  # NL = 0.5 is not < τ
    assert M.anls_score(" Hello  World", ["hello world"]) == 1.0
    assert M.anls_score("abcd", ["zzzz", "abcx"]) == approx(0.75)  # best gold answer
    assert M.anls_score("", []) == 1.0 and M.anls_score("x", []) == 0.0
    assert M.anls([("sitting", ["kitten"]), ("abc", ["abc"])]) == approx((4 / 7 + 1) / 2)
    assert M.anls([]) == 0.0


# --------------------------------------------------------------------------- grounding
def test_grounding_rate() -> None:
    exts: list[dict[str, Any]] = [
        {"grounding": "exact", "evidence": [{"start": 0, "end": 3, "text": "abc"}]},  # yes
        {"grounding": "normalized", "evidence": [{"start": 0, "end": 0, "text": " "}]},  # blank quote
        {"grounding": "fuzzy", "evidence": [{"start": 4, "end": 9}]},  # yes (no text, non-empty span)
        {"grounding": "inferred", "evidence": [{"start": 0, "end": 3, "text": "abc"}]},  # not a grounded status
        {"grounding": "ungrounded", "evidence": []},
        {"grounding": "exact", "evidence": []},  # no evidence
    ]
    g = M.grounding_rate(exts)
    assert (g.grounded, g.total) == (2, 6)
    assert g.rate == approx(1 / 3)
    assert M.grounding_rate([]).rate == 1.0


# --------------------------------------------------------------------------- report
def _gold(metric: str = "field", **kw: object) -> GoldSet:
    docs = (
        GoldDoc("a", None, "text a", MappingProxyType({"name": ("Ann Lee",), "city": ("Paris",)})),
        GoldDoc("b", None, "text b", MappingProxyType({"name": ("Bob",), "city": ()})),
        GoldDoc("c", None, "text c", MappingProxyType({"name": ("Cy",), "city": ("Rome",)})),
    )
    schema = Schema.from_dict({"name": "t", "fields": {"name": "string", "city": "string"}})
    return GoldSet("toy", "test", metric, schema, docs, **kw)  # type: ignore[arg-type]


def _ext(path: str, value: str, conf: float, grounding: str = "exact", text: str | None = None) -> dict[str, Any]:
    return {"path": path, "value": value, "grounding": grounding, "confidence": conf,
            "evidence": [{"start": 0, "end": len(value), "text": value if text is None else text}]}


RECORDS: list[dict[str, Any]] = [
    {"doc_id": "h1", "source": "/data/a.txt",  # matched by file stem
     "values": {"name": "ann  lee", "city": "Lyon"},
     "extractions": [_ext("name", "ann  lee", 0.9), _ext("city", "Lyon", 0.8, "fuzzy", "Lyons"),
                     _ext("city", "Nice", 0.7, "ungrounded", "")],
     "usage": {"calls": 2, "tokens_in": 100, "tokens_out": 20, "seconds": 1.0}},
    {"doc_id": "b", "source": "x", "values": {"name": ["Bob"], "city": ["Oslo"]},
     "extractions": [_ext("name", "Bob", 0.99), _ext("city", "Oslo", 0.95)],
     "usage": {"calls": 1, "tokens_in": 50, "tokens_out": 10, "seconds": 3.0}},
    {"doc_id": "zz", "source": "/elsewhere/unknown.txt", "values": {"name": "Q"}},
]


def test_evaluate_field_report() -> None:
    r = evaluate(RECORDS, _gold())
    # a: name ✓, city Lyon≠Paris; b: name ✓, city Oslo spurious; c: no record → 2 misses
    assert r.per_field["name"] == M.PRF(2, 0, 1)
    assert r.per_field["city"] == M.PRF(0, 2, 2)
    assert r.overall == M.PRF(2, 2, 3)
    assert r.primary_name == "f1" and r.primary == approx(r.overall.f1)
    assert (r.n_gold, r.n_predicted, r.n_unmatched, r.n_failed) == (3, 2, 1, 0)
    assert (r.grounding.grounded, r.grounding.total) == (4, 5)
    assert r.usage is not None and (r.usage.calls, r.usage.tokens_in, r.usage.seconds_total) == (3, 150, 4.0)
    kinds = [(e.doc_id, e.field, e.kind) for e in r.worst_errors(10)]
    # confidently wrong first: Oslo (0.95) before Lyon (0.8), then misses
    assert kinds == [("b", "city", "spurious"), ("a", "city", "wrong"), ("c", "city", "missed"), ("c", "name", "missed")]
    wrong = r.worst_errors(2)[1]
    assert (wrong.gold, wrong.predicted, wrong.evidence) == ("Paris", "Lyon", "Lyons")
    assert r.worst_errors(10)[2].evidence == "(no prediction record)"
    d = json.loads(r.to_json())
    assert d["per_field"]["name"]["support"] == 3 and d["documents"]["missing"] == 1
    from rich.console import Console

    console = Console(record=True, width=200, color_system=None)
    console.print(r.to_rich())
    shown = [" ".join(line.replace("│", " ").replace("┃", " ").split()) for line in console.export_text().splitlines()]
    # name PRF(2, 0, 1): P 1, R 2/3, F1 0.8; city PRF(0, 2, 2); overall PRF(2, 2, 3): P .5, R .4, F1 4/9
    assert "name 1.000 0.667 0.800 3 2" in shown, shown
    assert "city 0.000 0.000 0.000 2 2" in shown, shown
    assert "overall (micro) 0.500 0.400 0.444 5 4" in shown, shown
    assert "f1 = 0.4444" in shown and "grounding rate = 0.800 (4/5)" in shown
    assert "documents: 3 gold, 2 predicted, 1 missing, 0 failed, 1 unmatched predictions" in shown
    assert any(line.startswith("usage: 3 calls, 150 tokens in, 30 out") for line in shown), shown
    assert "worst 10 errors" in shown and any(line.startswith("b city spurious") for line in shown), shown
    # only_predicted drops document c; include_ungrounded adds the ungrounded 'Nice' (from extractions)
    assert evaluate(RECORDS, _gold(), only_predicted=True).overall == M.PRF(2, 2, 1)
    assert evaluate(RECORDS, _gold(), include_ungrounded=True).per_field["city"] == M.PRF(0, 3, 2)


def test_evaluate_error_records_and_metric_choice() -> None:
    recs = [{"doc_id": "a", "source": "a", "values": {}, "error": {"code": "EVX-D014"}}]
    r = evaluate(recs, _gold())
    assert r.n_failed == 1 and r.overall.tp == 0
    assert any(e.evidence == "(error: EVX-D014)" for e in r.errors)
    anls_r = evaluate(RECORDS, _gold(), metric="anls")
    assert anls_r.primary_name == "anls" and 0 < anls_r.primary < 1
    with pytest.raises(UsageError):
        evaluate(RECORDS, _gold(), metric="bleu")


def test_fail_under() -> None:
    r = evaluate(RECORDS, _gold())
    assert check_fail_under(r, 0.5).passed is (r.primary >= 0.5)
    assert not check_fail_under(r, 0.99).passed
    assert check_fail_under(r, 0.5, "grounding").value == approx(0.8)
    assert check_fail_under(r, 0.0, "field:name").value == approx(0.8)
    assert "FAILED" in check_fail_under(r, 0.99).message
    with pytest.raises(UsageError):
        check_fail_under(r, 85)
    with pytest.raises(UsageError):
        check_fail_under(r, 0.5, "nonsense")


def test_evaluate_kleister_and_spans() -> None:
    meta = MappingProxyType({"expected": "jurisdiction=New_York party=A_Inc.", "keys": ("jurisdiction", "party", "term")})
    doc = GoldDoc("k1", None, "t", MappingProxyType({"jurisdiction": ("New_York",), "party": ("A_Inc.",)}), meta=meta)
    gs = GoldSet("kleister-nda", "dev-0", "kleister", builtin_schema("kleister-nda"), (doc,))
    recs = [{"doc_id": "k1", "source": "k1.txt", "values": {"jurisdiction": "new york", "party": ["A Inc.", "B"],
                                                              "notes": "not a Kleister key"}}]
    r = evaluate(recs, gs)
    assert r.overall == M.PRF(2, 1, 0)  # upper-cased match; 'notes' is not asked for
    assert r.extra["F1"] == approx(0.4)  # true-cased: only the party matches → P 1/3, R 1/2, F1 = (1/3)/(5/6)
    spans = (GoldSpan("person", 0, 3, "Bob"), GoldSpan("location", 8, 13, "Paris"))
    sd = GoldDoc("s1", None, "Bob and Paris", spans=spans)
    ss = GoldSet("wnut17", "dev", "wnut17", builtin_schema("wnut17"), (sd,))
    ents = [{"type": "person", "start": 0, "end": 3, "text": "Bob"}, {"type": "location", "start": 8, "end": 12, "text": "Pari"}]
    r2 = evaluate([{"doc_id": "s1", "source": "", "entities": ents}], ss)
    assert r2.overall == M.PRF(1, 1, 1) and r2.extra["overlap_f1"] == 1.0 and r2.extra["surface_f1"] == approx(0.5)
    assert [e.kind for e in r2.errors] == ["wrong"]


def test_summarize_usage_percentiles() -> None:
    u = summarize_usage([{"seconds": s} for s in (5.0, 1.0, 3.0, 2.0, 4.0)])
    assert u is not None and (u.seconds_p50, u.seconds_p95, u.seconds_mean) == (3.0, 5.0, 3.0)
    assert summarize_usage([]) is None


def test_entity_label_read_alike_by_span_metric_outcomes_and_errors() -> None:
    """An entity labelled with ``label`` (not ``type``) is the same entity for the span errors as for span F1
    and the calibration outcomes: matched, so no error is listed."""
    from evidex.eval.datasets.base import GoldDoc, GoldSpan
    from evidex.eval.predictions import PredDoc
    from evidex.eval.report_cases import span_errors, span_outcomes

    gold = GoldDoc("d", text="Alice met Bob", spans=(GoldSpan("person", 0, 5, "Alice"), GoldSpan("person", 10, 13, "Bob")))
    ents = ({"label": "person", "start": 0, "end": 5, "text": "Alice", "confidence": 0.9},
            {"type": "person", "start": 10, "end": 13, "text": "Bob", "confidence": 0.8})
    pred = PredDoc("d", "d", {}, entities=ents)
    assert span_errors([(gold, pred)]) == []
    assert [o.correct for o in span_outcomes([(gold, pred)])] == [True, True]
