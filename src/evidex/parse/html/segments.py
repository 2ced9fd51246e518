"""Inline text runs → whitespace-collapsed segments with DOM paths, and writing segments into the builder."""

from __future__ import annotations

from dataclasses import dataclass

from evidex.model import Layer, Prov
from evidex.parse.html.tree import WS
from evidex.structure.builder import DocumentBuilder

# run kinds
TEXT, PRETEXT, BR, SPACE = 0, 1, 2, 3


@dataclass(slots=True)
class Run:
    kind: int
    text: str
    path: str | None
    layer: Layer


def collapse(runs: list[Run], cell: bool = False) -> list[tuple[str, str | None]]:
    """Runs → segments (text, dom_path) with HTML whitespace rules; a None path marks a ``<br>`` newline.

    Linear in the input: parts are joined once at the end.
    """
    segs: list[tuple[list[str], str | None]] = []
    last = "\n"

    def push(t: str, path: str | None) -> None:
        nonlocal last
        if path is not None and segs and segs[-1][1] == path:
            segs[-1][0].append(t)
        else:
            segs.append(([t], path))
        last = t[-1]

    for r in runs:
        if r.kind == BR and not cell:
            if last == " ":  # collapsed whitespace leaves at most one trailing space
                parts = segs[-1][0]
                parts[-1] = parts[-1][:-1]
                if not parts[-1]:
                    parts.pop()
                if not parts:
                    segs.pop()
                last = segs[-1][0][-1][-1] if segs else "\n"
            if segs and not (len(segs) > 1 and segs[-1][1] is None and segs[-2][1] is None):
                push("\n", None)
        elif r.kind in (SPACE, BR):
            if segs and last not in " \n":
                push(" ", r.path)
        elif r.kind == PRETEXT:
            if r.text:
                push(r.text, r.path)
        else:
            t = WS.sub(" ", r.text)
            if t[:1] == " " and last in " \n":
                t = t[1:]
            if t:
                push(t, r.path)
    out = [("".join(parts), path) for parts, path in segs]
    while out:  # trim the end
        t, path = out[-1]
        t = "" if path is None else t.rstrip(" \n\t")
        if t:
            out[-1] = (t, path)
            break
        out.pop()
    if out and out[0][0].startswith("\n"):  # <pre>'s leading newline
        out[0] = (out[0][0].lstrip("\n"), out[0][1])
    return [(t, p) for t, p in out if t]


class Emitter:
    """Writes segments into the builder with one anchor per segment piece (calls must be in order)."""

    def __init__(self, b: DocumentBuilder, segs: list[tuple[str, str | None]]) -> None:
        self.b = b
        self.segs = segs
        self.text = "".join(t for t, _ in segs)
        self._i = 0  # first segment that may still be emitted
        self._pos = 0  # its start offset

    def emit(self, start: int, end: int) -> None:
        i, pos = self._i, self._pos
        while i < len(self.segs) and pos + len(self.segs[i][0]) <= start:
            pos += len(self.segs[i][0])
            i += 1
        self._i, self._pos = i, pos
        while i < len(self.segs) and pos < end:
            t, p = self.segs[i]
            s, e = max(start, pos), min(end, pos + len(t))
            if s < e:
                piece = t[s - pos : e - pos]
                if p is None:
                    self.b.sep(piece)
                else:
                    self.b.text(piece, Prov(dom_path=p))
            pos += len(t)
            i += 1

    def all(self) -> None:
        self.emit(0, len(self.text))

    def lines(self) -> list[tuple[int, int]]:
        out: list[tuple[int, int]] = []
        pos = 0
        for seg in self.text.split("\n"):
            out.append((pos, pos + len(seg)))
            pos += len(seg) + 1
        return out


def common_path(paths: list[str], default: str) -> str:
    if not paths:
        return default
    parts = paths[0].split("/")
    for p in paths[1:]:
        q = p.split("/")
        n = 0
        while n < len(parts) and n < len(q) and parts[n] == q[n]:
            n += 1
        parts = parts[:n]
    return "/".join(parts) or default

