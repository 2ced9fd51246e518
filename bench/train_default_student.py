"""Train the generic student that ships inside evidex (``src/evidex/extract/student/default``).

    .venv/bin/python bench/train_default_student.py            # needs ../shared/data (or EVIDEX_SHARED_DATA)

One schema-conditioned model over four datasets' schemas — SROIE train minus the SROIE dev sample (the 100
receipts of ``evidex bench sroie --sample 100 --seed 0``), Kleister-NDA train (never dev-0), a SWDE book
sample minus the SWDE dev sample, and CUAD's ``parties``/``agreement_date`` — with one global "leave it empty"
threshold (see :mod:`evidex.distill.multi`). The labelled candidates are the ones ``bench/student_loo.py``
collects (shared cache in ``--cache``); the same seed and data write identical files.

``--anchor prior --empty prior`` (with ``--no-crosses --rounds 100``) trains the prior-anchored student: boosted
from a logistic fit of the prior's score, a field left empty as the prior would leave it (docs/benchmarks.md,
"Trained students"). The packaged one adds ``--extras ratio --cross-dataset all --points emitted --calibration
platt`` (a list field's other values by the 80 % rule on raw scores; the map fitted out-of-dataset: docs/benchmarks.md,
"List-field extras and out-of-dataset calibration")::

    .venv/bin/python bench/train_default_student.py --anchor prior --empty prior --no-crosses --rounds 100 \
        --extras ratio --cross-dataset all --points emitted --calibration platt
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from student_loo import LOO, XD, parts

from evidex.distill.multi import train_parts
from evidex.extract.student.model import EXTRAS
from evidex.extract.student.scorer import DEFAULT_MODEL


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data-root", default=os.environ.get("EVIDEX_SHARED_DATA", "/work/shared/data"))
    ap.add_argument("--cache", default=".bench/students", help="student_loo.py's output folder (parts cache)")
    ap.add_argument("--out", default=str(DEFAULT_MODEL))
    ap.add_argument("--kind", default="lightgbm")
    ap.add_argument("--rounds", type=int, default=200)
    ap.add_argument("--pool", type=int, default=100)
    ap.add_argument("--swde-train", type=int, default=400)
    ap.add_argument("--cuad", type=int, default=120)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--semantic", action="store_true", help="MiniLM semantic features (feature set 2); give it "
                    "a --cache of its own (parts are cached with one feature set: student_loo.py --semantic --out DIR)")
    ap.add_argument("--features", default="1", choices=("1", "3", "4"),
                    help="feature set of the parts collected (give it a --cache of its own)")
    ap.add_argument("--anchor", default="", choices=("", "prior"), help="boost from the prior (anchored student)")
    ap.add_argument("--empty", default="threshold", choices=("threshold", "prior"),
                    help="leave a field empty by the learnt threshold or by the prior's rule")
    ap.add_argument("--no-crosses", action="store_true", help="dense features only")
    ap.add_argument("--extras", default="threshold", choices=EXTRAS,
                    help="with --empty prior: how a list field takes its other values (list_extras)")
    ap.add_argument("--cross-dataset", nargs="?", const="held", default="", choices=("", "held", "all"),
                    help="calibrate on each part's documents as scored by a model trained without that part")
    ap.add_argument("--points", default="top", choices=("top", "emitted"))
    ap.add_argument("--calibration", default="isotonic", choices=("isotonic", "platt"))
    ap.add_argument("--params", default="", help="JSON: LightGBM parameters of an anchored student's trees")
    a = ap.parse_args()
    t0 = time.monotonic()
    ps = parts(Path(a.data_root), Path(a.cache), a)
    t1 = time.monotonic()
    card = train_parts([ps[n] for n in LOO["default"]], a.out, kind=a.kind, seed=a.seed, rounds=a.rounds,
                       pool_size=a.pool, crosses=not a.no_crosses, anchor=a.anchor, empty=a.empty,
                       params=json.loads(a.params) if a.params else None, cross_dataset=XD[a.cross_dataset],
                       extras=a.extras, points=a.points, calibration=a.calibration,
                       description="evidex's packaged generic student: SROIE train minus the "
                       "SROIE dev sample, Kleister-NDA train, SWDE book pages minus the SWDE dev sample, CUAD "
                       "parties/agreement_date (bench/train_default_student.py)"
                       + ("; prior-anchored" if a.anchor else "") + ("; empty by the prior's rule" if a.empty == "prior" else "")
                       + (f"; list extras by the {a.extras!r} rule" if a.extras != "threshold" else "")
                       + (f"; calibrated out-of-dataset ({a.calibration}, each part scored by a model trained "
                          "without it" + (", on the values it emits)" if a.points == "emitted" else ")")
                          if a.cross_dataset == "all" else ""))
    size = sum(f.stat().st_size for f in Path(a.out).iterdir())
    print(f"default student → {a.out}: {a.kind}, {size / 1e6:.2f} MB, threshold {card['threshold']}, ECE "
          f"(calibration part, cross-fitted) {card['metrics']['ece_10_bins']}; labelling {t1 - t0:.0f} s, "
          f"training {time.monotonic() - t1:.0f} s")


if __name__ == "__main__":
    main()
