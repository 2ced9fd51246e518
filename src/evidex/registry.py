"""Lazy, named registries fed by entry points.

Built-in parsers and backends are declared as entry points in ``pyproject.toml`` exactly like third-party
plugins (groups ``evidex.parsers`` and ``evidex.backends``); nothing is imported until it is asked for.
Tests and embedding applications may also :meth:`Registry.register` an object directly.
"""

from __future__ import annotations

import difflib
import importlib
from importlib.metadata import entry_points
from typing import Any, Generic, TypeVar

from evidex.errors import PluginLoadError, UnknownPluginError

T = TypeVar("T")

_EXTRAS_HINT = {
    "pdf": "formats", "docx": "formats", "xlsx": "formats", "image": "ocr",
    "llamacpp": "llm", "openai": "openai",
}


class Registry(Generic[T]):
    def __init__(self, group: str, what: str) -> None:
        self.group = group
        self.what = what
        self._targets: dict[str, str | T] = {}
        self._loaded: dict[str, T] = {}
        self._scanned = False

    def _scan(self) -> None:
        if self._scanned:
            return
        for ep in entry_points(group=self.group):
            self._targets.setdefault(ep.name, ep.value)
        self._scanned = True

    def register(self, name: str, target: str | T) -> None:
        """Register ``"module:attr"`` (imported lazily) or an object."""
        self._scan()
        self._targets[name] = target
        self._loaded.pop(name, None)

    def unregister(self, name: str) -> None:
        self._targets.pop(name, None)
        self._loaded.pop(name, None)

    def names(self) -> list[str]:
        self._scan()
        return sorted(self._targets)

    def __contains__(self, name: object) -> bool:
        self._scan()
        return name in self._targets

    def get(self, name: str) -> T:
        self._scan()
        if name in self._loaded:
            return self._loaded[name]
        if name not in self._targets:
            close = difflib.get_close_matches(name, self._targets, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise UnknownPluginError(
                f"{self.what} {name!r} not found",
                hint=f"{hint}available: {', '.join(self.names()) or '(none)'}",
            )
        target = self._targets[name]
        obj: Any
        if isinstance(target, str):
            mod_name, _, attr = target.partition(":")
            try:
                obj = importlib.import_module(mod_name)
                for part in attr.split(".") if attr else ():
                    obj = getattr(obj, part)
            except ImportError as e:
                extra = _EXTRAS_HINT.get(name)
                fix = f"pip install 'evidex[{extra}]'" if extra else "check that the plugin is installed"
                raise PluginLoadError(f"{self.what} {name!r} could not be imported: {e}", hint=fix) from e
        else:
            obj = target
        self._loaded[name] = obj
        return obj  # type: ignore[no-any-return]


parsers: Registry[Any] = Registry("evidex.parsers", "parser")
backends: Registry[Any] = Registry("evidex.backends", "backend")
