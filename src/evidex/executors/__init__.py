"""Executors: where the documents of a batch are processed — ``local`` (this process), ``process`` (a pool of
worker processes) or ``ray`` (Ray tasks, on a local Ray or a cluster).

Every executor maps the same per-document function (:meth:`evidex.pipeline.Pipeline.stream`) with a pipeline
rebuilt from the same :class:`~evidex.pipeline.PipelineSpec` (JSON) in each worker — the model is loaded once per
worker — and streams results back **in input order** through a bounded window, so memory stays flat in the
number of documents and the records are the same whichever executor ran them (only ``usage.seconds``, a
timing, differs). Executors are registered like every other part (entry points ``evidex.executors``)::

    from evidex.executors import create_executor
    with create_executor("process", {"workers": 2}) as ex:
        run_batch(pipe, paths, executor=ex)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from evidex import registry
from evidex.pipeline.run import Done, Executor

__all__ = ["Done", "Executor", "create_executor"]


def create_executor(name: str = "local", options: Mapping[str, Any] | None = None) -> Any:
    """A registered executor with validated options (unknown keys are errors)."""
    return registry.executors.create(name, options)
