"""The content-stream bomb guard: bound what pdfium will inflate and parse, on the raw bytes, before loading.

How streams are found (robust to padding, comments and indirect lengths):

- every ``N G obj`` header in the file (comments allowed between the tokens; headers inside other objects'
  data are scanned too, since an xref may point anywhere);
- the object's dictionary is read by a small bounded tokenizer (nested ``<< >>``, literal and hex strings,
  comments) up to its closing ``>>`` — or ``endobj``, where pdfium also stops — and a ``stream`` keyword must
  follow it. Dictionaries that do not overlap cost one pass over the file together; re-scanning bytes an
  earlier dictionary already covered (a header inside another object's dictionary) is capped at
  :data:`SCAN_WORK_FACTOR` × file size + 4 MiB (each token counting at least 16 bytes). A file that exceeds
  it (only possible with many overlapping, unterminated dictionaries) is refused as malformed rather than
  left partly unmeasured;
- the data ends at ``start + /Length`` when ``endstream`` follows there (``/Length N G R`` is resolved from the
  referenced object), else at the next ``endstream`` — what pdfium does.

How streams are measured: the filter chain (a name, an array of names, or an indirect reference to either)
is decoded stage by stage with byte counters — FlateDecode, LZWDecode, ASCIIHexDecode, ASCII85Decode,
RunLengthDecode (and their abbreviations) — stopping once past the cap. Decoding stops at the first other
filter (DCT/JPX/JBIG2/CCITTFax/Crypt/unknown): pdfium does not apply image decoders to content streams, so
what the measured prefix produced is what it parses. Unfiltered streams count their raw length.
"""

from __future__ import annotations

import base64
import re
import zlib
from collections.abc import Callable, Iterable, Iterator

from evidex.errors import DecompressionLimitError, MalformedError
from evidex.structure.limits import Limits, limit_hint

PAGE_CONTENT_CAP = 64 * 1024 * 1024  # decompressed content-stream bytes per page (and per form XObject)
SCAN_WORK_FACTOR = 1  # cap on re-scanning overlapping dictionaries, in multiples of the file size (+4 MiB)
_CHUNK = 1 << 20
_WS = rb"(?:\s|%[^\r\n]*+)"  # whitespace or a comment (possessive: no backtracking)
_OBJ_RE = re.compile(rb"(\d{1,10})" + _WS + rb"+\d{1,5}" + _WS + rb"+obj\b")
_SKIP_RE = re.compile(_WS + rb"*")
_DICT_TOK = re.compile(rb"<<|>>|[(<%]|endobj")
_STR_TOK = re.compile(rb"[()\\]")
_LEN_RE = re.compile(rb"/Length\s+(\d{1,12})(?:\s+\d{1,5}\s+(R))?")
_FILTER_RE = re.compile(rb"/Filter\s*(\[[^\]]{0,4096}\]|/[^\s/\[\]<>()%]+|\d+\s+\d+\s+R)")
_NAME_RE = re.compile(rb"/([^\s/\[\]<>()%]+)")
_INT_BODY = re.compile(rb"\s*(\d{1,12})\s+endobj")
_CONTENTS_RE = re.compile(rb"/Contents\s*(\[(?:\s*\d+\s+\d+\s+R)*\s*\]|\d+\s+\d+\s+R)")
_REF_RE = re.compile(rb"(\d+)\s+\d+\s+R")
_A85_GROUPS = re.compile(rb"(?:z|[!-u]{5})*")
_FLATE, _LZW, _AHX, _A85, _RL = "flate", "lzw", "ahx", "a85", "rl"
_FILTERS = {
    b"FlateDecode": _FLATE, b"Fl": _FLATE, b"LZWDecode": _LZW, b"LZW": _LZW, b"ASCIIHexDecode": _AHX,
    b"AHx": _AHX, b"ASCII85Decode": _A85, b"A85": _A85, b"RunLengthDecode": _RL, b"RL": _RL,
}


# ---------------------------------------------------------------------------------------------- decoders
def _chunks(buf: memoryview) -> Iterator[bytes]:
    for i in range(0, len(buf), _CHUNK):
        yield bytes(buf[i : i + _CHUNK])


def _flate(src: Iterable[bytes]) -> Iterator[bytes]:
    d = zlib.decompressobj()
    try:
        for chunk in src:
            tail = chunk
            while tail:
                out = d.decompress(tail, _CHUNK)
                if out:
                    yield out
                if d.eof:
                    return
                tail = d.unconsumed_tail
        while not d.eof:
            out = d.decompress(b"", _CHUNK)
            if not out:
                return
            yield out
    except zlib.error:  # corrupt → what was inflated so far (pdfium keeps that much too)
        return


def _ahx(src: Iterable[bytes]) -> Iterator[bytes]:
    carry = b""
    for chunk in src:
        end = chunk.find(b">")
        digits = re.sub(rb"[^0-9A-Fa-f]", b"", chunk if end < 0 else chunk[:end])
        digits = carry + digits
        cut = len(digits) & ~1
        carry = digits[cut:]
        if cut:
            yield bytes.fromhex(digits[:cut].decode("ascii"))
        if end >= 0:
            break
    if carry:
        yield bytes.fromhex((carry + b"0").decode("ascii"))


def _a85(src: Iterable[bytes]) -> Iterator[bytes]:
    carry = b""
    for chunk in src:
        end = chunk.find(b"~>")
        data = carry + re.sub(rb"[^!-uz]", b"", chunk if end < 0 else chunk[:end])
        m = _A85_GROUPS.match(data)
        cut = m.end() if m else 0
        carry = data[cut:]
        if cut:
            try:
                yield base64.a85decode(data[:cut])
            except ValueError:
                return
        if end >= 0:
            break
    if carry:
        try:
            yield base64.a85decode(carry.replace(b"z", b"!!!!!"))
        except ValueError:
            return


def _rl(src: Iterable[bytes]) -> Iterator[bytes]:
    pending = b""
    for chunk in src:
        data, i, out = pending + chunk, 0, bytearray()
        while i < len(data):
            n = data[i]
            if n == 128:
                yield bytes(out)
                return
            if n < 128:
                if i + 1 + n + 1 > len(data):
                    break
                out += data[i + 1 : i + 2 + n]
                i += n + 2
            else:
                if i + 1 >= len(data):
                    break
                out += data[i + 1 : i + 2] * (257 - n)
                i += 2
            if len(out) >= _CHUNK:
                yield bytes(out)
                out.clear()
        pending = data[i:]
        if out:
            yield bytes(out)


def _lzw(src: Iterable[bytes], early: int = 1) -> Iterator[bytes]:
    table: list[bytes] = [bytes([i]) for i in range(256)] + [b"", b""]
    bits, width, acc, prev = 0, 9, 0, b""
    out = bytearray()
    for chunk in src:
        for byte in chunk:
            acc = (acc << 8) | byte
            bits += 8
            while bits >= width:
                bits -= width
                code = (acc >> bits) & ((1 << width) - 1)
                acc &= (1 << bits) - 1
                if code == 256:
                    del table[258:]
                    width, prev = 9, b""
                    continue
                if code == 257:
                    yield bytes(out)
                    return
                if code < len(table):
                    entry = table[code]
                elif code == len(table) and prev:
                    entry = prev + prev[:1]
                else:
                    yield bytes(out)
                    return
                out += entry
                if prev and len(table) < 4096:
                    table.append(prev + entry[:1])
                prev = entry
                n = len(table) + early
                width = 12 if n >= 2048 else 11 if n >= 1024 else 10 if n >= 512 else 9
                if len(out) >= _CHUNK:
                    yield bytes(out)
                    out.clear()
    if out:
        yield bytes(out)


def _decoded_size(raw: memoryview, chain: list[str], cap: int, early: int = 1) -> int:
    """Bytes the filter chain produces from ``raw``, counted chunk by chunk; stops once past ``cap``."""
    stages: dict[str, Callable[[Iterable[bytes]], Iterator[bytes]]] = {
        _FLATE: _flate, _AHX: _ahx, _A85: _a85, _RL: _rl, _LZW: lambda s: _lzw(s, early),
    }
    it: Iterable[bytes] = _chunks(raw)
    for f in chain:
        it = stages[f](it)
    n = 0
    for out in it:
        n += len(out)
        if n > cap:
            break
    return n


# ---------------------------------------------------------------------------------------------- scanning
class _Scanner:
    """Stream objects of a PDF file, found by header and bounded dictionary tokenizing."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.work = SCAN_WORK_FACTOR * len(data) + (4 << 20)
        self.reach = 0  # how far dictionary scans have got: a header before this overlaps an earlier scan
        self.charge = False
        self.defs: dict[int, list[int]] = {}  # object number → positions after its headers
        self.streams: dict[int, tuple[int, int, bytes]] = {}  # object number → (data start, end, dictionary)
        self._bodies: dict[tuple[int, int], bytes] = {}
        headers = [(int(m.group(1)), m.end()) for m in _OBJ_RE.finditer(data)]
        for num, pos in headers:
            self.defs.setdefault(num, []).append(pos)
        for num, pos in headers:  # in file order
            st = self._stream_at(pos)
            if st is not None:
                self.streams[num] = st  # the last definition wins (incremental updates)

    def _spend(self, n: int) -> None:
        if not self.charge:
            return
        self.work -= max(n, 16)  # a token costs at least 16 bytes' worth: bounds time on token-dense input
        if self.work < 0:
            raise MalformedError(
                "the PDF's object structure could not be scanned within bounded work (many overlapping, "
                "unterminated dictionaries); refused before rendering",
                hint="the file is likely hostile or badly damaged")

    def _dict_end(self, pos: int) -> int:
        """Position after the ``>>`` closing the dictionary starting at ``pos`` (which holds ``<<``), or -1."""
        data, depth, i = self.data, 0, pos
        while True:
            m = _DICT_TOK.search(data, i)
            if m is None:
                self._spend(len(data) - i)
                self.reach = len(data)
                return -1
            self._spend(m.end() - i)
            tok, i = m.group(), m.end()
            if tok == b"<<":
                depth += 1
            elif tok == b">>":
                depth -= 1
                if depth == 0:
                    self.reach = max(self.reach, i)
                    return i
            elif tok == b"endobj":
                self.reach = max(self.reach, i)
                return -1
            elif tok == b"%":
                j = data.find(b"\n", i)
                k = data.find(b"\r", i, j if j >= 0 else len(data))
                j = k if k >= 0 else j
                i = len(data) if j < 0 else j
                self._spend(i - m.end())
            elif tok == b"<":
                j = data.find(b">", i)
                i = len(data) if j < 0 else j + 1
                self._spend(i - m.end())
            else:  # literal string: balanced parentheses, backslash escapes
                nest = 1
                while nest:
                    s = _STR_TOK.search(data, i)
                    if s is None:
                        self._spend(len(data) - i)
                        self.reach = len(data)
                        return -1
                    self._spend(s.end() - i)
                    c, i = s.group(), s.end()
                    if c == b"\\":
                        i += 1
                    else:
                        nest += 1 if c == b"(" else -1

    def _stream_at(self, pos: int) -> tuple[int, int, bytes] | None:
        data = self.data
        m = _SKIP_RE.match(data, pos)
        start = m.end() if m else pos
        self._spend(start - pos)
        if data[start : start + 2] != b"<<":
            return None
        self.charge = pos < self.reach  # disjoint scans cost at most one pass over the file: not charged
        end = self._dict_end(start)
        self.charge = False
        if end < 0:
            return None
        k = _SKIP_RE.match(data, end)
        s = k.end() if k else end
        self._spend(s - end)
        if data[s : s + 6] != b"stream":
            return None
        d = data[start:end]
        begin = s + 6
        begin += 2 if data[begin : begin + 2] == b"\r\n" else 1 if data[begin : begin + 1] in (b"\n", b"\r") else 0
        return begin, self._data_end(begin, d), d

    def body(self, num: int, limit: int = 1 << 16) -> bytes:
        """The text of object ``num`` (its last definition) up to ``endobj``, at most ``limit`` bytes."""
        got = self._bodies.get((num, limit))
        if got is None:
            positions = self.defs.get(num)
            head = self.data[positions[-1] : positions[-1] + limit] if positions else b""
            e = head.find(b"endobj")
            got = self._bodies[(num, limit)] = head if e < 0 else head[:e]
        return got

    def _data_end(self, begin: int, d: bytes) -> int:
        data = self.data
        lm = _LEN_RE.search(d)
        lengths: list[int] = []
        if lm and lm.group(2):  # /Length N G R: the integer(s) the referenced object holds
            for p in self.defs.get(int(lm.group(1)), []):
                im = _INT_BODY.match(data, p, p + 64)
                if im:
                    lengths.append(int(im.group(1)))
        elif lm:
            lengths.append(int(lm.group(1)))
        ends = [begin + n for n in lengths if begin + n <= len(data)]
        valid = [e for e in ends if data[e : e + 40].lstrip()[:9] == b"endstream"]
        if valid:
            return max(valid)
        e = data.find(b"endstream", begin)
        return len(data) if e < 0 else e

    def chain(self, d: bytes) -> tuple[list[str], bool]:
        """The leading measurable filters of a stream dictionary, and whether it has any filter at all."""
        fm = _FILTER_RE.search(d)
        if fm is None:
            return [], False
        spec = fm.group(1)
        ref = _REF_RE.fullmatch(spec)
        if ref:
            spec = self.body(int(ref.group(1)), 4096)
        out: list[str] = []
        for name in _NAME_RE.findall(spec):
            f = _FILTERS.get(name)
            if f is None:
                break
            out.append(f)
        return out, True


def _early_change(d: bytes) -> int:
    m = re.search(rb"/EarlyChange\s+([01])", d)
    return int(m.group(1)) if m else 1


def check_content_streams(data: bytes, limits: Limits) -> None:
    """Bound what pdfium will parse: the decoded size of each page's content streams (summed over the
    page's /Contents array, direct or an indirect array object) and of each form XObject must stay under
    :data:`PAGE_CONTENT_CAP`, and all of them together under ``limits.max_decompressed``. pdfium parses a
    page's whole content when the page is loaded (a 96 MiB stream of text operators took >3 s and >1.3 GB,
    then aborted the process in get_textpage), so this runs on the raw bytes first; see the module docstring
    for how streams are found and measured. Cost: one decode of the content streams, a few % of a parse.
    """
    sc = _Scanner(data)
    streams = sc.streams
    mv = memoryview(data)
    budget = limits.max_decompressed
    sizes: dict[int, int] = {}

    def size(num: int, cap: int) -> int:
        if num not in sizes:
            start, end, d = streams[num]
            chain, filtered = sc.chain(d)
            if chain:
                sizes[num] = _decoded_size(mv[start:end], chain, cap, _early_change(d))
            else:  # unfiltered: its raw length; only unmeasurable filters: nothing pdfium parses as content
                sizes[num] = 0 if filtered else end - start
        return sizes[num]

    def spend(n: int, what: str) -> None:
        nonlocal budget
        if n > PAGE_CONTENT_CAP:
            raise DecompressionLimitError(
                f"{what} expands to more than {PAGE_CONTENT_CAP // (1 << 20)} MiB of content stream "
                f"(evidex.parse.pdf.parser.PAGE_CONTENT_CAP); refused before rendering (possible stream bomb)",
                hint="no real page holds this much drawing code; the file is likely hostile")
        budget -= n
        if budget < 0:
            raise DecompressionLimitError(
                f"content streams expand beyond Limits.max_decompressed={limits.max_decompressed:,} bytes "
                f"(possible stream bomb)", hint=limit_hint("max_decompressed"))

    sources: list[bytes] = [data]
    for num, (start, end, d) in streams.items():
        if b"/ObjStm" in d:  # page dictionaries may live in object streams
            chain, filtered = sc.chain(d)
            if filtered and not chain:
                continue
            body = bytearray()
            it: Iterable[bytes] = _chunks(mv[start:end])
            for f in chain:
                it = {_FLATE: _flate, _AHX: _ahx, _A85: _a85, _RL: _rl, _LZW: _lzw}[f](it)
            for out in it:
                body += out
                if len(body) > PAGE_CONTENT_CAP:
                    break
            sizes[num] = len(body)
            budget -= len(body)
            spend(0, "object streams")
            sources.append(bytes(body))
    page = 0
    for src in sources:
        for m in _CONTENTS_RE.finditer(src):
            refs: list[int] = []
            for r in (int(x) for x in _REF_RE.findall(m.group(1))):
                if r in streams:
                    refs.append(r)
                else:  # /Contents N 0 R naming an array object
                    refs.extend(x for x in (int(y) for y in _REF_RE.findall(sc.body(r, 1 << 20))) if x in streams)
            if not refs:
                continue
            page += 1
            total = 0
            for r in refs:
                total += size(r, min(PAGE_CONTENT_CAP - total, max(budget, 0)) + 1)
                if total > PAGE_CONTENT_CAP:
                    break
            spend(total, f"page content ({len(refs)} stream(s), page object #{page} in file order)")
    for num, (_s, _e, d) in streams.items():
        if b"/Form" in d and num not in sizes:
            spend(size(num, min(PAGE_CONTENT_CAP, max(budget, 0)) + 1), f"form XObject {num}")
