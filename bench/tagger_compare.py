"""Span tagger features compared on SROIE (issue 9 §2): the CRF over hand-made token features (what `evidex train`
ships), the same CRF over MiniLM token states (all-MiniLM-L6-v2, numpy, `evidex.embed`: each token's mean
WordPiece state, randomly projected to --dims real-valued features), and both together.

Trained on SROIE train minus the dev part (`--holdout 100`, as `evidex train sroie --holdout 100`), scored on the
dev part (`evidex bench sroie --sample 100 --seed 0`) for the fields `--tagger auto` chooses (company, address):
per field, the share of gold values some tagged span equals (type-aware key or letters-and-digits key, like the
student's labels), the precision of the most probable tagged span, and the coverage of the gold values by the
built-in candidates alone and together with the tagged spans. Times: encoder + features + tagging per document,
CRF training.

    PYTHONPATH=src EVIDEX_SHARED_DATA=/work/shared/data nice .venv/bin/python bench/tagger_compare.py --out DIR
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path
from typing import Any

import numpy as np
import pycrfsuite  # type: ignore[import-untyped]

from evidex.distill.tagger import Coverage, Prepared, match, prepare
from evidex.eval.cli_api import load_gold
from evidex.extract.candidates import build_candidates
from evidex.extract.tagger import TaggedSpan, add_spans, spans_of, token_features, windows
from evidex.ground.keys import loose_key, value_keys

FIELDS = ("company", "address")


_CACHE: dict[str, np.ndarray[Any, Any]] = {}


def minilm_vectors(p: Prepared, proj: np.ndarray[Any, Any], enc: Any) -> np.ndarray[Any, Any]:
    """Per token: the mean MiniLM state of the WordPieces it overlaps, projected (cached per document)."""
    if p.id in _CACHE:
        return _CACHE[p.id]
    offs, states = enc.token_states(p.doc.text)
    starts = np.asarray([s for s, _ in offs], dtype=np.int64)
    ends = np.asarray([e for _, e in offs], dtype=np.int64)
    z = states @ proj
    out = np.zeros((len(p.toks), z.shape[1]), dtype=np.float32)
    for n, t in enumerate(p.toks):
        i = int(np.searchsorted(ends, t.start, side="right"))
        j = int(np.searchsorted(starts, t.end, side="left"))
        if j > i:
            out[n] = z[i:j].mean(axis=0)
    _CACHE[p.id] = out
    return out


def minilm_features(p: Prepared, proj: np.ndarray[Any, Any], enc: Any) -> list[dict[str, float]]:
    return [{f"m{k}": float(x) for k, x in enumerate(v)} for v in minilm_vectors(p, proj, enc).round(3)]


def features(p: Prepared, variant: str, proj: Any, enc: Any) -> list[Any]:
    hand = token_features(p.doc, p.toks) if "hand" in variant else None
    emb = minilm_features(p, proj, enc) if "minilm" in variant else None
    if hand is not None and emb is None:
        return hand
    assert emb is not None
    if hand is None:
        return [{"b": 1.0, **e} for e in emb]
    return [{**{f: 1.0 for f in h}, **e} for h, e in zip(hand, emb, strict=True)]


def run(variant: str, train: list[Prepared], dev: list[Prepared], schema: Any, proj: Any, enc: Any, out: Path,
        seed: int, iters: int) -> dict[str, Any]:
    rnd = random.Random(seed)
    t0 = time.monotonic()
    tr = pycrfsuite.Trainer(verbose=False)
    for p in train:
        labels = p.labels(FIELDS)
        feats = features(p, variant, proj, enc)
        for i, j in windows(p.toks):
            if any(lab != "O" for lab in labels[i:j]) or rnd.random() < 0.2:
                tr.append(feats[i:j], labels[i:j])
    t_feat = time.monotonic() - t0
    tr.set_params({"c1": 0.05, "c2": 0.01, "max_iterations": iters, "feature.possible_transitions": True})
    model = out / f"{variant}.crfsuite"
    tr.train(str(model))
    t_train = time.monotonic() - t0 - t_feat
    tagger = pycrfsuite.Tagger()
    tagger.open(str(model))
    fields = {f.name: f for f in schema.fields}
    res: dict[str, Any] = {f: {"gold": 0, "found": 0, "top_right": 0, "top_n": 0} for f in FIELDS}
    cov_before, cov_after = Coverage(), Coverage()
    for p in dev:  # the dev documents' encoding is timed with their tagging
        _CACHE.pop(p.id, None)
    t1 = time.monotonic()
    for p in dev:
        feats = features(p, variant, proj, enc)
        spans: list[TaggedSpan] = []
        for i, j in windows(p.toks):
            labs = tagger.tag(feats[i:j])
            probs = [tagger.marginal(lab, k) for k, lab in enumerate(labs)]
            spans += spans_of(labs, p.toks[i:j], probs)
        base = build_candidates(p.doc).items
        both = add_spans(p.doc, base, spans, {f: "string" for f in FIELDS})
        for fname in FIELDS:
            f = fields[fname]
            mine = [s for s in spans if s.field == fname]
            for g in p.golds.get(fname, ()):
                gk, gl = value_keys(f, g), loose_key(g)
                ok = [s for s in mine if value_keys(f, s.text(p.doc)) & gk or loose_key(s.text(p.doc)) == gl]
                res[fname]["gold"] += 1
                res[fname]["found"] += bool(ok)
                cov_before.add(fname, "gold")
                cov_before.add(fname, match(f, g, base))
                cov_after.add(fname, "gold")
                cov_after.add(fname, match(f, g, both))
            if mine:
                top = max(mine, key=lambda s: s.prob)
                res[fname]["top_n"] += 1
                res[fname]["top_right"] += any(value_keys(f, top.text(p.doc)) & value_keys(f, g)
                                               or loose_key(top.text(p.doc)) == loose_key(g)
                                               for g in p.golds.get(fname, ()))
    t_tag = time.monotonic() - t1
    return {"variant": variant, "per_field": res, "coverage_before": cov_before.to_dict(),
            "coverage_after": cov_after.to_dict(), "train_features_s": round(t_feat, 1),
            "crf_train_s": round(t_train, 1), "dev_s_per_doc": round(t_tag / len(dev), 4),
            "model_bytes": model.stat().st_size}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--data-root", type=Path, default=Path("/work/shared/data"))
    ap.add_argument("--variants", default="hand,minilm,hand+minilm")
    ap.add_argument("--dims", type=int, default=64)
    ap.add_argument("--iterations", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--limit", type=int, default=0, help="smoke test: only the first N train and N/5 dev receipts")
    a = ap.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    gs = load_gold("sroie", "train", data_root=a.data_root, sample=0)
    dev_gs = load_gold("sroie", "train", data_root=a.data_root, sample=100, seed=0)
    held = {d.id for d in dev_gs.docs}
    keep = [i for i, d in enumerate(gs.docs) if d.id not in held][: a.limit or None]
    paths = gs.paths()
    train = prepare([gs.docs[i] for i in keep], [paths[i] for i in keep], gs.schema, Coverage())
    n_dev = max(1, a.limit // 5) if a.limit else len(dev_gs.docs)
    dev = prepare(dev_gs.docs[:n_dev], dev_gs.paths()[:n_dev], dev_gs.schema, Coverage())
    enc, proj = None, None
    if "minilm" in a.variants:
        from evidex.embed import load_minilm

        enc = load_minilm()
        proj = np.random.default_rng(a.seed).standard_normal((enc.dim, a.dims)).astype(np.float32) / np.sqrt(a.dims)
    rows = []
    for v in a.variants.split(","):
        print(f"== {v} {time.strftime('%H:%M:%S')}", flush=True)
        r = run(v, train, dev, gs.schema, proj, enc, a.out, a.seed, a.iterations)
        print(json.dumps(r), flush=True)
        rows.append(r)
    (a.out / "tagger_compare.json").write_text(json.dumps(rows, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
