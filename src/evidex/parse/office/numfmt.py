"""Excel number formats: a cell's value as Excel displays it (dates, currency, percentages, thousands
separators and scaling, zero padding, accounting sections, decimals rounded half away from zero)."""

from __future__ import annotations

import datetime as dt
import math
import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any


def _split_sections(fmt: str) -> list[str]:
    out, cur, q, esc = [], [], False, False
    for ch in fmt:
        if esc:
            cur.append(ch)
            esc = False
        elif ch == "\\":
            cur.append(ch)
            esc = True
        elif ch == '"':
            q = not q
            cur.append(ch)
        elif ch == ";" and not q:
            out.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    out.append("".join(cur))
    return out


def _general(v: float) -> str:
    if isinstance(v, int) or (isinstance(v, float) and v.is_integer() and abs(v) < 1e15):
        return str(int(v))
    s = f"{v:.10g}"
    if "e" in s:
        m, e = s.split("e")
        return f"{m}E{int(e):+03d}"
    return s


def _tokens(sec: str) -> list[tuple[str, str]]:
    """Split a format section into ("lit", text) and ("code", text) tokens."""
    out: list[tuple[str, str]] = []
    i = 0
    while i < len(sec):
        ch = sec[i]
        if ch == '"':
            j = sec.find('"', i + 1)
            j = len(sec) if j < 0 else j
            out.append(("lit", sec[i + 1 : j]))
            i = j + 1
        elif ch == "\\" and i + 1 < len(sec):
            out.append(("lit", sec[i + 1]))
            i += 2
        elif ch == "[":
            j = sec.find("]", i)
            j = len(sec) if j < 0 else j
            inner = sec[i + 1 : j]
            if inner.startswith("$"):
                out.append(("lit", inner[1:].split("-")[0]))
            i = j + 1
        elif ch in "_*":  # padding / fill: render nothing
            i += 2
        else:
            out.append(("code", ch))
            i += 1
    return out


_NUM_CORE = re.compile(r"[0#?][0#?,]*(?:\.[0#?]*)?(?:[Ee][+-][0#]+)?,*|\.[0#?]+,*")


def _round_half_up(x: float, places: int) -> str:
    """``x`` (≥ 0) with ``places`` decimals, halves rounded away from zero as Excel does (on the shortest repr)."""
    try:
        q = Decimal(repr(x)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    except InvalidOperation:  # more digits than the decimal context holds: binary rounding is as good
        return f"{x:.{places}f}"
    return f"{q:f}"


def _group(digits: str) -> str:
    """Thousands separators in a string of digits."""
    head = len(digits) % 3 or 3
    return ",".join([digits[:head]] + [digits[i : i + 3] for i in range(head, len(digits), 3)])


def format_number(v: float, fmt: str | None) -> str:
    """Render a number the way Excel displays it under ``fmt`` (the common cases; else General)."""
    if not fmt or fmt.lower() == "general" or "/" in fmt or not math.isfinite(v):
        return _general(v)
    secs = _split_sections(fmt)
    neg_sec = len(secs) >= 2 and v < 0
    if v == 0 and len(secs) >= 3:
        sec = secs[2]
    elif neg_sec:
        sec = secs[1]
    else:
        sec = secs[0]
    x = abs(v) if neg_sec else v
    toks = _tokens(sec)
    code = "".join(t for k, t in toks if k == "code")
    if code.strip().lower() == "general":
        return ("-" if v < 0 and not neg_sec else "") + _general(abs(x))
    if "@" in code and not re.search(r"[0#?]", code):
        return _general(v)
    m = _NUM_CORE.search(code)
    if m is None:  # only literals, e.g. "-" for zero
        return "".join(t for _, t in toks)
    if "%" in code:
        x *= 100
    core = m.group(0)
    scale = len(core) - len(core.rstrip(","))  # each trailing comma divides by 1,000 (#,##0, → thousands)
    core = core[: len(core) - scale]
    x /= 1000**scale
    sci = re.search(r"[Ee][+-]", core)
    intpart, _, frac = (core[: sci.start()] if sci else core).partition(".")
    dmin = frac.count("0")
    dmax = dmin + frac.count("#") + frac.count("?")
    if sci:
        num = f"{abs(x):.{dmax}E}"
        mant, exp = num.split("E")
        num = f"{mant}E{exp[0]}{exp[1:].lstrip('0').rjust(len(core) - sci.end(), '0')}"
    else:
        whole, _, dec = _round_half_up(abs(x), dmax).partition(".")
        dec = dec[:dmin] + dec[dmin:].rstrip("0")  # optional decimals (# ?) only when not zero
        whole = whole.lstrip("0").rjust(intpart.count("0"), "0")  # 000 pads; # and ? show no lone zero
        if "," in intpart and whole:
            whole = _group(whole)
        num = f"{whole}.{dec}" if dec else whole
    sign = "-" if x < 0 and not neg_sec and float(_round_half_up(abs(x), dmax)) != 0 else ""
    # rebuild: literals before the core, the number, literals after
    out: list[str] = []
    pos = 0  # position in `code`
    placed = False
    for kind, t in toks:
        if kind == "lit":
            out.append(t)
            continue
        if m.start() <= pos < m.end():
            if not placed:
                out.append(num)
                placed = True
        else:
            out.append(t)
        pos += 1
    return sign + "".join(out).strip()


_DATE_TOKEN = re.compile(r"yyyy|yy|mmmmm|mmmm|mmm|mm|m|dddd|ddd|dd|d|hh|h|ss|s|am/pm|a/p|\.0+", re.I)


def format_date(v: dt.date | dt.time, fmt: str | None) -> str:
    """Render a date/time with an Excel date format (falls back to ISO 8601)."""
    lits = _tokens(_split_sections(fmt)[0]) if fmt else []
    code = "".join(t for k, t in lits if k == "code")
    if not fmt or not re.search(r"[ymdhs]", code, re.I):
        if isinstance(v, dt.datetime):
            return v.date().isoformat() if v.time() == dt.time() else v.isoformat(sep=" ")
        return v.isoformat()
    d = v if isinstance(v, dt.date) else None
    t = v.time() if isinstance(v, dt.datetime) else (v if isinstance(v, dt.time) else dt.time())
    ampm = bool(re.search(r"am/pm|a/p", code, re.I))
    # rebuild with literals in place: walk tokens, matching date tokens inside code runs
    parts: list[str] = []
    run: list[str] = []

    def flush() -> None:
        s = "".join(run)
        run.clear()
        toks = list(_DATE_TOKEN.finditer(s))
        last = 0
        for i, mt in enumerate(toks):
            parts.append(s[last : mt.start()])
            last = mt.end()
            tok = mt.group(0)
            low = tok.lower()
            prev = toks[i - 1].group(0).lower() if i else ""
            nxt = toks[i + 1].group(0).lower() if i + 1 < len(toks) else ""
            minute = low in ("m", "mm") and (prev.startswith("h") or nxt.startswith("s"))
            parts.append(_date_part(low, d, t, ampm, minute))
        parts.append(s[last:])

    for kind, tx in lits:
        if kind == "lit":
            flush()
            parts.append(tx)
        else:
            run.append(tx)
    flush()
    return "".join(parts).strip()


_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December"]
_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def _date_part(tok: str, d: dt.date | None, t: dt.time, ampm: bool, minute: bool) -> str:
    if tok in ("am/pm", "a/p"):
        s = "AM" if t.hour < 12 else "PM"
        return s if tok == "am/pm" else s[0]
    if tok.startswith("h"):
        h = t.hour % 12 or 12 if ampm else t.hour
        return f"{h:02d}" if tok == "hh" else str(h)
    if minute:
        return f"{t.minute:02d}" if tok == "mm" else str(t.minute)
    if tok.startswith("s"):
        return f"{t.second:02d}" if tok == "ss" else str(t.second)
    if tok.startswith("."):
        return "." + f"{t.microsecond:06d}"[: len(tok) - 1]
    if d is None:
        return ""
    if tok == "yyyy":
        return f"{d.year:04d}"
    if tok == "yy":
        return f"{d.year % 100:02d}"
    if tok.startswith("m"):
        name = _MONTHS[d.month - 1]
        return {"mmmmm": name[0], "mmmm": name, "mmm": name[:3], "mm": f"{d.month:02d}"}.get(tok, str(d.month))
    if tok.startswith("d"):
        day = _DAYS[d.weekday()]
        return {"dddd": day, "ddd": day[:3], "dd": f"{d.day:02d}"}.get(tok, str(d.day))
    return tok


def display_value(v: Any, fmt: str | None) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, str):
        return v
    if isinstance(v, (dt.datetime, dt.date, dt.time)):
        return format_date(v, fmt)
    if isinstance(v, dt.timedelta):
        secs = int(v.total_seconds())
        return f"{secs // 3600}:{secs % 3600 // 60:02d}:{secs % 60:02d}"
    if isinstance(v, (int, float)):
        return format_number(v, fmt)
    return str(getattr(v, "text", v))


def value_type(v: Any, fmt: str | None) -> str:
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, (dt.datetime, dt.date, dt.time, dt.timedelta)):
        return "date"
    if isinstance(v, (int, float)):
        f = fmt or ""
        if "%" in f:
            return "percent"
        if re.search(r"[$€£¥₹]|\[\$", f):
            return "currency"
        return "number"
    return "text"


# ====================================================================== sheets → tables
