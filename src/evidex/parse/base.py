"""The parser protocol and the context a parser receives."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar, Protocol, runtime_checkable

from evidex.model import Document, Source, content_id
from evidex.structure.builder import DocumentBuilder
from evidex.structure.limits import DEFAULT_LIMITS, Limits


@dataclass(frozen=True)
class ParseContext:
    name: str  # display name (file name, attachment name)
    path: str | None = None
    limits: Limits = DEFAULT_LIMITS
    depth: int = 0  # nesting depth of attachments/archives
    media_type: str | None = None
    # parse an embedded file (attachment) with format sniffing, one level deeper
    parse_child: Callable[[bytes, str, int], Document] | None = field(default=None, compare=False)

    def builder(self, data: bytes, media_type: str) -> DocumentBuilder:
        source = Source(
            name=self.name,
            media_type=media_type,
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            path=self.path,
        )
        return DocumentBuilder(source, content_id(data), self.limits)


@runtime_checkable
class Parser(Protocol):
    """Turns bytes of one format into a Document. Raise :class:`evidex.errors.DocumentError` subclasses."""

    name: ClassVar[str]
    media_type: ClassVar[str]
    extensions: ClassVar[tuple[str, ...]]

    def parse(self, data: bytes, ctx: ParseContext) -> Document: ...
