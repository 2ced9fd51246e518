"""HTML and XHTML: a DOM tree, block segmentation, hidden/furniture layers, key-values from definition lists and tables.

Blocks come from how a browser lays the page out: block-level elements (div, p, section, headings, lists,
dl/dt/dd, tables, forms, blockquote, pre, hr …) break, ``<br>`` breaks a line inside a block, inline elements
(span, a, b, font …) do not; the page's own CSS ``display`` (block/flex/grid/list-item vs inline/inline-block)
overrides the tag. Tables that lay out a page (``tables.py``: nested tables, block content in cells, label:value
forms, one-cell boxes) are read as blocks, their inline cells side by side on one line; data tables keep
TABLE/ROW/CELL nodes. "Label: value" lines (also across a label cell and a value cell) become key–values.

Hidden layer — text a *sighted reader* of the rendered page cannot see (``css.py`` applies the page's own
``<style>`` rules with the CSS cascade, plus inline styles and legacy attributes):

* ``display:none``, ``visibility:hidden/collapse``, ``content-visibility:hidden``, ``opacity:0``,
  ``font-size:0`` (text no descendant resizes), the ``hidden`` attribute, ``<template>``, a closed
  ``<dialog>``, hidden inputs, comments;
* text whose colour equals (each channel within 8/255) the background painted under it, or is transparent.
  The background is the nearest ancestor's ``background``/``background-color``/``bgcolor``; a background
  image makes it unknown. A browser paints black on white by default — but when the page links external
  stylesheets, which are **not fetched** (parsing is offline), the default colours are unknown and only
  colours the page itself declares are compared;
* off-screen boxes: ``position:absolute/fixed`` with ``left``/``top``/``right`` ≤ -1000px, ``text-indent``
  ≤ -999px; ``clip-path: inset(≥50%)``; zero-size boxes (``width``/``height`` ≤ 1px with overflow hidden);
* **screen-reader-only text** (the ``sr-only``/``visually-hidden`` pattern: an absolutely positioned 1px box
  with ``clip: rect(0 0 0 0)`` or overflow hidden) is *hidden*: it is not painted, and it usually repeats
  what the page shows visually (an icon's label); extraction must not quote what a reader cannot see;
* ``aria-hidden="true"`` is **not** hidden: it only removes content from the accessibility tree while the
  browser still paints it (decorative or duplicated visible text, e.g. a price drawn next to its
  screen-reader twin).

With external stylesheets present (and only then), class names stand in for the rules we cannot read: the
utility classes ``hidden``, ``d-none``, ``hide``, ``is-hidden``, ``invisible``, ``sr-only``,
``visually-hidden``, ``screen-reader-text`` hide (unless the page's own CSS defines the class or a responsive
variant such as ``md:block``/``d-lg-block`` shows it), and overlays shown on demand — class/id words popup,
modal, dropdown, tooltip, popover, offcanvas, or role menu/tooltip/dialog — go to the furniture layer (the
keyboard-help modal and theme menu of mdBook manuals). ``visibility:visible`` under a hidden ancestor is not
honoured (the subtree stays hidden). Stylesheet work is bounded (``css.py``: size, rule, selector and time
caps with a ``CSS:`` warning).
"""
