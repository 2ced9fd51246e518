"""E-mail messages (RFC 5322 / MIME, ``.eml``): headers, the readable body, attachments as child documents.

Layout of the canonical text::

    From: Alice <alice@example.org>        EMAIL_HEADER > KEY_VALUE > KEY, VALUE  (mime_part "HEADER")
    To: bob@example.org
    Subject: Invoice

    Body paragraphs …                      text/plain preferred; HTML-only bodies go through the HTML parser

    Attachment: invoice.pdf                ATTACHMENT (filename, content_type, size) > KEY_VALUE + child document

Every piece of text carries ``Prov(mime_part=…)`` with IMAP section numbers (RFC 3501): ``1``, ``2.1``,
``HEADER``, ``2.HEADER`` for the header of a forwarded ``message/rfc822`` part at ``2``.

Safety (see docs on limits): header values are truncated to ``Limits.max_header_bytes`` (with a warning)
*before* any structured parsing, because the stdlib header parser is quadratic (gh-136063); MIME headers
used for structure are capped at 8 KiB; ``message/rfc822`` nesting deeper than ``Limits.max_message_depth``
(or MIME nesting deeper than 64) is recorded as an ATTACHMENT with ``error="NESTING_LIMIT"`` and a warning;
a message so deep that the stdlib parser itself overflows the stack raises :class:`NestingLimitError`.
A failing attachment never fails the message: it becomes an ATTACHMENT node with ``error``/``error_code``.
"""

from __future__ import annotations

import codecs
import mimetypes
import re
from email import policy as email_policy
from email.header import decode_header, make_header
from email.message import Message
from email.parser import BytesParser
from email.policy import EmailPolicy
from email.utils import parsedate_to_datetime
from html.parser import HTMLParser
from typing import Any

from evidex.errors import EmptyInputError, EvidexError, NestingLimitError
from evidex.model import Document, NodeKind, Prov
from evidex.parse.base import ParseContext
from evidex.parse.encoding import decode_text
from evidex.structure.builder import DocumentBuilder

HEADERS = ("From", "To", "Cc", "Bcc", "Reply-To", "Date", "Subject", "Message-ID")
_SHOWN = frozenset(h.lower() for h in HEADERS)
_ADDRESS_HEADERS = {"from", "to", "cc", "bcc", "reply-to"}
_STRUCTURED_MAX = 8 * 1024  # structured (quadratic) parsing only below this size
_MAX_MIME_DEPTH = 64
_MAX_FILENAME = 200
_CTRL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
_FOLD = re.compile(r"\r?\n(?=[ \t])")
_BOM = codecs.BOM_UTF8


class _BoundedPolicy(EmailPolicy):
    """``policy.default`` with bounded header parsing.

    The structured header parser costs a few microseconds per character and is re-run on every access, so
    a message with many parts carrying long ``Content-*`` headers took minutes (measured: 1,000 parts with
    8 KiB ``Content-Type`` headers, 212 s). MIME structure headers are therefore returned as plain strings
    (``Message``'s own linear parameter parsing handles them, as with ``compat32``), capped at
    ``max_header_len``; other headers are structured-parsed only up to that length.
    """

    max_header_len: int = _STRUCTURED_MAX

    def header_fetch_parse(self, name: str, value: str) -> Any:
        if isinstance(value, str):
            if len(value) > self.max_header_len:
                value = value[: self.max_header_len]
            key = name.lower()
            if key.startswith("content-") or key == "mime-version":
                return _FOLD.sub("", value).strip()
        return super().header_fetch_parse(name, value)


_POLICY = _BoundedPolicy()
_DEFAULT_POLICY = email_policy.default


# ---------------------------------------------------------------------------- small helpers
def _unescape(s: str) -> str:
    """Undo ``surrogateescape`` from the bytes parser: raw 8-bit header bytes are read as UTF-8."""
    if any("\udc80" <= c <= "\udcff" for c in s):
        return s.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return s


def _clean(s: str) -> str:
    """Control characters (and NUL) become spaces; runs of whitespace from unfolding collapse."""
    return _CTRL.sub(" ", s.replace("\x00", "")).strip()


def _decode_words(value: str) -> str:
    if "=?" not in value:
        return value
    try:
        return str(make_header(decode_header(value)))
    except Exception:  # malformed encoded words, unknown charsets: keep the raw text
        return value


def sanitize_filename(raw: str | None, fallback: str) -> str:
    """A display-safe attachment name: no directories, no control or bidi characters, bounded length."""
    name = _unescape(raw or "").replace("\\", "/").split("/")[-1]
    name = "".join(c if c.isprintable() else " " if c.isspace() else "" for c in name)
    name = name.strip().strip(".").strip()
    if not name:
        return fallback
    if len(name) > _MAX_FILENAME:
        dot = name.rfind(".")
        ext = name[dot:] if dot > 0 and len(name) - dot <= 16 else ""
        name = name[: _MAX_FILENAME - len(ext)] + ext
    return name


def _escaped(raw: str, limit: int = 1024) -> str:
    s = _unescape(raw)[:limit]
    return "".join(c if c.isprintable() else f"\\x{ord(c):02x}" if ord(c) < 256 else f"\\u{ord(c):04x}" for c in s)


def _decode_body(payload: bytes, charset: str | None) -> tuple[str, list[str]]:
    warnings: list[str] = []
    text: str | None = None
    if charset:
        try:
            info = codecs.lookup(charset)
            if not getattr(info, "_is_text_encoding", True):
                raise LookupError(charset)
            text = payload.decode(info.name)
        except LookupError:
            warnings.append(f"ENCODING: unknown charset {charset[:40]!r}; detected instead")
        except UnicodeDecodeError:
            warnings.append(f"ENCODING: body is not valid {charset[:40]}; detected instead")
    if text is None:
        text, _enc, more = decode_text(payload)
        warnings.extend(more)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "\x00" in text:
        text = text.replace("\x00", "")
    return text, warnings


class _HtmlText(HTMLParser):
    """Fallback HTML → text when the HTML parser is unavailable (iterative: safe for deep nesting)."""

    _BLOCK = frozenset(["p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol", "blockquote", "pre", "section", "article"])

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        elif tag in self._BLOCK:
            self.out.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip = max(0, self._skip - 1)
        elif tag in self._BLOCK:
            self.out.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.out.append(data)


def html_to_text(html: str) -> str:
    p = _HtmlText()
    p.feed(html)
    p.close()
    lines = [" ".join(ln.split()) for ln in "".join(p.out).split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


# what a header stands for, in RFC 5322's words (§3.6.2: From/Sender are the message's author(s); §3.6.5: the
# Subject identifies its topic): a label cue for candidates, so a schema's ``author`` / ``title`` finds them
_MEANING = {"from": "author", "sender": "author", "subject": "title"}


def _num(prefix: str, i: int) -> str:
    return f"{prefix}.{i}" if prefix else str(i)


def _is_body_text(part: Message) -> bool:
    return (
        part.get_content_type() in ("text/plain", "text/html")
        and part.get_content_disposition() != "attachment"
        and not part.get_filename()
    )


# ---------------------------------------------------------------------------- the parser
class EmlParser:
    name = "eml"
    media_type = "message/rfc822"
    extensions = (".eml",)

    def parse(self, data: bytes, ctx: ParseContext) -> Document:
        if not data.strip():
            raise EmptyInputError("message is empty")
        try:
            msg = BytesParser(policy=_POLICY).parsebytes(data)
        except RecursionError:
            raise NestingLimitError(
                "MIME parts nested too deeply for the e-mail parser",
                hint=f"messages are accepted up to {ctx.limits.max_message_depth} levels of forwarding",
            ) from None
        return _Render(ctx).message(msg, data)


class _Render:
    def __init__(self, ctx: ParseContext) -> None:
        self.ctx = ctx
        self.limits = ctx.limits
        self.parts_seen = 0
        self.b: DocumentBuilder

    # ------------------------------------------------------------------ entry
    def message(self, msg: Message, data: bytes) -> Document:
        self.b = self.ctx.builder(data, EmlParser.media_type)
        try:
            self._message(msg, "", msg_depth=0, mime_depth=0, top=True)
        except RecursionError:
            raise NestingLimitError("MIME structure nested too deeply") from None
        if not self.b.pos:
            raise EmptyInputError("message has no headers or text")
        return self.b.build()

    # ------------------------------------------------------------------ message = headers + body
    def _message(self, msg: Message, num: str, *, msg_depth: int, mime_depth: int, top: bool = False) -> None:
        self._headers(msg, f"{num}.HEADER" if num else "HEADER", top=top)
        if msg.is_multipart() and msg.get_content_maintype() == "multipart":
            self._defects(msg, num or "message")
            self._multipart(msg, num, msg_depth=msg_depth, mime_depth=mime_depth + 1)
        else:
            self._part(msg, _num(num, 1), msg_depth=msg_depth, mime_depth=mime_depth + 1, as_body=True)

    def _headers(self, msg: Message, section: str, *, top: bool) -> None:
        raw: dict[str, list[str]] = {}
        for name, value in msg.raw_items():
            key = name.lower()
            if key in _SHOWN:
                raw.setdefault(key, []).append(str(value))
        if not raw:
            return
        b = self.b
        b.ensure_break(2)
        hid = b.open(NodeKind.EMAIL_HEADER, prov=Prov(mime_part=section))
        first = True
        for canonical in HEADERS:
            values = raw.get(canonical.lower(), [])
            if len(values) > 1:
                b.warn(f"DUPLICATE_HEADER: {len(values)} {canonical} headers in part {section}")
            for value in values:
                if not first:
                    b.sep("\n")
                first = False
                self._header(canonical, value, section, top=top)
        b.close(hid)

    def _header(self, name: str, raw: str, section: str, *, top: bool) -> None:
        b = self.b
        attrs: dict[str, Any] = {"name": name}
        if name.lower() in _MEANING:
            attrs["meaning"] = _MEANING[name.lower()]
        limit = self.limits.max_header_bytes
        if len(raw) > limit:
            cut = raw[:limit]
            comma = cut.rfind(",")
            if name.lower() in _ADDRESS_HEADERS and comma > limit * 3 // 4:
                cut = cut[:comma]
            b.warn(f"HEADER_TRUNCATED: {name} header of {len(raw):,} bytes cut to {len(cut):,} (max_header_bytes)")
            attrs.update(truncated=True, original_bytes=len(raw))
            raw = cut
        unfolded = _FOLD.sub("", raw)
        value = _clean(_decode_words(_unescape(unfolded)))
        if len(unfolded) <= _STRUCTURED_MAX:
            self._structured(name, unfolded, attrs, section)
        prov = Prov(mime_part=section, part=f"header/{name}")
        kv = b.open(NodeKind.KEY_VALUE, prov=prov, attrs=attrs)
        b.leaf(NodeKind.KEY, name, prov=prov, anchor=True)
        b.sep(": ")
        if value:
            b.leaf(NodeKind.VALUE, value, prov=prov, anchor=True)
        b.close(kv)
        if top:
            b.metadata.setdefault(name.lower(), value[:1000])

    def _structured(self, name: str, unfolded: str, attrs: dict[str, Any], section: str) -> None:
        key = name.lower()
        try:
            if key in _ADDRESS_HEADERS:
                h = _DEFAULT_POLICY.header_factory(name, _unescape(unfolded))
                attrs["addresses"] = [a.addr_spec for a in getattr(h, "addresses", ()) if a.addr_spec]
                for d in getattr(h, "defects", ()):
                    self.b.warn(f"HEADER_DEFECT: {name} in part {section}: {type(d).__name__}: {d}"[:300])
            elif key == "date":
                attrs["iso"] = parsedate_to_datetime(_clean(unfolded)).isoformat()
        except Exception as e:  # a header we cannot structure is still shown verbatim
            self.b.warn(f"HEADER_DEFECT: {name} in part {section}: {type(e).__name__}"[:300])

    def _defects(self, part: Message, where: str) -> None:
        for d in getattr(part, "defects", ()):
            self.b.warn(f"MIME_DEFECT: part {where}: {type(d).__name__}")

    # ------------------------------------------------------------------ MIME tree
    def _too_deep(self, part: Message, num: str, *, msg_depth: int, mime_depth: int) -> bool:
        if msg_depth <= self.limits.max_message_depth and mime_depth <= _MAX_MIME_DEPTH:
            return False
        what = (
            f"message/rfc822 nested more than {self.limits.max_message_depth} deep"
            if msg_depth > self.limits.max_message_depth
            else f"MIME parts nested more than {_MAX_MIME_DEPTH} deep"
        )
        self.b.warn(f"NESTING_LIMIT: part {num}: {what}; its content was not parsed")
        self._attachment_node(part, num, error=NestingLimitError(what))
        return True

    def _multipart(self, part: Message, num: str, *, msg_depth: int, mime_depth: int) -> None:
        if self._too_deep(part, num or "1", msg_depth=msg_depth, mime_depth=mime_depth):
            return
        payload = part.get_payload()
        children = [c for c in payload if isinstance(c, Message)] if isinstance(payload, list) else []
        subtype = part.get_content_subtype()
        if subtype == "alternative" and children:
            chosen = self._choose_alternative(children)
            for i, child in enumerate(children, 1):
                if child is chosen:
                    self._part(child, _num(num, i), msg_depth=msg_depth, mime_depth=mime_depth + 1, as_body=True)
                else:
                    self._other_alternative(child, _num(num, i), msg_depth=msg_depth, mime_depth=mime_depth + 1)
            return
        for i, child in enumerate(children, 1):
            self._part(child, _num(num, i), msg_depth=msg_depth, mime_depth=mime_depth + 1)

    def _other_alternative(self, part: Message, num: str, *, msg_depth: int, mime_depth: int) -> None:
        """A rendition we did not choose: its text duplicates the body, but attachments in it are kept."""
        if self._too_deep(part, num, msg_depth=msg_depth, mime_depth=mime_depth):
            return
        if part.get_content_maintype() == "multipart":
            payload = part.get_payload()
            for i, child in enumerate(payload if isinstance(payload, list) else [], 1):
                if isinstance(child, Message):
                    self._other_alternative(child, _num(num, i), msg_depth=msg_depth, mime_depth=mime_depth + 1)
        elif not _is_body_text(part):
            self._part(part, num, msg_depth=msg_depth, mime_depth=mime_depth)

    def _choose_alternative(self, children: list[Message]) -> Message:
        for c in children:
            if c.get_content_type() == "text/plain" and _is_body_text(c):
                payload = c.get_payload(decode=True)
                if isinstance(payload, bytes) and payload.strip():
                    return c
        return children[-1]  # by RFC 2046 the last alternative is the richest

    def _part(self, part: Message, num: str, *, msg_depth: int, mime_depth: int, as_body: bool = False) -> None:
        self.parts_seen += 1
        if self.parts_seen > self.limits.max_entries:
            if self.parts_seen == self.limits.max_entries + 1:
                self.b.warn(f"ENTRY_LIMIT: more than {self.limits.max_entries:,} MIME parts; the rest were not parsed")
            return
        if not isinstance(part, Message):  # defensive: malformed payloads
            self.b.warn(f"MIME_DEFECT: part {num} is not a MIME entity; skipped")
            return
        if self._too_deep(part, num, msg_depth=msg_depth, mime_depth=mime_depth):
            return
        self._defects(part, num)
        ctype = part.get_content_type()
        if part.get_content_maintype() == "multipart":
            self._multipart(part, num, msg_depth=msg_depth, mime_depth=mime_depth)
        elif ctype in ("message/rfc822", "message/global") and part.is_multipart():
            inner = part.get_payload()
            nested = inner[0] if isinstance(inner, list) and inner else None
            if not isinstance(nested, Message):
                self._attachment(part, num)
                return
            if self._too_deep(part, num, msg_depth=msg_depth + 1, mime_depth=mime_depth):
                return
            nid, _ = self._attachment_open(part, num)
            self.b.ensure_break(2)
            self._message(nested, num, msg_depth=msg_depth + 1, mime_depth=mime_depth + 1)
            self.b.close(nid)
        elif ctype in ("text/plain", "text/html") and (as_body or _is_body_text(part)):
            self._body(part, num)
        else:
            self._attachment(part, num)

    # ------------------------------------------------------------------ bodies
    def _payload(self, part: Message) -> bytes:
        if part.is_multipart():  # message/delivery-status and friends: keep their text (no re-folding)
            blocks = []
            for sub in part.get_payload():
                if isinstance(sub, Message):
                    head = "\n".join(f"{k}: {_FOLD.sub('', str(v))}" for k, v in sub.raw_items())
                    body = sub.get_payload()
                    blocks.append(head + ("\n\n" + body if isinstance(body, str) and body.strip() else ""))
            return "\n\n".join(blocks).encode("utf-8", "surrogateescape")
        payload = part.get_payload(decode=True)
        return payload if isinstance(payload, bytes) else b""

    def _body(self, part: Message, num: str) -> None:
        payload = self._payload(part)
        text, warnings = _decode_body(payload, part.get_content_charset())
        for w in warnings:
            self.b.warn(f"{w} (part {num})")
        if not text.strip():
            return
        is_html = part.get_content_type() == "text/html"
        fmt = "html" if is_html else "text"
        data = _BOM + text.encode("utf-8", "surrogatepass")
        child = self._sub_parse(fmt, data, f"part-{num}.{'html' if is_html else 'txt'}")
        self.b.ensure_break(2)
        if child is not None:
            self.b.embed(child, Prov(mime_part=num))
            return
        self._paragraphs(html_to_text(text) if is_html else text, num)

    def _sub_parse(self, fmt: str, data: bytes, name: str) -> Document | None:
        """Parse a body with a specific parser (no sniffing); None (with a warning) if that fails."""
        from evidex.parse import get_parser

        try:
            parser = get_parser(fmt)
            sub = ParseContext(
                name=name, limits=self.limits, depth=self.ctx.depth, media_type=None, parse_child=self.ctx.parse_child
            )
            return parser.parse(data, sub)
        except EmptyInputError:
            return None
        except EvidexError as e:
            if e.reason not in ("PLUGIN_IMPORT_FAILED", "UNKNOWN_PLUGIN"):
                self.b.warn(f"BODY_FALLBACK: {name}: {e.reason}: {e.message}"[:300])
            return None
        except RecursionError:
            self.b.warn(f"BODY_FALLBACK: {name}: nested too deeply; rendered as plain text")
            return None
        except Exception as e:  # a parser bug must not lose the body: fall back to plain paragraphs
            self.b.warn(f"BODY_FALLBACK: {name}: {type(e).__name__}")
            return None

    def _paragraphs(self, text: str, num: str) -> None:
        b = self.b
        block: list[str] = []
        first_line = 0

        def flush() -> None:
            if block:
                kind = NodeKind.QUOTE if all(ln.startswith(">") for ln in block) else NodeKind.PARAGRAPH
                b.ensure_break(2)
                b.leaf(kind, "\n".join(block), prov=Prov(mime_part=num, line=first_line), anchor=True)
                block.clear()

        for i, line in enumerate(text.split("\n"), 1):
            line = line.rstrip()
            if line.strip():
                if not block:
                    first_line = i
                block.append(line)
            else:
                flush()
        flush()

    # ------------------------------------------------------------------ attachments
    def _attachment_open(self, part: Message, num: str) -> tuple[int, str]:
        raw_name = part.get_filename()
        if raw_name is not None:
            raw_name = _decode_words(raw_name)  # non-standard but common: RFC 2047 inside a parameter
        fallback = f"part-{num}{_guess_ext(part.get_content_type()) or ''}"
        if part.get_content_type() in ("message/rfc822", "message/global") and not raw_name:
            fallback = f"part-{num}.eml"
        filename = sanitize_filename(raw_name, fallback)
        attrs: dict[str, Any] = {"filename": filename, "content_type": part.get_content_type(), "mime_part": num}
        if raw_name is not None and _unescape(raw_name) != filename:
            attrs["filename_raw"] = _escaped(raw_name)
        prov = Prov(mime_part=num)
        self.b.ensure_break(2)
        nid = self.b.open(NodeKind.ATTACHMENT, prov=prov, attrs=attrs)
        kv = self.b.open(NodeKind.KEY_VALUE, prov=prov)
        self.b.leaf(NodeKind.KEY, "Attachment", prov=prov, anchor=True)
        self.b.sep(": ")
        self.b.leaf(NodeKind.VALUE, filename, prov=prov, anchor=True)
        self.b.close(kv)
        return nid, filename

    def _attachment_node(self, part: Message, num: str, *, error: EvidexError) -> None:
        nid, _ = self._attachment_open(part, num)
        self.b.set_attr(nid, "error", error.reason)
        self.b.set_attr(nid, "error_code", error.code)
        self.b.close(nid)

    def _attachment(self, part: Message, num: str) -> None:
        payload = self._payload(part)
        nid, filename = self._attachment_open(part, num)
        self.b.set_attr(nid, "size", len(payload))
        if not payload:
            self.b.set_attr(nid, "empty", True)
            self.b.close(nid)
            return
        child: Document | None = None
        try:
            child = self._child(payload, filename)
        except RecursionError:
            err = NestingLimitError("attachment nested too deeply")
            self.b.warn(f"ATTACHMENT_FAILED: part {num} ({filename}): {err.reason}")
            self.b.set_attr(nid, "error", err.reason)
            self.b.set_attr(nid, "error_code", err.code)
        except EvidexError as e:
            self.b.warn(f"ATTACHMENT_FAILED: part {num} ({filename}): {e.reason}: {e.message}"[:400])
            self.b.set_attr(nid, "error", e.reason)
            self.b.set_attr(nid, "error_code", e.code)
        if child is not None:
            self.b.ensure_break(2)
            self.b.embed(child, Prov(mime_part=num))
        self.b.close(nid)

    def _child(self, payload: bytes, filename: str) -> Document:
        if self.ctx.parse_child is not None:
            return self.ctx.parse_child(payload, filename, self.ctx.depth + 1)
        from evidex.parse import parse_bytes

        return parse_bytes(payload, filename, limits=self.limits, depth=self.ctx.depth + 1)


def _guess_ext(ctype: str) -> str | None:
    special = {"text/plain": ".txt", "message/rfc822": ".eml", "application/pdf": ".pdf", "text/csv": ".csv"}
    return special.get(ctype) or mimetypes.guess_extension(ctype, strict=False)


__all__ = ["HEADERS", "EmlParser", "html_to_text", "sanitize_filename"]
