"""Pure, frozen data types. Imports nothing from evidex but :mod:`evidex.errors`."""

from evidex.model.document import (
    Anchor,
    BBox,
    Document,
    Layer,
    Node,
    NodeKind,
    Origin,
    Page,
    Prov,
    Source,
    content_id,
)
from evidex.model.extraction import Coverage, Entity, Extraction, Grounding, Label, Relation, Result, Usage
from evidex.model.schema import EntityType, Field, FieldType, LabelSet, RelationType, Schema
from evidex.model.serialize import document_from_dict, document_to_dict, result_from_dict, result_to_dict
from evidex.model.span import Span
from evidex.model.textview import OffsetMap, Segment, TextView, ViewBuilder

__all__ = [
    "Anchor", "BBox", "Coverage", "Document", "Entity", "EntityType", "Extraction", "Field", "FieldType",
    "Grounding", "Label", "LabelSet", "Layer", "Node", "NodeKind", "OffsetMap", "Origin", "Page", "Prov",
    "Relation", "RelationType", "Result", "Schema", "Segment", "Source", "Span", "TextView", "Usage",
    "ViewBuilder", "content_id", "document_from_dict", "document_to_dict", "result_from_dict", "result_to_dict",
]
