"""From command-line flags to a :class:`~evidex.pipeline.PipelineSpec` (shared by ``extract`` and ``bench``).

Every open choice is a registry name: the backends, modes and stages a user can pick are whatever the registries
hold (built-ins and plugins alike); generic flags (``--model``, ``--timeout`` …) are mapped to a backend's own
options through the ``cli_flags`` it declares, or to an option of the same name.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from evidex import registry
from evidex.errors import UsageError
from evidex.extract.options import STAGE_ROLES
from evidex.model import Schema
from evidex.parse import Limits
from evidex.pipeline import PipelineSpec
from evidex.pipeline.spec import limit_overrides

NO_BACKEND = "none"


def names_help(reg: registry.Registry[Any], extra: Sequence[str] = ()) -> str:
    """``a, b, c`` — the names a registry holds now (for --help texts)."""
    try:
        return ", ".join([*reg.names(), *extra])
    except Exception:  # a broken plugin must not break --help
        return "(see the registry)"


def parse_assignments(items: Sequence[str], what: str) -> dict[str, Any]:
    """``["key=value", …]`` → dict; scalar values are typed as YAML reads them (``3``, ``true``, ``0.5``),
    anything else (``{"a": 1}``, ``[1, 2]``) stays the text given."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"{what} expects key=value, got {item!r}")
        try:
            value = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError:
            value = raw
        out[key.strip()] = value if value is None or isinstance(value, bool | int | float | str) else raw
    return out


def backend_options(backend: str, flags: Mapping[str, Any], extra: Sequence[str] = ()) -> dict[str, Any]:
    """The backend's options from the generic flags the user set (``None`` = not set) and ``--backend-option``s."""
    cls = registry.backends.get(backend)
    mapping: dict[str, str] = dict(getattr(cls, "cli_flags", {}))
    fields = set(getattr(getattr(cls, "Options", None), "model_fields", {}) or {})
    opts: dict[str, Any] = {}
    for flag, value in flags.items():
        if value is None or value is False:
            continue
        target = mapping.get(flag) or (flag if flag in fields else None)
        if target is None:
            raise UsageError(f"backend {backend!r} takes no --{flag.replace('_', '-')}",
                             hint=f"its options: {', '.join(sorted(fields)) or '(none)'} (--backend-option key=value)")
        opts[target] = value
    opts.update(parse_assignments(extra, "--backend-option"))
    return opts


def stage_options(items: Sequence[str]) -> dict[str, dict[str, Any]]:
    """``["scorer.top=3", …]`` → ``{"scorer": {"top": 3}}``."""
    out: dict[str, dict[str, Any]] = {}
    for key, value in parse_assignments(items, "--stage-option").items():
        role, dot, name = key.partition(".")
        if not dot or role not in STAGE_ROLES:
            raise UsageError(f"--stage-option {key}=…: expected ROLE.KEY=VALUE with ROLE one of {', '.join(STAGE_ROLES)}")
        out.setdefault(role, {})[name] = value
    return out


def build_spec(
    schema: Schema,
    *,
    backend: str,
    flags: Mapping[str, Any],
    backend_extra: Sequence[str] = (),
    engine: Mapping[str, Any],
    stage_extra: Sequence[str] = (),
    isolate: bool = False,
    max_backend_failures: int | None = None,
    limits: Limits | None = None,
) -> PipelineSpec:
    """A validated spec from the command line (``engine``: ExtractOptions fields that were set)."""
    be: str | None = None if backend == NO_BACKEND else backend
    if be is not None and be not in registry.backends:
        registry.backends.get(be)  # UnknownPluginError with "did you mean"
    opts = backend_options(be, flags, backend_extra) if be is not None else {}
    eng = {k: v for k, v in engine.items() if v is not None}
    if stage_extra:
        eng["stage_options"] = stage_options(stage_extra)
    return PipelineSpec.parse({
        "schema": schema.to_dict(),
        "backend": None if be is None else {"name": be, "options": opts},
        "extract": eng,
        "limits": limit_overrides(limits) if limits is not None else {},
        "run": {"isolate": isolate, "max_backend_failures": max_backend_failures},
    })


def load_spec(path: Path) -> PipelineSpec:
    return PipelineSpec.from_file(path)


__all__ = ["NO_BACKEND", "backend_options", "build_spec", "load_spec", "names_help", "parse_assignments",
           "stage_options"]
