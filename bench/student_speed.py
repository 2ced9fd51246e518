"""Student speed on 1-page receipts (issue 9 §8: ≥ 20 docs/s on 2 cores after load).

    .venv/bin/python bench/student_speed.py --student src/evidex/extract/student/default
    .venv/bin/python bench/student_speed.py --student .bench/students/default --student .bench/students-sem/default

The 100 SROIE dev receipts (``--sample 100 --seed 0``) are parsed first; then, per student, the model is loaded
(and MiniLM, for a feature-set-2 student) and the timer covers candidate proposal, features and scoring for every
receipt in one pass, in one process — so a semantic student's word-vector cache starts empty (cold) and fills as
it goes (``--passes 2``: a second, warm pass). ``--scorer prior`` is timed the same way for reference. Prints docs/s per student.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from evidex.eval.cli_api import load_gold
from evidex.extract import ExtractOptions
from evidex.extract.engine import Extractor
from evidex.parse import parse_file


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data-root", default=os.environ.get("EVIDEX_SHARED_DATA", "/work/shared/data"))
    ap.add_argument("--student", action="append", default=[])
    ap.add_argument("--passes", type=int, default=1, help="passes over the receipts (a second one is warm)")
    a = ap.parse_args()
    gold = load_gold("sroie", "train", data_root=Path(a.data_root), sample=100, seed=0)
    docs = [parse_file(p) for p in gold.paths()]
    runs = [("prior", ExtractOptions(mode="rules", scorer="prior"))]
    runs += [(s, ExtractOptions(mode="rules", scorer="student", stage_options={"scorer": {"model": s}}))
             for s in a.student]
    for name, opts in runs:
        t0 = time.monotonic()
        ex = Extractor(None, opts)
        ex.extract(docs[0], gold.schema)  # builds the scorer: loads the model (and MiniLM)
        load = time.monotonic() - t0
        for k in range(a.passes):
            t1 = time.monotonic()
            for d in docs:
                ex.extract(d, gold.schema)
            dt = time.monotonic() - t1
            print(f"{name} pass {k + 1}: load {load:.2f} s, {len(docs)} receipts in {dt:.2f} s = "
                  f"{len(docs) / dt:.1f} docs/s (load average {os.getloadavg()[0]:.1f})", flush=True)


if __name__ == "__main__":
    main()
