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


def utf16_without_bom(data: bytes) -> str | None:
    """``"utf-16-le"`` / ``"utf-16-be"`` when ``data`` reads as UTF-16 without a byte-order mark, else None.

    The evidence: NUL bytes concentrated on one parity (the high byte of Latin characters: odd offsets in
    little-endian, even ones in big-endian) while the other parity has almost none, and the sample decodes
    strictly to text without stray control characters. Text without Latin characters (no NUL pattern) is left
    to the charset detector.
    """
    head = data[:8192]
    if len(head) < 4:
        return None
    head = head[: len(head) - (len(head) % 2)]
    half = len(head) // 2
    even = head[0::2].count(0) / half
    odd = head[1::2].count(0) / half
    if odd >= 0.3 and even <= 0.02:
        enc = "utf-16-le"
    elif even >= 0.3 and odd <= 0.02:
        enc = "utf-16-be"
    else:
        return None
    try:
        sample = head.decode(enc)
    except UnicodeDecodeError:  # e.g. a surrogate pair cut at the 8 KiB boundary: retry a little shorter
        try:
            sample = head[:-2].decode(enc)
        except UnicodeDecodeError:
            return None
    ctrl = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\t\n\r\f\x1b")
    return enc if ctrl <= max(2, len(sample) // 100) else None


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
    if text is None and b"\x00" in data[:8192]:
        utf16 = utf16_without_bom(data)
        if utf16 is not None:
            try:
                text, enc = data[: len(data) - len(data) % 2].decode(utf16), utf16
                warnings.append(f"ENCODING: decoded as {utf16} (UTF-16 without a byte-order mark)")
                if len(data) % 2:
                    warnings.append("ENCODING: a trailing odd byte (half a UTF-16 code unit) was dropped")
            except UnicodeDecodeError:
                text = None
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
