"""How much should the choice engine trust the model vs its prior? Ask the model once per document, then
score several prior weights from the same answers (and with/without calibration).

    .venv/bin/python bench/choice_weights.py sroie --sample 40 --seed 1

Use a different sample (seed) from the one you report, so the weight is not tuned on the reported numbers.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from evidex.backends import load_backend
from evidex.eval.cli_api import prepare_inputs, run_eval
from evidex.extract.candidates import build_candidates
from evidex.extract.choice import build_requests, decide
from evidex.model import Extraction, FieldType, Grounding, Result
from evidex.output.jsonl import record_to_dict
from evidex.parse import parse_file
from evidex.select import select_context
from evidex.select.views import markdown_view


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("dataset")
    ap.add_argument("--split")
    ap.add_argument("--sample", type=int)
    ap.add_argument("--limit", type=int)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--data-root", default=str(Path(__file__).resolve().parents[2] / "shared" / "data"))
    ap.add_argument("--context-tokens", type=int, default=900)
    ap.add_argument("--weights", default="0,0.3,0.5,0.7,0.85,1.0")
    ap.add_argument("--scorer", default="pmi", choices=["pmi", "choice"])
    ap.add_argument("--top-k", type=int, default=5)
    a = ap.parse_args()
    gold, paths = prepare_inputs(a.dataset, a.split, data_root=a.data_root, sample=a.sample, limit=a.limit, seed=a.seed)
    be = load_backend("llamacpp")
    fields = [f for f in gold.schema.fields if f.type not in (FieldType.RECORD, FieldType.BOOLEAN, FieldType.ENUM)]
    cached = []
    t0 = time.monotonic()
    for p in paths:
        doc = parse_file(p)
        cands = build_candidates(doc).items
        ctx = ""
        if a.context_tokens:
            ctx = select_context(doc, [f"{f.name} {f.description}" for f in fields], a.context_tokens, view=markdown_view(doc))[0].text
        plans, reqs = build_requests(fields, cands, ctx, backend=be, top_k=a.top_k, fmt=0, scorer=a.scorer)
        cached.append((p, doc, plans, be.generate(reqs) if reqs else []))
    secs = (time.monotonic() - t0) / max(1, len(paths))
    rows = []
    for calibrate in ((False,) if a.scorer == "pmi" else (True, False)):
        for w in [float(x) for x in a.weights.split(",")]:
            with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as f:
                for p, doc, plans, resps in cached:
                    exs = []
                    for ch in decide(plans, resps if plans else None, prior_weight=w, min_score=0.2, calibrate=calibrate):
                        if ch.candidate is not None:
                            exs.append(Extraction(ch.field.name, doc.text[ch.candidate.span.start : ch.candidate.span.end],
                                                  ch.candidate.text, (ch.candidate.span,), Grounding.EXACT, ch.score, "x"))
                    f.write(json.dumps(record_to_dict(doc, Result(doc.id, str(p), tuple(exs))), default=str) + "\n")
            rep = run_eval(f.name, a.dataset, a.split, data_root=a.data_root, sample=a.sample, limit=a.limit, seed=a.seed)
            rows.append((calibrate, w, rep.primary, {k: round(v.f1, 3) for k, v in rep.per_field.items()}))
    print(f"{len(paths)} docs, {secs:.2f} s/doc for the model calls")
    for calibrate, w, score, per in rows:
        print(f"calibrate={calibrate!s:5} prior_weight={w:<5} score={score:.4f} {per}")


if __name__ == "__main__":
    main()
