"""``bench`` as a library function: run a pipeline over a dataset split and score it, with cost and speed.

One pipeline is built from the spec (the model loads once); each prompt format of a FormatSpread check runs
the same spec with another ``prompt_format`` through :meth:`Pipeline.with_options`, via the library's run loop.
"""

from __future__ import annotations

import resource
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evidex.eval.cli_api import prepare_inputs, run_eval
from evidex.eval.report import EvalReport
from evidex.model import Document, Result, Schema
from evidex.output.writers import JsonlWriter
from evidex.pipeline import Pipeline, PipelineSpec, run_batch


@dataclass
class BenchRun:
    format: int
    predictions: Path
    report: EvalReport
    wall_s: float
    docs: int


@dataclass
class BenchResult:
    spec: PipelineSpec  # as assembled (versions resolved)
    mode: str  # the resolved mode
    docs: int
    load_s: float
    peak_mib: float
    runs: list[BenchRun] = field(default_factory=list)

    @property
    def last(self) -> EvalReport:
        return self.runs[-1].report


def run_bench(
    spec: PipelineSpec,
    dataset: str,
    split: str | None = None,
    *,
    data_root: Path | str | None = None,
    limit: int | None = None,
    sample: int | None = None,
    seed: int = 0,
    formats: int = 1,
    output: Path | None = None,
    options: Mapping[str, Any] | None = None,
    progress: Callable[[int, int, str], None] | None = None,
    paths: Sequence[Path] | None = None,
    schema: Schema | None = None,
) -> BenchResult:
    """Run ``spec`` on the dataset's documents (``formats`` equivalent prompt formats) and score each run.

    Predictions go to ``output`` (default ``.bench/<dataset>-<split>-<mode>.jsonl``; ``-fmtN`` per format).
    ``progress(format, done, name)`` is called after each document. ``paths``: the dataset's input files when the
    caller has already prepared them (``prepare_inputs`` with the same arguments), so the split is loaded once.
    ``schema``: the field types a gold JSONL file is scored with (see :func:`evidex.eval.cli_api.load_gold`).
    """
    if paths is None:
        _, paths = prepare_inputs(dataset, split, data_root=data_root, limit=limit, sample=sample, seed=seed,
                                  options=options, schema=schema)
    t_load = time.monotonic()
    base = Pipeline.from_spec(spec)
    out = BenchResult(base.spec, base.mode, len(paths), time.monotonic() - t_load, 0.0)
    with base:
        for fmt in range(formats):
            pipe = base if fmt == 0 and base.options.prompt_format == 0 else \
                base.with_options(base.options.model_copy(update={"prompt_format": fmt}))
            pred = output or Path(".bench") / f"{Path(dataset).stem}-{split or 'default'}-{pipe.mode}.jsonl"
            if formats > 1:
                pred = pred.with_name(f"{pred.stem}-fmt{fmt}{pred.suffix}")
            pred.parent.mkdir(parents=True, exist_ok=True)
            done = 0

            def tick(path: str, doc: Document | None, res: Result, fmt: int = fmt) -> None:
                nonlocal done
                done += 1
                if progress is not None:
                    progress(fmt, done, Path(path).name)

            t0 = time.monotonic()
            stats = run_batch(pipe, paths, writers=[JsonlWriter(pred)], on_result=tick)
            wall = time.monotonic() - t0
            report = run_eval(pred, dataset, split, data_root=data_root, limit=limit, sample=sample, seed=seed,
                              options=options, schema=schema)
            out.runs.append(BenchRun(fmt, pred, report, wall, stats.documents))
    out.peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


__all__ = ["BenchResult", "BenchRun", "run_bench"]
