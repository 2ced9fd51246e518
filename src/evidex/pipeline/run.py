"""The one run loop: a pipeline over a batch of files, each result streamed to writers and callbacks.

Used by ``evidex extract``, ``evidex bench`` and the Python API alike, so they cannot drift apart.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence

from evidex.model import Document, Result
from evidex.output.writers import Writer
from evidex.pipeline.core import Pipeline, RunStats

OnResult = Callable[[str, Document | None, Result], None]


def run_batch(
    pipe: Pipeline,
    paths: Iterable[str | os.PathLike[str]],
    *,
    writers: Sequence[Writer] = (),
    on_result: OnResult | None = None,
    stats: RunStats | None = None,
) -> RunStats:
    """Run ``pipe`` over ``paths``: every result goes to each writer (in input order) and to ``on_result``.

    The writers are closed at the end — also when the run is interrupted (Ctrl-C) or a writer fails — so a
    JSONL file keeps every finished document and the table/report writers write what they received. Pass
    ``stats`` to see the counts so far when the run is interrupted.
    """
    stats = stats if stats is not None else RunStats()
    try:
        for path, doc, res in pipe.run(paths):
            stats.add(res)
            for w in writers:
                w.write(doc, res)
            if on_result is not None:
                on_result(path, doc, res)
    finally:
        errors: list[BaseException] = []
        for w in writers:
            try:
                w.close()
            except Exception as e:  # close the others anyway; report the first failure
                errors.append(e)
        if errors:
            raise errors[0]
    stats.gave_up = pipe.gave_up
    return stats


__all__ = ["OnResult", "run_batch"]
