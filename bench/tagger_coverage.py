"""Dev coverage of the span tagger: the share of gold values (per field) no built-in candidate matches (strictly or
by letters and digits), and the same with a student directory's tagger spans (TaggerProposer). docs/benchmarks.md
"Span tagger".

    PYTHONPATH=src EVIDEX_SHARED_DATA=/work/shared/data .venv/bin/python bench/tagger_coverage.py sroie|nda MODEL_DIR
"""
import json
import sys
import time
from pathlib import Path

from evidex.distill.tagger import Coverage, coverage_of, prepare
from evidex.eval.cli_api import load_gold
from evidex.extract.candidates import build_candidates
from evidex.extract.proposers import TaggerOptions, TaggerProposer

root = Path("/work/shared/data")
ds, model = sys.argv[1], sys.argv[2]
gs = load_gold("sroie", "train", data_root=root, sample=100, seed=0) if ds == "sroie" else load_gold("kleister-nda", "dev-0", data_root=root)
prep = prepare(gs.docs, gs.paths(), gs.schema, Coverage())
prop = TaggerProposer(TaggerOptions(model=model))
t = time.time()
before = coverage_of(prep, gs.schema, lambda p: build_candidates(p.doc).items)
t1 = time.time()
after = coverage_of(prep, gs.schema, lambda p: prop.propose(p.doc))
t2 = time.time()
print(json.dumps({"dataset": ds, "docs": len(prep), "before": before.to_dict(), "after": after.to_dict(),
                  "candidates_s_per_doc": round((t1 - t) / len(prep), 4),
                  "candidates_plus_tagger_s_per_doc": round((t2 - t1) / len(prep), 4)}, indent=1))
