"""Leave-one-dataset-out students and the generic default student (issue #9 §2).

    .venv/bin/python bench/student_loo.py --out .bench/students            # collect, train, score (all steps)
    .venv/bin/python bench/student_loo.py --out .bench/students --steps score   # re-score trained students

Training parts (labelled candidates, collected once and cached in OUT/parts/*.pkl — our own data, this
script's cache only):

* ``sroie``  — SROIE train minus the 100 receipts of ``evidex bench sroie --sample 100 --seed 0`` (SROIE dev)
* ``nda``    — Kleister-NDA train (dev-0 is never read for training)
* ``swde``   — SWDE book pages: a seeded sample of ``--swde-train`` pages (seed 1) minus the 100 pages of
  ``evidex bench swde --sample 100 --seed 0`` (SWDE dev)
* ``cuad``   — CUAD contracts, a seeded sample, only the categories whose values are short spans
  (``parties``, ``agreement_date``; the clause categories are whole clauses no candidate spans)

Students (``train_parts``: one global "empty" threshold, no per-field thresholds):

* ``loo-sroie`` = nda + swde + cuad → scored on SROIE dev;   ``loo-nda`` = sroie + swde + cuad → Kleister dev-0;
  ``loo-swde`` = sroie + nda + cuad → SWDE dev
* ``default`` = sroie + nda + swde + cuad (what ships in ``evidex/extract/student/default``)
* ``in-sroie``, ``in-nda``, ``in-swde``: the same procedure on the target dataset's own training part only

``--anchor prior`` trains prior-anchored students (boosted from a logistic fit of the prior's score; see
:mod:`evidex.distill.multi`), ``--empty prior`` leaves a field empty by the prior's rule instead of the learnt
threshold (``--extras prior_count``: a list field takes as many other values as the prior would, in the student's
order), ``--cross-dataset all --points emitted`` calibrates on every training document as scored by a model trained
without its dataset, on the values the student would emit (see :mod:`evidex.distill.multi`), ``--params JSON``
overrides the anchored trees' LightGBM parameters; give such runs their own ``--out`` (students are written there)
and ``--parts DIR`` to reuse a labelled-parts cache (``DIR/parts``).

``--semantic`` collects the parts with MiniLM cosines between each field's name/description and the
candidate's label and context (feature set 2, :mod:`evidex.extract.student.semantic`); the parts cache of an
``--out`` holds one feature set, so give semantic runs their own ``--out``.

Scoring: ``evidex bench DATASET --backend none`` (rules mode: no LLM) with ``--scorer prior`` and with
``--student DIR`` for each student, official metric; plus the ECE and top-1 accuracy of each student's
calibrated confidence on each dev set's labelled candidates (``evaluate_parts``). Results: OUT/results.json.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import pickle
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from evidex.distill.multi import Part, collect, evaluate_parts, train_parts
from evidex.eval.cli_api import load_gold
from evidex.eval.datasets import builtin_schema
from evidex.extract.student.context import using_context
from evidex.extract.student.model import EXTRAS, load_student
from evidex.extract.student.relations import using_relations

CUAD_FIELDS = ("parties", "agreement_date")
LOO = {"loo-sroie": ("nda", "swde", "cuad"), "loo-nda": ("sroie", "swde", "cuad"), "loo-swde": ("sroie", "nda", "cuad"),
       "default": ("sroie", "nda", "swde", "cuad"), "in-sroie": ("sroie",), "in-nda": ("nda",), "in-swde": ("swde",)}
DEV = {"sroie": ("sroie", ["--sample", "100", "--seed", "0"]), "nda": ("kleister-nda", ["--split", "dev-0"]),
       "swde": ("swde", ["--sample", "100", "--seed", "0"])}
XD: dict[str, bool | str] = {"": False, "held": True, "all": "all"}
TARGET = {"loo-sroie": "sroie", "loo-nda": "nda", "loo-swde": "swde", "in-sroie": "sroie", "in-nda": "nda",
          "in-swde": "swde"}


def gold_sets(root: Path, a: argparse.Namespace) -> dict[str, tuple[Any, list[str]]]:
    """name → (gold set, ids never to train on) for the training parts and the ``dev:*`` parts."""
    sroie_dev = load_gold("sroie", "train", data_root=root, sample=100, seed=0)
    swde_dev = load_gold("swde", None, data_root=root, sample=100, seed=0)
    cuad = load_gold("cuad", None, data_root=root, sample=a.cuad, seed=0, options={"categories": CUAD_FIELDS})
    schema = builtin_schema("cuad")
    sub = dataclasses.replace(schema, fields=tuple(f for f in schema.fields if f.name in CUAD_FIELDS))
    return {
        "sroie": (load_gold("sroie", "train", data_root=root, sample=0), [d.id for d in sroie_dev.docs]),
        "nda": (load_gold("kleister-nda", "train", data_root=root), []),
        "swde": (load_gold("swde", None, data_root=root, sample=a.swde_train, seed=1), [d.id for d in swde_dev.docs]),
        "cuad": (dataclasses.replace(cuad, schema=sub), []),
        "dev:sroie": (sroie_dev, []),
        "dev:nda": (load_gold("kleister-nda", "dev-0", data_root=root), []),
        "dev:swde": (swde_dev, []),
    }


def parts(root: Path, out: Path, a: argparse.Namespace) -> dict[str, Part]:
    cache = Path(a.parts) / "parts" if getattr(a, "parts", "") else out / "parts"
    cache.mkdir(parents=True, exist_ok=True)
    got: dict[str, Part] = {}
    todo = None
    encoder = None
    if getattr(a, "semantic", False):
        from evidex.embed import load_minilm

        encoder = load_minilm()
    for name in ("sroie", "nda", "swde", "cuad", "dev:sroie", "dev:nda", "dev:swde"):
        f = cache / f"{name.replace(':', '-')}.pkl"
        if f.is_file():
            got[name] = pickle.loads(f.read_bytes())
            continue
        if todo is None:
            todo = gold_sets(root, a)
        gs, exclude = todo[name]
        t0 = time.monotonic()
        features = getattr(a, "features", "1")
        with using_relations(features == "3"), using_context(features == "4"):
            p = collect(gs, name=name, exclude=exclude, pool_size=a.pool, encoder=encoder)
        st = p.stats
        print(f"[collect] {name}: {st.docs} docs, {len(p.groups)} groups, gold {st.gold_values}, matched "
              f"{st.matched}, failed {len(st.failed_docs)} ({time.monotonic() - t0:.0f} s)", flush=True)
        f.write_bytes(pickle.dumps(p))
        got[name] = p
    return got


def bench(dataset: str, args: list[str], extra: list[str], out: Path, tag: str) -> dict[str, Any]:
    js = out / "bench" / f"{dataset}-{tag}.json"
    js.parent.mkdir(parents=True, exist_ok=True)
    cmd = [str(Path(sys.executable).parent / "evidex"), "bench", dataset, *args, "--backend", "none", *extra,
           "--json", str(js), "-o", str(js.with_suffix(".jsonl"))]
    t0 = time.monotonic()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    rep = json.loads(js.read_text())["runs"][0]["report"]
    cal = rep.get("calibration") or {}
    return {"f1": round(rep["primary"]["value"], 4), "wall_s": round(time.monotonic() - t0, 1),
            "value_ece": cal.get("ece"), "values": cal.get("values"),
            "per_field": {k: round(v["f1"], 3) for k, v in rep["per_field"].items() if "f1" in v},
            "command": " ".join(["evidex", *cmd[1:]])}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data-root", default=os.environ.get("EVIDEX_SHARED_DATA", "/work/shared/data"))
    ap.add_argument("--out", default=".bench/students")
    ap.add_argument("--steps", default="collect,train,score")
    ap.add_argument("--students", default=",".join(LOO))
    ap.add_argument("--kind", default="lightgbm")
    ap.add_argument("--rounds", type=int, default=200)
    ap.add_argument("--pool", type=int, default=100)
    ap.add_argument("--swde-train", type=int, default=400)
    ap.add_argument("--cuad", type=int, default=120)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-crosses", action="store_true", help="dense features only (schema-agnostic students)")
    ap.add_argument("--semantic", action="store_true",
                    help="collect with the MiniLM semantic features (feature set 2; use a fresh --out: parts are cached)")
    ap.add_argument("--features", default="1", choices=("1", "3", "4"),
                    help="collect with feature set 3 or 4 (relational / context columns; use a fresh --out)")
    ap.add_argument("--anchor", default="", choices=("", "prior"), help="boost from the prior (anchored student)")
    ap.add_argument("--empty", default="threshold", choices=("threshold", "prior"),
                    help="leave a field empty by the learnt threshold or by the prior's rule")
    ap.add_argument("--params", default="", help="JSON: LightGBM parameters of an anchored student's trees")
    ap.add_argument("--cross-dataset", nargs="?", const="held", default="", choices=("", "held", "all"),
                    help="calibrate on each part's calibration documents (or all its documents: 'all') as scored by "
                    "a model trained without that part")
    ap.add_argument("--extras", default="threshold", choices=EXTRAS,
                    help="with --empty prior: how a list field takes its other values (list_extras)")
    ap.add_argument("--points", default="top", choices=("top", "emitted"),
                    help="calibrate on each field's top candidates or on the values the student would emit")
    ap.add_argument("--calibration", default="isotonic", choices=("isotonic", "platt"))
    ap.add_argument("--parts", default="", help="read/write the labelled parts in DIR/parts instead of OUT/parts")
    ap.add_argument("--in-domain", default="", help="extra student dirs to score, NAME=DIR:DATASET,… (e.g. evidex train)")
    a = ap.parse_args()
    root, out = Path(a.data_root), Path(a.out)
    steps = set(a.steps.split(","))
    names = [s for s in a.students.split(",") if s]
    results_path = out / "results.json"
    results: dict[str, Any] = json.loads(results_path.read_text()) if results_path.is_file() else {}
    ps = parts(root, out, a) if steps & {"collect", "train", "ece"} else {}
    for name in names if "train" in steps else ():
        t0 = time.monotonic()
        card = train_parts([ps[n] for n in LOO[name]], out / name, kind=a.kind, seed=a.seed, rounds=a.rounds,
                           pool_size=a.pool, crosses=not a.no_crosses, anchor=a.anchor, empty=a.empty,
                           params=json.loads(a.params) if a.params else None,
                           cross_dataset=XD[a.cross_dataset], extras=a.extras, points=a.points,
                           calibration=a.calibration,
                           description=f"trained on {', '.join(LOO[name])} (bench/student_loo.py)")
        size = sum(f.stat().st_size for f in (out / name).iterdir())
        results.setdefault("students", {})[name] = {
            "train_s": round(time.monotonic() - t0, 1), "bytes": size, "threshold": card["threshold"],
            "ece_calibration_part": card["metrics"]["ece_10_bins"], "parts": LOO[name]}
        print(f"[train] {name}: {size / 1e6:.2f} MB, threshold {card['threshold']}, ECE(cal) "
              f"{card['metrics']['ece_10_bins']} ({time.monotonic() - t0:.0f} s)", flush=True)
    if "train" in steps or "ece" in steps:
        for name in names:
            m = load_student(out / name)
            for dev in DEV:
                ev = evaluate_parts(m, [ps[f"dev:{dev}"]])
                results.setdefault("ece", {}).setdefault(name, {})[dev] = ev
                print(f"[ece] {name} on {dev} dev: {ev}", flush=True)
    extra = dict(x.split("=", 1) for x in a.in_domain.split(",") if x)
    for dev, (dataset, args) in DEV.items() if "score" in steps else ():
        runs = {"prior": ["--scorer", "prior"]}
        runs |= {n: ["--student", str(out / n)] for n in names if n == "default" or TARGET.get(n) == dev}
        runs |= {n: ["--student", d.split(":")[0]] for n, d in extra.items() if d.split(":")[1] == dev}
        for tag, flags in runs.items():
            r = bench(dataset, args, flags, out, tag)
            results.setdefault("f1", {}).setdefault(dev, {})[tag] = r
            print(f"[score] {dataset} {tag}: F1 {r['f1']} {r['per_field']} value ECE {r['value_ece']} "
                  f"({r['wall_s']} s)", flush=True)
            results_path.write_text(json.dumps(results, indent=1))
    results_path.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
