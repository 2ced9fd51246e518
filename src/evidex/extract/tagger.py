"""A learned span tagger (a linear-chain CRF, python-crfsuite) that proposes values no other candidate covers.

The candidate proposer only finds what the structure and typed patterns delimit: a shop's name printed over two
lines, an address block the parser split into lines, a person named only in a contract's preamble are often no
candidate at all, so no scorer can choose them. The tagger labels the canonical text's tokens with BIO tags per
schema field (``B-address``, ``I-address``, ``O``) and turns every tagged run into a span ``doc.text[start:end]``
(token offsets are kept, so a span quotes the text exactly, across lines).

Token features (:func:`token_features`): the token's lower form, shape, prefix/suffix, case and digit flags,
punctuation; the same for its neighbours (±2); key words left on its line (``Total:`` → ``k:total``), the previous
line's words, its position on the line (first/last) and in the document; the innermost structure node's kind and
its parent's kind, the layer, whether it sits in a table's first row (a header), the page and, when the parser gave
word boxes, the vertical/horizontal band of the page it sits in.

On disk (in a student's model directory, next to the candidate scorer): ``tagger.crfsuite`` — crfsuite's own
model format (no pickle) — and a ``"tagger"`` entry in ``card.json`` (fields and their types, feature set,
training data, metrics). :class:`TaggerProposer` (registered as ``tagger``) adds the tagged spans to the built-in
candidates with source ``tagger`` and the tag ``tagger:FIELD``, so the student and the prior see where they came
from; ``--student DIR`` uses it when ``DIR`` has a tagger.
"""

from __future__ import annotations

import bisect
import dataclasses
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evidex.errors import ConfigError
from evidex.extract.candidates import Candidate, _left_label
from evidex.extract.prior import field_role
from evidex.ground.keys import loose_key
from evidex.model import Document, Field, FieldType, Layer, NodeKind, Span

TAGGER_MODEL = "tagger.crfsuite"
CARD = "card.json"
CARD_KEY = "tagger"
TAGGER_FEATURES = "1"
SOURCE = "tagger"
MAX_WINDOW = 256  # tokens per tagged sequence (windows end at line ends)
MAX_CHARS = 400  # longest span proposed (as long as the longest built-in candidate)

_TOKEN = re.compile(r"\w+|[^\w\s]", re.UNICODE)
_TYPE_TAGS = {FieldType.DATE: "date", FieldType.MONEY: "amount", FieldType.DECIMAL: "amount",
              FieldType.INTEGER: "integer", FieldType.DURATION: "duration"}


@dataclass(frozen=True)
class Token:
    start: int
    end: int
    line: int  # 0-based line of the canonical text


@dataclass(frozen=True)
class TaggedSpan:
    field: str
    start: int
    end: int
    prob: float  # the mean marginal probability of the span's tags

    def text(self, doc: Document) -> str:
        return doc.text[self.start : self.end]


def tokenize(doc: Document) -> list[Token]:
    """Word and punctuation tokens of ``doc.text`` outside the hidden layer, with their offsets and lines."""
    text = doc.text
    hidden = sorted((n.span.start, n.span.end) for n in doc.nodes if n.layer is Layer.HIDDEN)
    out: list[Token] = []
    line, pos = 0, 0
    for m in _TOKEN.finditer(text):
        line += text.count("\n", pos, m.start())
        pos = m.start()
        if hidden:
            i = bisect.bisect_right(hidden, (m.start(), len(text) + 1)) - 1
            if i >= 0 and hidden[i][0] <= m.start() < hidden[i][1]:
                continue
        out.append(Token(m.start(), m.end(), line))
    return out


def _shape(s: str) -> str:
    out: list[str] = []
    for ch in s[:8]:
        c = "X" if ch.isupper() else "x" if ch.isalpha() else "d" if ch.isdigit() else ch
        if not out or out[-1] != c:
            out.append(c)
    return "".join(out)


def _word_feats(s: str, p: str) -> list[str]:
    low = s.lower()
    fs = [f"{p}w={low[:20]}", f"{p}sh={_shape(s)}"]
    if s.isupper():
        fs.append(f"{p}up")
    elif s[:1].isupper():
        fs.append(f"{p}ti")
    if any(ch.isdigit() for ch in s):
        fs.append(f"{p}dg")
    if not s[:1].isalnum():
        fs.append(f"{p}pu")
    return fs


class _Structure:
    """Per-token structure context: innermost node kind (and its parent's), table-header row, page and box band."""

    def __init__(self, doc: Document, toks: Sequence[Token]) -> None:
        n = len(toks)
        starts = [t.start for t in toks]
        self.kind: list[str] = [""] * n
        self.parent: list[str] = [""] * n
        self.header = [False] * n
        nodes = sorted(doc.nodes, key=lambda nd: (nd.span.start - nd.span.end, nd.id))  # largest first
        first_rows = {nd.children[0] for nd in doc.nodes if nd.kind is NodeKind.TABLE and nd.children}
        for nd in nodes:
            if nd.kind in (NodeKind.DOCUMENT, NodeKind.PAGE):
                continue
            lo = bisect.bisect_left(starts, nd.span.start)
            hi = bisect.bisect_left(starts, nd.span.end)
            if lo >= hi:
                continue
            par = doc.nodes[nd.parent].kind.value if nd.parent is not None else ""
            hdr = nd.id in first_rows
            for i in range(lo, hi):
                self.kind[i] = nd.kind.value
                self.parent[i] = par
                if hdr:
                    self.header[i] = True
        self.page = [0] * n
        self.band = [""] * n
        page_starts = [p.span.start for p in doc.pages]
        anchors = [a for a in doc.anchors if a.prov.bbox is not None] if doc.pages else []
        a_starts = [a.span.start for a in anchors]
        for i, t in enumerate(toks):
            if not page_starts:
                break
            pi = max(0, bisect.bisect_right(page_starts, t.start) - 1)
            self.page[i] = pi
            j = bisect.bisect_right(a_starts, t.start) - 1
            if j >= 0 and anchors[j].span.start <= t.start < anchors[j].span.end:
                page = doc.pages[pi]
                box = anchors[j].prov.bbox
                if box is not None and page.width and page.height:
                    box = box.to_top_left(page.height)
                    self.band[i] = f"{min(4, int(5 * box.y0 / page.height))}{min(2, int(3 * box.x0 / page.width))}"


_KEY_STOP = frozenset({"the", "of", "and", "a", "an", "to", "in", "on", "for", "by"})


def token_features(doc: Document, toks: Sequence[Token]) -> list[list[str]]:
    """The crfsuite feature strings of every token (deterministic, pure Python)."""
    text = doc.text
    words = [text[t.start : t.end] for t in toks]
    st = _Structure(doc, toks)
    n_lines = (toks[-1].line + 1) if toks else 1
    n_pages = max(1, len(doc.pages))
    out: list[list[str]] = []
    line_keys: list[str] = []
    prev_line: list[str] = []
    cur_line = -1
    line_first = 0
    for i, (t, w) in enumerate(zip(toks, words, strict=True)):
        if t.line != cur_line:
            if cur_line >= 0:
                prev_line = [x.lower() for x in words[line_first:i] if x.isalpha() and len(x) > 2][-3:]
            cur_line, line_first, line_keys = t.line, i, []
        fs = ["b", *_word_feats(w, "")]
        low = w.lower()
        fs.append(f"p3={low[:3]}")
        fs.append(f"s3={low[-3:]}")
        fs.append(f"len={min(len(w), 12)}")
        for d in (-2, -1, 1, 2):
            j = i + d
            if 0 <= j < len(toks):
                same = toks[j].line == t.line
                fs += _word_feats(words[j], f"{d}{'' if same else 'n'}:")
            else:
                fs.append(f"{d}:pad")
        if i == line_first:
            fs.append("bol")
        if i + 1 == len(toks) or toks[i + 1].line != t.line:
            fs.append("eol")
        fs += [f"k:{k}" for k in line_keys[-3:]]
        fs += [f"pl:{k}" for k in prev_line]
        fs.append(f"lp={min(9, int(10 * t.line / n_lines))}")
        fs.append(f"li={min(t.line, 12)}")
        if st.kind[i]:
            fs.append(f"nk={st.kind[i]}")
            fs.append(f"pk={st.parent[i]}")
        if st.header[i]:
            fs.append("thead")
        if doc.pages:
            pg = st.page[i]
            fs.append("pg=first" if pg == 0 else "pg=last" if pg == n_pages - 1 else "pg=mid")
        if st.band[i]:
            fs.append(f"box={st.band[i]}")
        out.append(fs)
        if w.isalpha() and low not in _KEY_STOP:
            line_keys.append(low[:15])
    return out


def windows(toks: Sequence[Token], max_len: int = MAX_WINDOW) -> list[tuple[int, int]]:
    """Token ranges ``[i, j)`` of at most ``max_len`` tokens that end at line ends where they can."""
    out: list[tuple[int, int]] = []
    i, n = 0, len(toks)
    while i < n:
        j = min(n, i + max_len)
        if j < n:
            k = j
            while k > i + 1 and toks[k].line == toks[k - 1].line:
                k -= 1
            j = k if k > i + 1 else j
        out.append((i, j))
        i = j
    return out


def spans_of(labels: Sequence[str], toks: Sequence[Token], probs: Sequence[float] | None = None
             ) -> list[TaggedSpan]:
    """Maximal runs of one field's tags (a run starts at ``B-f`` or at ``I-f`` after another tag)."""
    out: list[TaggedSpan] = []
    cur: str | None = None
    begin = 0

    def close(end: int) -> None:
        if cur is not None:
            p = sum(probs[begin:end]) / (end - begin) if probs is not None else 1.0
            out.append(TaggedSpan(cur, toks[begin].start, toks[end - 1].end, round(p, 6)))

    for i, lab in enumerate(labels):
        tag, _, f = lab.partition("-")
        if tag == "B" or (tag == "I" and f != cur):
            close(i)
            cur, begin = f, i
        elif tag != "I":
            close(i)
            cur = None
    close(len(labels))
    return out


def read_card(model_dir: str | Path) -> dict[str, Any] | None:
    """The tagger's card entry of a model directory, or None when the directory has no tagger."""
    p = Path(model_dir)
    if not (p / TAGGER_MODEL).is_file() or not (p / CARD).is_file():
        return None
    entry = json.loads((p / CARD).read_text(encoding="utf-8")).get(CARD_KEY)
    return dict(entry) if isinstance(entry, dict) else None


def has_tagger(model_dir: str | Path) -> bool:
    return read_card(model_dir) is not None


class SpanTagger:
    """A trained CRF tagger loaded from a model directory (or a model file and its field types)."""

    def __init__(self, model_file: str | Path, fields: dict[str, str], min_prob: float = 0.0) -> None:
        try:
            import pycrfsuite  # type: ignore[import-untyped]
        except ImportError as e:
            raise ConfigError("the span tagger needs python-crfsuite", hint="pip install 'evidex[learn]'") from e
        self.fields = dict(fields)  # field name → field type value
        self.min_prob = min_prob
        self._tagger = pycrfsuite.Tagger()
        self._tagger.open(str(model_file))

    @staticmethod
    def load(model_dir: str | Path) -> SpanTagger:
        card = read_card(model_dir)
        if card is None:
            raise ConfigError(f"{model_dir} has no span tagger ({TAGGER_MODEL} and a {CARD_KEY!r} card entry)",
                              hint="train one with `evidex train … --tagger on`")
        if str(card.get("feature_set")) != TAGGER_FEATURES:
            raise ConfigError(f"tagger in {model_dir} uses feature set {card.get('feature_set')!r}, this evidex "
                              f"computes {TAGGER_FEATURES!r}", hint="retrain it with `evidex train`")
        return SpanTagger(Path(model_dir) / TAGGER_MODEL, dict(card["fields"]), float(card.get("min_prob", 0.0)))

    def tag_tokens(self, doc: Document, toks: Sequence[Token],
                   marginals: dict[str, list[float]] | None = None) -> list[TaggedSpan]:
        """The tagged spans of ``toks``; with a ``marginals`` dict, also each field's probability that each token
        belongs to it (P(B-field) + P(I-field), crfsuite's marginals), filled in per field."""
        feats = token_features(doc, toks)
        out: list[TaggedSpan] = []
        known = set(self._tagger.labels()) if marginals is not None else set()
        for i, j in windows(toks):
            labels = self._tagger.tag(feats[i:j])
            probs = [self._tagger.marginal(lab, k) for k, lab in enumerate(labels)]
            out += [s for s in spans_of(labels, toks[i:j], probs) if s.prob >= self.min_prob]
            if marginals is not None:
                for f in self.fields:
                    tags = [t for t in (f"B-{f}", f"I-{f}") if t in known]
                    marginals.setdefault(f, []).extend(
                        round(sum(self._tagger.marginal(t, k) for t in tags), 4) for k in range(j - i))
        return out

    def tag(self, doc: Document) -> list[TaggedSpan]:
        """Every tagged span of ``doc`` (``doc.text[s.start:s.end]`` is its text), in reading order."""
        return self._keep(self.tag_tokens(doc, tokenize(doc)))

    def _keep(self, spans: Sequence[TaggedSpan]) -> list[TaggedSpan]:
        return [s for s in spans if s.field in self.fields and s.end - s.start <= MAX_CHARS]

    def tag_with_marginals(self, doc: Document) -> tuple[list[TaggedSpan], Marginals]:
        """:meth:`tag`, and the tokens with each field's per-token probability (for :func:`add_spans`)."""
        toks = tokenize(doc)
        marg: dict[str, list[float]] = {}
        return self._keep(self.tag_tokens(doc, toks, marg)), Marginals(toks, marg)


class Marginals:
    """The tokens of a tagged document and, per field, the tagger's probability that each token belongs to it."""

    def __init__(self, toks: Sequence[Token], probs: dict[str, list[float]]) -> None:
        self.toks, self.probs = toks, probs
        self._starts = [t.start for t in toks]

    def around(self, start: int, end: int) -> dict[str, tuple[float, float, float]]:
        """Per field, the mean probability over the tokens of ``[start, end)`` and over the tokens of the nearest
        line before and after them with tokens (0 where there is none)."""
        i, j = bisect.bisect_left(self._starts, start), bisect.bisect_left(self._starts, end)
        if i >= j:
            return {}
        first, _ = _line_range(self.toks, i)  # the lines the range starts and ends on, then their neighbours
        _, last = _line_range(self.toks, j - 1)
        before = _line_range(self.toks, first - 1) if first > 0 else None
        after = _line_range(self.toks, last) if last < len(self.toks) else None
        out = {}
        for f, p in self.probs.items():
            def mean(r: tuple[int, int] | None, p: list[float] = p) -> float:
                return sum(p[r[0]:r[1]]) / (r[1] - r[0]) if r is not None and r[1] > r[0] else 0.0
            out[f] = (mean((i, j)), mean(before), mean(after))
        return out


def _line_range(toks: Sequence[Token], k: int) -> tuple[int, int]:
    """The token range of the line holding token ``k``."""
    line = toks[k].line
    a = b = k
    while a > 0 and toks[a - 1].line == line:
        a -= 1
    while b + 1 < len(toks) and toks[b + 1].line == line:
        b += 1
    return a, b + 1


def add_spans(doc: Document, base: Sequence[Candidate], spans: Sequence[TaggedSpan],
              types: dict[str, str], marginals: Marginals | None = None) -> list[Candidate]:
    """``base`` plus one candidate per tagged span (source ``tagger``, tags ``tagger:FIELD``, the field's type tag
    and role); a base candidate with the same span, or overlapping it with the same letters and digits, only gains
    the ``tagger:FIELD`` tag (a near-duplicate would be a second, wrong value of a list field). Either way the
    candidate's ``extra["tagger_prob:FIELD"]`` is the span's probability. With ``marginals``, every candidate's
    ``extra["tagger_marg:FIELD"]`` holds the tagger's mean probability that its tokens, and the lines just before and
    after it, belong to the field ("in before after"; the student's relational features, feature set 3). Texts,
    spans and tags are the same with or without ``marginals``."""
    items = _with_marginals(base, marginals)
    at = {(c.span.start, c.span.end): i for i, c in enumerate(items)}
    n = max(1, len(doc.text))
    for s in spans:
        ftype = FieldType(types.get(s.field, "string"))
        role = field_role(Field(s.field, ftype)) if ftype is FieldType.STRING else None
        tags = {f"tagger:{s.field}", _TYPE_TAGS.get(ftype, "text"), *((role,) if role else ())}
        k = (s.start, s.end)
        if k not in at:  # a candidate overlapping the span with the same letters and digits ("ACME, INC." for
            key = loose_key(doc.text[s.start : s.end])  # the tagged "ACME, INC") is the same value: tag it instead
            same = [i for i, c in enumerate(items) if c.source != SOURCE and c.span.start < s.end
                    and s.start < c.span.end and loose_key(c.text) == key]
            if same:
                k = (items[same[0]].span.start, items[same[0]].span.end)
        prob = {f"tagger_prob:{s.field}": f"{s.prob:.4f}"}
        if k in at:
            old = items[at[k]]
            items[at[k]] = dataclasses.replace(old, tags=old.tags | {f"tagger:{s.field}"}, extra={**old.extra, **prob})
            continue
        span = Span(s.start, s.end)
        nodes = doc.nodes_at(span)
        node = nodes[-1] if nodes else None
        c = Candidate(len(items), span, doc.text[s.start : s.end], SOURCE,
                      " ".join(_left_label(doc.text, s.start).split())[:60], frozenset(tags),
                      node.id if node is not None else None, s.start / n,
                      node.layer if node is not None else Layer.BODY,
                      {"tagger_field": s.field, "tagger_prob": f"{s.prob:.4f}", **prob,
                       **_marginal_extra(marginals, s.start, s.end)})
        at[k] = c.id
        items.append(c)
    return items


def _marginal_extra(marginals: Marginals | None, start: int, end: int) -> dict[str, str]:
    if marginals is None:
        return {}
    return {f"tagger_marg:{f}": f"{a:.3f} {b:.3f} {c:.3f}" for f, (a, b, c) in marginals.around(start, end).items()
            if max(a, b, c) >= 0.0005}


def _with_marginals(base: Sequence[Candidate], marginals: Marginals | None) -> list[Candidate]:
    if marginals is None:
        return list(base)
    out = []
    for c in base:
        extra = _marginal_extra(marginals, c.span.start, c.span.end)
        out.append(dataclasses.replace(c, extra={**c.extra, **extra}) if extra else c)
    return out


def student_stages(model_dir: str | Path, stage_option: Sequence[str] | None) -> tuple[str | None, list[str]]:
    """``--student DIR`` (or a registered student's name): the proposer to run (``tagger`` when ``DIR`` holds a span tagger, else None: the
    default) and the stage options with the model directory for the scorer (and the tagger)."""
    from evidex.extract.student.names import resolve_student  # a registered name → its directory

    opts = [*(stage_option or ()), f"scorer.model={model_dir}"]
    if has_tagger(resolve_student(model_dir)):
        return SOURCE, [*opts, f"proposer.model={model_dir}"]
    return None, opts


__all__ = ["CARD_KEY", "SOURCE", "TAGGER_FEATURES", "TAGGER_MODEL", "Marginals", "SpanTagger", "TaggedSpan", "Token",
           "add_spans", "has_tagger", "read_card", "spans_of", "student_stages", "token_features", "tokenize",
           "windows"]
