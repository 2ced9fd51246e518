"""Bytes → str for text formats: BOMs, UTF-8, then charset detection; never a silent loss."""

from __future__ import annotations

import codecs
import re

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


def decode_text(data: bytes) -> tuple[str, str, list[str]]:
    """Return ``(text, encoding, warnings)``. Newlines are normalised to ``\\n``."""
    warnings: list[str] = []
    text: str | None = None
    enc = "utf-8"
    for bom, name in _BOMS:
        if data.startswith(bom):
            try:
                text, enc = data[len(bom) :].decode(name), name
            except UnicodeDecodeError:
                text = None
            break
    if text is None:
        try:
            text, enc = data.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            text = None
    if text is None:
        # Mostly-valid UTF-8 with a few bad bytes: keep UTF-8 (bad bytes → U+FFFD) rather than re-reading the
        # whole file in a legacy code page, when the valid part already proves UTF-8 (multi-byte characters).
        lenient = data.decode("utf-8", errors="replace")
        bad = len(re.findall("\ufffd+", lenient)) - data.count("\ufffd".encode())  # bad sequences
        multibyte = sum(1 for ch in lenient if ord(ch) > 127 and ch != "\ufffd")
        if bad <= max(1, len(lenient) // 1000) and multibyte > bad:
            text, enc = lenient, "utf-8"
            warnings.append(f"ENCODING: {bad} invalid UTF-8 byte sequence(s) replaced with U+FFFD")
    if text is None:
        from charset_normalizer import from_bytes

        best = from_bytes(data[: 4 * 1024 * 1024]).best()
        if best is not None and best.encoding:
            try:
                text, enc = data.decode(best.encoding), best.encoding
                warnings.append(f"ENCODING: decoded as {enc} (not valid UTF-8)")
            except (UnicodeDecodeError, LookupError):
                text = None
        if text is None:
            text, enc = data.decode("utf-8", errors="replace"), "utf-8"
            warnings.append("ENCODING: invalid UTF-8 bytes replaced with U+FFFD")
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "\x00" in text:
        text = text.replace("\x00", "")
        warnings.append("ENCODING: NUL characters removed")
    return text, enc, warnings
