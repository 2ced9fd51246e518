"""``PipelineSpec``: a frozen, validated, JSON-serializable description of a run.

A spec names everything a pipeline is made of — the schema, the backend (registered name + options), the mode
and stages (registered names + options, see :class:`~evidex.extract.ExtractOptions`), parse limits and run
policy — so :meth:`evidex.pipeline.Pipeline.from_spec` can rebuild the same pipeline anywhere: another process,
a Ray worker, the HTTP service. Unknown keys are errors at every level. Once a pipeline is assembled, its spec
also records the ``versions`` of the parts it resolved (``role → name@version``); a spec carrying versions is
refused by an installation whose parts have other versions, and results carry :meth:`PipelineSpec.hash`.

>>> from evidex.model import Schema
>>> spec = PipelineSpec.create(Schema.from_dict({"fields": {"total": "money"}}), backend=None)
>>> PipelineSpec.from_json(spec.to_json()) == spec
True
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator
from pydantic import Field as PydanticField

from evidex import registry
from evidex.errors import ConfigError, EvidexError, SchemaError
from evidex.extract.options import STAGE_ROLES, ExtractOptions
from evidex.model import Schema
from evidex.structure.limits import Limits

SPEC_FORMAT = "evidex.pipeline/1"
DEFAULT_MAX_BACKEND_FAILURES = 3


class BackendSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    options: Mapping[str, Any] = PydanticField(default_factory=dict)

    @field_validator("name")
    @classmethod
    def _known(cls, v: str) -> str:
        _check_name(registry.backends, v)
        return v


class RunOptions(BaseModel):
    """How a batch runs: parser isolation and the fail-fast policy."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    isolate: bool = False  # parse each file in a watched worker process (crash, hang and memory safe)
    # after this many consecutive documents failing because of the backend, stop asking it (0/None = never)
    max_backend_failures: int | None = PydanticField(default=DEFAULT_MAX_BACKEND_FAILURES, ge=0)


class PipelineSpec(BaseModel):
    """Everything needed to rebuild a pipeline (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    format: Literal["evidex.pipeline/1"] = "evidex.pipeline/1"
    schema_: Mapping[str, Any] = PydanticField(alias="schema")  # Schema.to_dict() form
    backend: BackendSpec | None = None  # None: no model (mode rules)
    extract: ExtractOptions = PydanticField(default_factory=ExtractOptions)
    limits: Mapping[str, Any] = PydanticField(default_factory=dict)  # overrides of evidex.parse.Limits defaults
    run: RunOptions = PydanticField(default_factory=RunOptions)
    versions: Mapping[str, str] = PydanticField(default_factory=dict)  # role → name@version, once assembled

    # ------------------------------------------------------------------ validation
    @field_validator("schema_")
    @classmethod
    def _schema(cls, v: Mapping[str, Any]) -> Mapping[str, Any]:
        try:
            return Schema.from_dict(dict(v), name=str(v.get("name", "schema"))).to_dict()
        except SchemaError as e:
            raise ValueError(f"invalid schema: {e.message}") from None

    @field_validator("limits")
    @classmethod
    def _limits(cls, v: Mapping[str, Any]) -> Mapping[str, Any]:
        try:
            Limits().with_(**dict(v))
        except TypeError as e:
            raise ValueError(str(e)) from None
        return dict(v)

    @model_validator(mode="after")
    def _names(self) -> PipelineSpec:
        if self.extract.mode != "auto":
            _check_name(registry.modes, self.extract.mode)
        for role in STAGE_ROLES:
            name, _ = self.extract.stage(role)
            if not (role == "scorer" and name == "auto"):
                _check_name(registry.STAGE_REGISTRIES[role], name)
        return self

    # ------------------------------------------------------------------ building
    @staticmethod
    def create(
        schema: Schema,
        backend: str | None = "llamacpp",
        backend_options: Mapping[str, Any] | None = None,
        options: ExtractOptions | None = None,
        *,
        limits: Limits | Mapping[str, Any] | None = None,
        isolate: bool = False,
        max_backend_failures: int | None = DEFAULT_MAX_BACKEND_FAILURES,
    ) -> PipelineSpec:
        """A spec from Python objects (``limits``: a Limits or its non-default fields)."""
        if isinstance(limits, Limits):
            limits = limit_overrides(limits)
        return PipelineSpec.parse({
            "schema": schema.to_dict(),
            "backend": None if backend is None else {"name": backend, "options": dict(backend_options or {})},
            "extract": (options or ExtractOptions()).model_dump(),
            "limits": dict(limits or {}),
            "run": {"isolate": isolate, "max_backend_failures": max_backend_failures},
        })

    @staticmethod
    def parse(data: Mapping[str, Any]) -> PipelineSpec:
        """Validate a dict (as read from JSON/YAML); problems raise :class:`ConfigError` naming each key."""
        try:
            return PipelineSpec.model_validate(dict(data))
        except ValidationError as e:
            problems = "; ".join(f"{'.'.join(str(p) for p in err['loc']) or 'spec'}: {err['msg']}" for err in e.errors())
            raise ConfigError(f"invalid pipeline spec: {problems}"[:2000]) from None

    @staticmethod
    def from_json(text: str) -> PipelineSpec:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise ConfigError(f"pipeline spec: invalid JSON at line {e.lineno}: {e.msg}") from None
        if not isinstance(data, dict):
            raise ConfigError("pipeline spec: expected a JSON object")
        return PipelineSpec.parse(data)

    @staticmethod
    def from_file(path: str | os.PathLike[str]) -> PipelineSpec:
        """Read a spec from a ``.json`` or ``.yaml`` file."""
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8")
        except OSError as e:
            raise ConfigError(f"cannot read pipeline spec {p}: {e}") from None
        if p.suffix.lower() in (".yaml", ".yml"):
            import yaml

            try:
                data = yaml.safe_load(text)
            except yaml.YAMLError as e:
                raise ConfigError(f"{p}: invalid YAML: {e}") from None
            if not isinstance(data, dict):
                raise ConfigError(f"{p}: expected a mapping")
            return PipelineSpec.parse(data)
        return PipelineSpec.from_json(text)

    # ------------------------------------------------------------------ using
    @property
    def schema(self) -> Schema:  # type: ignore[override]
        return Schema.from_dict(dict(self.schema_), name=str(self.schema_.get("name", "schema")))

    @property
    def limits_obj(self) -> Limits:
        return Limits().with_(**dict(self.limits))

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)

    def to_json(self, *, indent: int | None = None) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=indent)  # key order is meaningful (fields)

    def hash(self) -> str:
        """A short content hash of the spec (its JSON, in model order; versions included once assembled)."""
        return hashlib.sha256(self.to_json().encode("utf-8")).hexdigest()[:16]

    def with_versions(self, versions: Mapping[str, str]) -> PipelineSpec:
        if self.versions and dict(self.versions) != dict(versions):
            diff = ", ".join(f"{k}: spec {self.versions.get(k)} ≠ installed {versions.get(k)}"
                             for k in sorted(set(self.versions) | set(versions))
                             if self.versions.get(k) != versions.get(k))
            raise ConfigError(f"the pipeline spec was made with other versions of its parts ({diff})",
                              hint="drop 'versions' from the spec to accept the installed parts")
        return self.model_copy(update={"versions": dict(versions)})


def limit_overrides(limits: Limits) -> dict[str, Any]:
    """The fields of ``limits`` that differ from the defaults."""
    base = Limits()
    return {f.name: getattr(limits, f.name) for f in dataclasses.fields(limits)
            if getattr(limits, f.name) != getattr(base, f.name)}


def _check_name(reg: registry.Registry[Any], name: str) -> None:
    if name not in reg:
        try:
            reg.get(name)  # raises UnknownPluginError with a did-you-mean hint
        except EvidexError as e:
            raise ValueError(f"{e.message} ({e.hint})" if e.hint else e.message) from None


__all__ = [
    "DEFAULT_MAX_BACKEND_FAILURES", "SPEC_FORMAT", "BackendSpec", "PipelineSpec", "RunOptions", "limit_overrides",
]
