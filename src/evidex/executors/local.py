"""The ``local`` executor: documents are processed one after another in this process (today's default)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, ClassVar

from evidex.pipeline import Pipeline
from evidex.pipeline.run import Done, local_map
from evidex.registry import Options


class LocalOptions(Options):
    pass


class LocalExecutor:
    name: ClassVar[str] = "local"
    Options: ClassVar[type[LocalOptions]] = LocalOptions

    def __init__(self, options: LocalOptions | None = None) -> None:
        self.o = options or LocalOptions()

    def map(self, pipe: Pipeline, paths: Sequence[str], *, documents: bool = True) -> Iterator[Done]:
        return local_map(pipe, paths)

    def close(self) -> None:
        pass

    def __enter__(self) -> LocalExecutor:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
