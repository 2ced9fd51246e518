"""Lazy, named registries fed by entry points: every open choice of a pipeline is a name in one of them.

Built-in parts are declared as entry points in ``pyproject.toml`` exactly like third-party plugins (groups
``evidex.parsers``, ``evidex.backends``, ``evidex.modes``, ``evidex.selectors``, ``evidex.proposers``,
``evidex.scorers``, ``evidex.generators``, ``evidex.grounders``, ``evidex.writers``, ``evidex.datasets``,
``evidex.executors``, ``evidex.students``);
nothing is imported until it is asked for. Tests and embedding applications may also :meth:`Registry.register`
an object directly. :meth:`Registry.create` instantiates a registered class with validated options (its
``Options`` pydantic model: unknown keys are errors).
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Mapping
from importlib.metadata import entry_points
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from evidex.errors import ConfigError, PluginLoadError, UnknownPluginError

T = TypeVar("T")

_EXTRAS_HINT = {
    "pdf": "formats", "docx": "formats", "xlsx": "formats", "image": "ocr",
    "llamacpp": "llm", "openai": "openai",
}


class Options(BaseModel):
    """Base of a registered part's typed options: unknown keys are errors, values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def validate_options(cls: Any, options: Mapping[str, Any] | None, what: str) -> BaseModel:
    """``cls.Options(**options)`` with a :class:`ConfigError` naming the part and the allowed keys."""
    opts_cls: type[BaseModel] = getattr(cls, "Options", Options)
    try:
        return opts_cls(**dict(options or {}))
    except ValidationError as e:
        problems = "; ".join(f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in e.errors())
        raise ConfigError(f"invalid options for {what}: {problems}",
                          hint=f"allowed: {', '.join(opts_cls.model_fields) or '(none)'}") from None


class Registry(Generic[T]):
    def __init__(self, group: str, what: str) -> None:
        self.group = group
        self.what = what
        self._targets: dict[str, str | T] = {}
        self._loaded: dict[str, T] = {}
        self._registered: set[str] = set()  # names given by register() rather than by entry points
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
        self._registered.add(name)
        self._loaded.pop(name, None)

    def unregister(self, name: str) -> None:
        self._targets.pop(name, None)
        self._registered.discard(name)
        self._loaded.pop(name, None)

    def overrides(self) -> dict[str, str | T]:
        """What :meth:`register` added in this process (not entry points): an executor replays these in its
        workers so plugins registered at run time work there too."""
        return {n: self._targets[n] for n in sorted(self._registered) if n in self._targets}

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

    def create(self, name: str, options: Mapping[str, Any] | None = None) -> Any:
        """Instantiate the registered class ``name`` with validated options (``cls(cls.Options(**options))``)."""
        cls: Any = self.get(name)
        return cls(validate_options(cls, options, f"{self.what} {name!r}"))

    def version(self, name: str) -> str:
        """The registered part's declared ``version`` (``"0"`` when it declares none)."""
        return str(getattr(self.get(name), "version", "0"))


parsers: Registry[Any] = Registry("evidex.parsers", "parser")
backends: Registry[Any] = Registry("evidex.backends", "backend")
modes: Registry[Any] = Registry("evidex.modes", "mode")  # per-document plans (choice, generate, rules)
selectors: Registry[Any] = Registry("evidex.selectors", "selector")  # what text a model or scorer reads
proposers: Registry[Any] = Registry("evidex.proposers", "proposer")  # candidate spans
scorers: Registry[Any] = Registry("evidex.scorers", "scorer")  # distributions over candidates per field
generators: Registry[Any] = Registry("evidex.generators", "generator")  # model-written values
grounders: Registry[Any] = Registry("evidex.grounders", "grounder")  # raw value → Extraction
writers: Registry[Any] = Registry("evidex.writers", "writer")  # output formats (jsonl, csv, parquet, html)
datasets: Registry[Any] = Registry("evidex.datasets", "dataset")  # dataset adapters (gold + schema)
executors: Registry[Any] = Registry("evidex.executors", "executor")  # how a batch runs: local, process, ray
students: Registry[Any] = Registry("evidex.students", "student")  # trained student directories by name

STAGE_REGISTRIES: dict[str, Registry[Any]] = {
    "selector": selectors, "proposer": proposers, "scorer": scorers, "generator": generators, "grounder": grounders,
}
