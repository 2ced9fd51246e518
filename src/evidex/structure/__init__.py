"""Building and enriching the structure tree, independent of the input format: the DocumentBuilder (canonical
text + nodes + provenance), document limits, line/column layout from boxes, sections and key–value detection."""
