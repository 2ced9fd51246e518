"""Pipelines: a :class:`PipelineSpec` (what to run), a :class:`Pipeline` (built from it, anywhere) and the one
run loop (:func:`run_batch`) that streams results to writers."""

from evidex.pipeline.cache import Cache, CacheStats
from evidex.pipeline.core import (
    Pipeline,
    RunStats,
    as_schema,
    is_backend_failure,
    is_not_processed,
    load_schema,
)
from evidex.pipeline.run import Done, Executor, run_batch
from evidex.pipeline.spec import DEFAULT_MAX_BACKEND_FAILURES, BackendSpec, PipelineSpec, RunOptions

__all__ = [
    "DEFAULT_MAX_BACKEND_FAILURES", "BackendSpec", "Cache", "CacheStats", "Done", "Executor", "Pipeline", "PipelineSpec", "RunOptions", "RunStats", "as_schema",
    "is_backend_failure", "is_not_processed", "load_schema", "run_batch",
]
