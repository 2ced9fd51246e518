"""Paragraphs that run on across a column break (evidex.parse.pdf.parser's blocks, in reading order).

A block that starts a new column (its first line above the previous block's last line) in the same style
(visibility, weight, size within 8 %) continues the previous block's paragraph when the previous block ends
in a word hyphenated onto it (layout.hyphen_join) or when it starts in lowercase after a line with no
closing punctuation (. ! ? : ;). The two become one block, so the paragraph is one node and the hyphenated
word is joined (its two parts keep their own boxes). Blocks on different pages are never joined.
"""

from __future__ import annotations

from evidex.parse.pdf.tables import Table
from evidex.structure.layout import Block, hyphen_join

__all__ = ["continues", "merge_continued"]


def continues(a: Block, b: Block) -> bool:
    """Does block ``b`` continue the paragraph of block ``a`` across a column break? ``b`` starts above
    ``a``'s last line (a new column), in the same style, and either ``a`` ends in a word hyphenated onto
    ``b`` or ``b`` starts in lowercase after a line with no closing punctuation."""
    la, lb = a.lines[-1], b.lines[0]
    if lb.y0 >= la.y0 or la.hidden != lb.hidden or la.bold != lb.bold:
        return False
    if abs(la.size - lb.size) > 0.08 * max(la.size, lb.size):
        return False
    first = lb.words[0].text
    if hyphen_join(la.words[-1], lb.words[0]) is not None:
        return True
    return first[:1].islower() and la.text.rstrip()[-1:] not in ".!?:;"


def merge_continued(elements: list[Block | Table]) -> list[Block | Table]:
    out: list[Block | Table] = []
    for el in elements:
        prev = out[-1] if out else None
        if isinstance(el, Block) and isinstance(prev, Block) and continues(prev, el):
            out[-1] = Block([*prev.lines, *el.lines])
        else:
            out.append(el)
    return out
