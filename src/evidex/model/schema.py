"""Extraction schemas: typed fields, entity and relation types, document labels.

Build them from a dict/YAML (:func:`Schema.from_dict`, :func:`Schema.from_yaml`), a JSON Schema
(:func:`Schema.from_json_schema`) or a Pydantic model (:func:`Schema.from_pydantic`). Every problem is a
:class:`~evidex.errors.SchemaError` naming the offending path (e.g. ``fields.line_items.fields.qty.type``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from evidex.errors import SchemaError


class FieldType(StrEnum):
    """The type a field's value is normalised to (``date`` → ISO date, ``money`` → amount + currency, …)."""

    STRING = "string"
    INTEGER = "integer"
    DECIMAL = "decimal"
    DATE = "date"
    MONEY = "money"
    ENUM = "enum"
    BOOLEAN = "boolean"
    DURATION = "duration"  # "two (2) years" → "2 years"
    RECORD = "record"


_ALIASES: dict[str, FieldType] = {
    "str": FieldType.STRING, "text": FieldType.STRING, "string": FieldType.STRING,
    "int": FieldType.INTEGER, "integer": FieldType.INTEGER,
    "decimal": FieldType.DECIMAL, "number": FieldType.DECIMAL, "float": FieldType.DECIMAL,
    "date": FieldType.DATE, "datetime": FieldType.DATE,
    "money": FieldType.MONEY, "amount": FieldType.MONEY, "currency": FieldType.MONEY,
    "enum": FieldType.ENUM, "choice": FieldType.ENUM,
    "bool": FieldType.BOOLEAN, "boolean": FieldType.BOOLEAN,
    "record": FieldType.RECORD, "object": FieldType.RECORD,
    "duration": FieldType.DURATION, "period": FieldType.DURATION,
}


@dataclass(frozen=True)
class Field:
    """One field of a schema: its name, type, description and how it may be found (see docs/schema.md)."""

    name: str
    type: FieldType = FieldType.STRING
    description: str = ""
    examples: tuple[str, ...] = ()
    required: bool = False
    many: bool = False  # a list of values (or of records)
    choices: tuple[str, ...] = ()  # for enums
    fields: tuple[Field, ...] = ()  # for records
    extractive: bool = True  # the value must appear in the text (False: may be inferred, e.g. booleans)
    as_printed: bool = False  # validate as the type, but output the text as printed (amounts without currency)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"name": self.name, "type": self.type.value}
        if self.description:
            d["description"] = self.description
        if self.examples:
            d["examples"] = list(self.examples)
        if self.required:
            d["required"] = True
        if self.many:
            d["many"] = True
        if self.choices:
            d["choices"] = list(self.choices)
        if self.fields:
            d["fields"] = [f.to_dict() for f in self.fields]
        if not self.extractive:
            d["extractive"] = False
        if self.as_printed:
            d["as_printed"] = True
        return d


@dataclass(frozen=True)
class EntityType:
    name: str
    description: str = ""


@dataclass(frozen=True)
class RelationType:
    name: str
    head: str
    tail: str
    description: str = ""


@dataclass(frozen=True)
class LabelSet:
    """A document-level classification: one label (or several, if ``many``) with supporting spans."""

    name: str
    labels: tuple[str, ...]
    description: str = ""
    many: bool = False


@dataclass(frozen=True)
class Schema:
    """What to extract: fields (nested records included), entity and relation types, and label sets; loaded
    from YAML/JSON (``Schema.from_yaml``, ``Schema.from_dict``) or a JSON Schema (``Schema.from_json_schema``)."""

    name: str
    fields: tuple[Field, ...] = ()
    entities: tuple[EntityType, ...] = ()
    relations: tuple[RelationType, ...] = ()
    labels: tuple[LabelSet, ...] = ()
    description: str = ""

    def field(self, path: str) -> Field:
        parts = path.split(".")
        fields = self.fields
        found: Field | None = None
        for p in parts:
            found = next((f for f in fields if f.name == p), None)
            if found is None:
                raise KeyError(path)
            fields = found.fields
        assert found is not None
        return found

    def leaf_paths(self) -> list[str]:
        out: list[str] = []

        def rec(prefix: str, fs: Sequence[Field]) -> None:
            for f in fs:
                p = f"{prefix}{f.name}"
                if f.type is FieldType.RECORD:
                    rec(p + ".", f.fields)
                else:
                    out.append(p)

        rec("", self.fields)
        return out

    # ------------------------------------------------------------------ builders
    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"name": self.name}
        if self.description:
            d["description"] = self.description
        d["fields"] = {f.name: {k: v for k, v in f.to_dict().items() if k != "name"} for f in self.fields}
        if self.entities:
            d["entities"] = {e.name: e.description for e in self.entities}
        if self.relations:
            d["relations"] = {r.name: {"head": r.head, "tail": r.tail, "description": r.description} for r in self.relations}
        if self.labels:
            d["labels"] = {
                ls.name: {"labels": list(ls.labels), "description": ls.description, "many": ls.many} for ls in self.labels
            }
        return d

    @staticmethod
    def from_dict(data: Any, *, name: str = "schema") -> Schema:
        """Build from the YAML/dict form::

            name: invoice
            fields:
              invoice_number: {type: string, required: true, description: "…"}
              total: money
              line_items:
                type: record
                many: true
                fields: {description: string, amount: money}
            entities: {PERSON: "a named person"}
            relations: {works_for: {head: PERSON, tail: ORG}}
            labels: {doc_type: [invoice, receipt, letter]}
        """
        if not isinstance(data, Mapping):
            raise SchemaError(f"schema must be a mapping, got {type(data).__name__}")
        known = {"name", "description", "fields", "entities", "relations", "labels"}
        for k in data:
            if k not in known:
                raise SchemaError(f"unknown top-level key {k!r}", hint=f"allowed keys: {', '.join(sorted(known))}")
        fields = _fields_from(data.get("fields", {}), "fields")
        entities = _entities_from(data.get("entities", {}))
        ent_names = {e.name for e in entities}
        relations = _relations_from(data.get("relations", {}), ent_names)
        labels = _labels_from(data.get("labels", {}))
        if not (fields or entities or labels):
            raise SchemaError("schema defines no fields, entities or labels", hint="add at least one field")
        return Schema(
            name=str(data.get("name", name)),
            description=str(data.get("description", "")),
            fields=fields,
            entities=entities,
            relations=relations,
            labels=labels,
        )

    @staticmethod
    def from_yaml(text: str, *, name: str = "schema") -> Schema:
        import yaml

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
            raise SchemaError(f"invalid YAML{where}: {getattr(e, 'problem', e)}") from None
        return Schema.from_dict(data, name=name)

    @staticmethod
    def from_json_schema(js: Mapping[str, Any], *, name: str | None = None) -> Schema:
        if not isinstance(js, Mapping):
            raise SchemaError("JSON Schema must be an object")
        defs: Mapping[str, Any] = {**js.get("$defs", {}), **js.get("definitions", {})}
        fields = _fields_from_json_schema(js, defs, "$", ())
        if not fields:
            raise SchemaError("JSON Schema has no properties", path=None)
        return Schema(
            name=name or str(js.get("title", "schema")),
            description=str(js.get("description", "")),
            fields=fields,
        )

    @staticmethod
    def from_pydantic(model: type[Any]) -> Schema:
        try:
            js = model.model_json_schema()
        except AttributeError:
            raise SchemaError(f"{model!r} is not a Pydantic v2 model") from None
        return Schema.from_json_schema(js, name=model.__name__)


# ---------------------------------------------------------------------- dict/YAML form
def _fields_from(spec: Any, path: str) -> tuple[Field, ...]:
    if spec is None:
        return ()
    items: list[tuple[str, Any]]
    if isinstance(spec, Mapping):
        items = [(str(k), v) for k, v in spec.items()]
    elif isinstance(spec, list):
        items = []
        for i, f in enumerate(spec):
            if not isinstance(f, Mapping) or "name" not in f:
                raise SchemaError(f"{path}[{i}]: a list of fields needs mappings with a 'name'")
            items.append((str(f["name"]), {k: v for k, v in f.items() if k != "name"}))
    else:
        raise SchemaError(f"{path}: expected a mapping of field names, got {type(spec).__name__}")
    out: list[Field] = []
    seen: set[str] = set()
    for name, fspec in items:
        fpath = f"{path}.{name}"
        if not name.isidentifier():
            raise SchemaError(f"{fpath}: field names must be identifiers (letters, digits, _)")
        if name in seen:
            raise SchemaError(f"{fpath}: duplicate field")
        seen.add(name)
        out.append(_field_from(name, fspec, fpath))
    return tuple(out)


_FIELD_KEYS = {"type", "description", "examples", "required", "many", "list", "choices", "enum", "fields", "extractive",
               "as_printed"}


def _field_from(name: str, spec: Any, path: str) -> Field:
    if isinstance(spec, str):
        spec = {"type": spec}
    elif spec is None:
        spec = {}
    if not isinstance(spec, Mapping):
        raise SchemaError(f"{path}: expected a type name or a mapping, got {type(spec).__name__}")
    for k in spec:
        if k not in _FIELD_KEYS:
            raise SchemaError(f"{path}.{k}: unknown key", hint=f"allowed: {', '.join(sorted(_FIELD_KEYS))}")
    raw_type = spec.get("type", "string")
    many = bool(spec.get("many", spec.get("list", False)))
    if isinstance(raw_type, str) and raw_type.startswith("list[") and raw_type.endswith("]"):
        raw_type, many = raw_type[5:-1], True
    if not isinstance(raw_type, str) or raw_type.lower() not in _ALIASES:
        raise SchemaError(
            f"{path}.type: unknown type {raw_type!r}", hint=f"use one of: {', '.join(t.value for t in FieldType)}"
        )
    ftype = _ALIASES[raw_type.lower()]
    choices = spec.get("choices", spec.get("enum", ()))
    if choices and ftype is FieldType.STRING:
        ftype = FieldType.ENUM
    if ftype is FieldType.ENUM and not choices:
        raise SchemaError(f"{path}: enum field needs 'choices'")
    if not isinstance(choices, list | tuple):
        raise SchemaError(f"{path}.choices: expected a list")
    sub = _fields_from(spec.get("fields"), f"{path}.fields") if ftype is FieldType.RECORD else ()
    if ftype is FieldType.RECORD and not sub:
        raise SchemaError(f"{path}: record field needs 'fields'")
    examples = spec.get("examples", ())
    if isinstance(examples, str):
        examples = (examples,)
    return Field(
        name=name,
        type=ftype,
        description=str(spec.get("description", "") or ""),
        examples=tuple(str(e) for e in examples),
        required=bool(spec.get("required", False)),
        many=many,
        choices=tuple(str(c) for c in choices),
        fields=sub,
        extractive=bool(spec.get("extractive", ftype not in (FieldType.BOOLEAN, FieldType.ENUM))),
        as_printed=bool(spec.get("as_printed", False)),
    )


def _entities_from(spec: Any) -> tuple[EntityType, ...]:
    if not spec:
        return ()
    if isinstance(spec, list):
        return tuple(EntityType(str(n)) for n in spec)
    if isinstance(spec, Mapping):
        return tuple(EntityType(str(k), str(v or "")) for k, v in spec.items())
    raise SchemaError("entities: expected a list or mapping of entity type names")


def _relations_from(spec: Any, entity_names: set[str]) -> tuple[RelationType, ...]:
    if not spec:
        return ()
    if not isinstance(spec, Mapping):
        raise SchemaError("relations: expected a mapping name -> {head, tail}")
    out = []
    for name, r in spec.items():
        if not isinstance(r, Mapping) or "head" not in r or "tail" not in r:
            raise SchemaError(f"relations.{name}: needs 'head' and 'tail' entity types")
        for end in ("head", "tail"):
            if entity_names and r[end] not in entity_names:
                raise SchemaError(f"relations.{name}.{end}: unknown entity type {r[end]!r}")
        out.append(RelationType(str(name), str(r["head"]), str(r["tail"]), str(r.get("description", ""))))
    return tuple(out)


def _labels_from(spec: Any) -> tuple[LabelSet, ...]:
    if not spec:
        return ()
    if not isinstance(spec, Mapping):
        raise SchemaError("labels: expected a mapping name -> list of labels")
    out = []
    for name, v in spec.items():
        if isinstance(v, list):
            out.append(LabelSet(str(name), tuple(str(x) for x in v)))
        elif isinstance(v, Mapping) and isinstance(v.get("labels"), list):
            out.append(LabelSet(str(name), tuple(str(x) for x in v["labels"]), str(v.get("description", "")), bool(v.get("many", False))))
        else:
            raise SchemaError(f"labels.{name}: expected a list of labels")
    return tuple(out)


# ---------------------------------------------------------------------- JSON Schema
def _resolve(node: Mapping[str, Any], defs: Mapping[str, Any], path: str, stack: tuple[str, ...]) -> tuple[Mapping[str, Any], tuple[str, ...]]:
    while "$ref" in node:
        ref = str(node["$ref"])
        key = ref.split("/")[-1]
        if ref in stack:
            raise SchemaError(f"{path}: circular $ref {ref!r}", hint="nested records must terminate; break the cycle")
        if key not in defs:
            raise SchemaError(f"{path}: unresolvable $ref {ref!r}")
        stack = (*stack, ref)
        node = defs[key]
    return node, stack


def _fields_from_json_schema(js: Mapping[str, Any], defs: Mapping[str, Any], path: str, stack: tuple[str, ...]) -> tuple[Field, ...]:
    js, stack = _resolve(js, defs, path, stack)
    props = js.get("properties")
    if not isinstance(props, Mapping):
        raise SchemaError(f"{path}: object schema without 'properties'")
    required = set(js.get("required", ()))
    out = []
    for name, p in props.items():
        fpath = f"{path}.properties.{name}"
        out.append(_json_field(str(name), p, defs, fpath, stack, name in required))
    return tuple(out)


def _json_field(name: str, p: Any, defs: Mapping[str, Any], path: str, stack: tuple[str, ...], required: bool) -> Field:
    if not isinstance(p, Mapping):
        raise SchemaError(f"{path}: expected an object")
    p, stack = _resolve(p, defs, path, stack)
    desc = str(p.get("description", "") or "")
    examples = tuple(str(e) for e in p.get("examples", ()) or ())
    for key in ("anyOf", "oneOf"):
        if key in p:  # Optional[X] → X
            options = [o for o in p[key] if not (isinstance(o, Mapping) and o.get("type") == "null")]
            if len(options) == 1:
                inner = _json_field(name, options[0], defs, path, stack, required)
                return Field(**{**inner.__dict__, "description": desc or inner.description, "required": required})
            raise SchemaError(f"{path}.{key}: unions of several types are not supported")
    t = p.get("type")
    if isinstance(t, list):
        ts = [x for x in t if x != "null"]
        t = ts[0] if len(ts) == 1 else t
    fmt = p.get("format")
    if "enum" in p:
        return Field(name, FieldType.ENUM, desc, examples, required, choices=tuple(str(c) for c in p["enum"]), extractive=False)
    if t == "array":
        items = p.get("items", {})
        inner = _json_field(name, items, defs, f"{path}.items", stack, required)
        return Field(**{**inner.__dict__, "many": True, "description": desc or inner.description, "required": required})
    if t == "object" or "properties" in p:
        sub = _fields_from_json_schema(p, defs, path, stack)
        return Field(name, FieldType.RECORD, desc, examples, required, fields=sub)
    mapping = {"string": FieldType.STRING, "integer": FieldType.INTEGER, "number": FieldType.DECIMAL, "boolean": FieldType.BOOLEAN}
    if t == "string" and fmt in ("date", "date-time"):
        return Field(name, FieldType.DATE, desc, examples, required)
    if t == "string" and fmt in ("money", "currency"):
        return Field(name, FieldType.MONEY, desc, examples, required)
    if t == "string" and fmt == "decimal":
        return Field(name, FieldType.DECIMAL, desc, examples, required)
    if t not in mapping:
        raise SchemaError(f"{path}.type: unsupported JSON Schema type {t!r}")
    ft = mapping[str(t)]
    return Field(name, ft, desc, examples, required, extractive=ft is not FieldType.BOOLEAN)


__all__ = ["EntityType", "Field", "FieldType", "LabelSet", "RelationType", "Schema", "field"]
