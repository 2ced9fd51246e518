"""Views: renderings of a Document as a :class:`~evidex.model.TextView` that map back to the canonical text
(Markdown with tables and headings, plain text, the compact sheet encoding)."""

from evidex.select.views.render import markdown_view, plain_view

__all__ = ["markdown_view", "plain_view"]
