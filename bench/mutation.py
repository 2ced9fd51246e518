"""Targeted mutation check: does the test suite notice when an important behaviour is broken?

Each :class:`Mutant` replaces one exact snippet of a core module (span/offset maps, grounding, normalizers,
HTML layers, metrics, the parse sandbox) with a plausible bug, then runs only the tests that should notice
(``pytest -x -q``). A mutant is *killed* when those tests fail, and *survives* when they stay green.

Mutants are applied to a private copy of ``src/`` in a temporary directory, put first on ``PYTHONPATH``
(the editable install's path comes later), so the working tree is never modified — not even for a moment —
and other people's runs in the same checkout are unaffected. Before the mutants, each test selection runs
once on the unmutated copy: a selection that fails there cannot kill anything and is reported as an error.

A mutant with ``why`` is an expected survivor (an equivalent mutant, or behaviour no test can observe); its
explanation goes into the report. The run fails (exit 1) when a mutant survives without an explanation, when
a snippet no longer matches the source (the mutant list needs updating), or when a baseline fails.

    python bench/mutation.py                      # all mutants, working tree; prints a table
    python bench/mutation.py --write docs/mutation.md
    python bench/mutation.py --only metrics- html-opacity --from-git HEAD
    python bench/mutation.py --list               # just check every snippet still matches (no tests run)

Not part of the CI time budget (it takes several minutes); run it before calling a capability done.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

HTML = ("tests/test_parse_html.py", "-k", "not property")
METRICS = ("tests/test_eval_metrics.py", "tests/test_eval_datasets.py")
SPANS = ("tests/test_model_span_map.py", "tests/test_model_document.py")
GROUND = ("tests/test_ground.py",)
NORMALIZE = ("tests/test_normalize.py", "tests/test_ground.py")
SANDBOX = ("tests/test_sandbox.py",)


@dataclass(frozen=True)
class Mutant:
    name: str
    path: str  # relative to src/evidex
    old: str  # must occur exactly once
    new: str
    tests: tuple[str, ...]  # pytest arguments (files, -k expressions)
    what: str  # the bug the mutant plants
    why: str = ""  # set for an expected survivor: why no test can (or needs to) kill it


MUTANTS: tuple[Mutant, ...] = (
    # ------------------------------------------------------------------ HTML layers (parse/html/layers.py)
    Mutant("html-visibility", "parse/html/layers.py",
           r'r"(?:^|;)\s*(?:display\s*:\s*none|visibility\s*:\s*(?:hidden|collapse)"',
           r'r"(?:^|;)\s*(?:display\s*:\s*none"', HTML, "visibility:hidden/collapse no longer hides"),
    Mutant("html-opacity", "parse/html/layers.py",
           r'r"|opacity\s*:\s*(?:0+(?:\.0*)?|\.0+)\s*(?:!important)?\s*(?:;|$))"', 'r")"', HTML,
           "opacity:0 no longer hides"),
    Mutant("html-display-none", "parse/html/layers.py", r"(?:display\s*:\s*none|", r"(?:display\s*:\s*nothing|",
           HTML, "display:none no longer hides"),
    Mutant("html-closed-dialog", "parse/html/layers.py", 'if tag == "dialog" and el.get("open") is None:',
           'if tag == "dialog" and False:', HTML, "a closed <dialog> is read as body text"),
    Mutant("html-hidden-input", "parse/html/layers.py", 'if tag == "input" and (el.get("type") or "").lower() == "hidden":',
           "if False:", HTML, "<input type=hidden> not treated as hidden",
           why="equivalent: <input> is a void element in both tree builders (libxml2 and the fallback), so it never "
               "holds text to hide; tests/test_parse_html.py::test_hidden_input_value_never_reaches_the_text pins "
               "the behaviour (the value is in no layer, the text around it is body)"),
    Mutant("html-hidden-attribute", "parse/html/layers.py", 'if el.get("hidden") is not None:', "if False:", HTML,
           "the hidden attribute is ignored"),
    Mutant("html-aria-hidden", "parse/html/layers.py", 'return "aria-hidden"', "return None", HTML,
           "aria-hidden=true is ignored"),
    Mutant("html-template", "parse/html/layers.py", 'if tag == "template":', 'if tag == "tmpl":', HTML,
           "<template> content is read as body text"),
    Mutant("html-zero-font-override", "parse/html/layers.py",
           "if _ZERO_FONT.search(style) is not None and not sets_font_size(el):",
           "if _ZERO_FONT.search(style) is not None:", HTML, "font-size:0 hides even when the element resizes itself"),
    Mutant("html-zero-font-first-wins", "parse/html/layers.py",
           "if _ZERO_FONT.search(style) is not None and not sets_font_size(el):",
           "if _ZERO_FONT.search(style) is not None and _OWN_FONT.search(style) is None:", HTML,
           "any non-zero font-size declaration cancels font-size:0, even an earlier one (the bug fixed here)"),
    Mutant("html-nav-furniture", "parse/html/layers.py", 'if tag in ("nav", "aside") or role in _FURNITURE_ROLES:',
           'if tag in ("aside",) or role in _FURNITURE_ROLES:', HTML, "<nav> is body text"),
    Mutant("html-banner-size", "parse/html/layers.py", "BANNER_MAX_CHARS = 600", "BANNER_MAX_CHARS = 60000", HTML,
           "a long consent section of a policy becomes furniture"),
    Mutant("html-sectioning-header", "parse/html/layers.py", 'if tag == "header" and not sectioning:',
           'if tag == "header":', HTML, "an <article>'s <header> becomes page furniture"),
    # ------------------------------------------------------------------ metrics (eval/metrics.py)
    Mutant("metrics-set-matching", "eval/metrics.py", "matched = sum((g & p).values())",
           "matched = len(set(g) & set(p))", METRICS, "matches counted on sets, totals on multisets"),
    Mutant("metrics-set-matching-real-data", "eval/metrics.py", "matched = sum((g & p).values())",
           "matched = len(set(g) & set(p))", ("tests/test_eval_datasets.py", "-k", "kleister"),
           "the same set matching, against the real Kleister-NDA labels only"),
    Mutant("metrics-set-everything", "eval/metrics.py", "g, p = Counter(gold), Counter(pred)",
           "g, p = Counter(set(gold)), Counter(set(pred))", METRICS, "duplicates dropped on both sides"),
    Mutant("metrics-vacuous-precision", "eval/metrics.py",
           "return self.tp / (self.tp + self.fp) if self.tp + self.fp > 0 else 1.0",
           "return self.tp / (self.tp + self.fp) if self.tp + self.fp > 0 else 0.0", METRICS,
           "precision 0 (not 1) when nothing was predicted"),
    Mutant("metrics-kleister-case", "eval/metrics.py", 'e = [t.upper() if uppercase else t for t in exp]',
           "e = list(exp)", METRICS, "Kleister F1(UC) compares gold with its original case"),
    Mutant("metrics-kleister-party-commas", "eval/metrics.py", 'text = text.replace(",", " ")', "text = text",
           METRICS, "party names keep their commas (labels drop them)"),
    Mutant("metrics-cuad-threshold", "eval/metrics.py", "return cuad_jaccard(gold, pred) >= threshold or",
           "return cuad_jaccard(gold, pred) > threshold or", METRICS, "Jaccard exactly 0.5 no longer matches"),
    Mutant("metrics-cuad-monotone", "eval/metrics.py", "precisions[i] = max(precisions[i], precisions[i + 1])",
           "precisions[i] = precisions[i]", METRICS, "the PR curve is not made monotone before AUPR"),
    Mutant("metrics-overlap-touching", "eval/metrics.py",
           "adj = [[j for j, q in enumerate(gs) if p.start < q.end and q.start < p.end] for p in ps]",
           "adj = [[j for j, q in enumerate(gs) if p.start <= q.end and q.start <= p.end] for p in ps]", METRICS,
           "touching spans count as overlapping"),
    Mutant("metrics-greedy-matching", "eval/metrics.py", "if v not in match_right or augment(match_right[v], seen):",
           "if v not in match_right:", METRICS, "greedy instead of maximum matching"),
    Mutant("metrics-swde-any-prediction", "eval/metrics.py", "correct = 1 if p is not None and p in g else 0",
           "correct = 1 if p is not None and any(normalize(x) in g for x in pred) else 0", METRICS,
           "SWDE credits any predicted value, not only the top one"),
    Mutant("metrics-anls-tau", "eval/metrics.py", "best = max(best, 1.0 - nl if nl < tau else 0.0)",
           "best = max(best, 1.0 - nl if nl <= tau else 0.0)", METRICS, "ANLS keeps NL = τ"),
    Mutant("metrics-blank-evidence", "eval/metrics.py", 'if str(ev["text"]).strip():', 'if str(ev["text"]):',
           METRICS, "whitespace-only evidence counts as grounded"),
    Mutant("metrics-bio-orphan-i", "eval/metrics.py", 'begins = prefix == "B" or (prefix == "I" and label != cur)',
           'begins = prefix == "B"', METRICS, "an I- tag without its B- is dropped (conlleval starts an entity)"),
    # ------------------------------------------------------------------ spans and offset maps (model/)
    Mutant("span-overlaps-empty", "model/span.py",
           "return self.start < other.end and other.start < self.end and self.start < self.end and other.start < other.end",
           "return self.start < other.end and other.start < self.end", SPANS, "an empty span overlaps its container"),
    Mutant("span-merge-touching", "model/span.py", "if out and s.start <= out[-1].end:", "if out and s.start < out[-1].end:",
           SPANS, "touching spans are not merged"),
    Mutant("span-intersection-empty", "model/span.py", "return Span(s, e) if s < e else None",
           "return Span(s, e) if s <= e else None", SPANS, "touching spans intersect in an empty span"),
    Mutant("map-coarse-end", "model/textview.py", "return s.se if pos > s.vs else s.ss", "return s.se", SPANS,
           "an end at the start of a coarse segment widens to its end"),
    Mutant("map-coarse-start", "model/textview.py", "return s.ss if pos < s.ve else s.se", "return s.ss", SPANS,
           "a start at the end of a coarse segment maps to its start"),
    Mutant("map-end-segment", "model/textview.py", "i = bisect.bisect_left(self._vstarts, pos) - 1",
           "i = bisect.bisect_right(self._vstarts, pos) - 1", SPANS, "an exclusive end is looked up as a start"),
    Mutant("map-to-source-shrinks", "model/textview.py", "                x, y = s.ss, s.se\n            if s.is_insertion:",
           "                x, y = s.ss, s.ss + (b - a)\n            if s.is_insertion:", SPANS,
           "a span touching a coarse segment shrinks instead of widening"),
    Mutant("map-from-source-touching", "model/textview.py", "if a > b or (a == b and not span.empty):", "if a >= b:",
           SPANS, "an empty source span is never found in the view"),
    Mutant("map-compose-coarse", "model/textview.py", "coarse=not s.is_insertion", "coarse=False", SPANS,
           "composition turns coarse segments into copies"),
    Mutant("map-copy-ignores-coarse", "model/textview.py",
           "return not self.coarse and self.ve - self.vs == self.se - self.ss and self.ve > self.vs",
           "return self.ve - self.vs == self.se - self.ss and self.ve > self.vs", SPANS,
           "an explicitly coarse segment of equal length maps char by char"),
    # ------------------------------------------------------------------ grounding (ground/align.py)
    Mutant("ground-number-inside-number", "ground/align.py",
           'if s >= 2 and a.isdigit() and text[s - 1] in ".," and text[s - 2].isdigit():', "if False:", GROUND,
           "a number may match the tail of a longer number (50 in 12.50)"),
    Mutant("ground-fuzzy-numbers", "ground/align.py", "if fuzzy and not numeric:", "if fuzzy:", GROUND,
           "numbers and dates are fuzzy-matched (one wrong digit accepted)"),
    Mutant("ground-hint-inside", "ground/align.py", "    if hint.contains(span):\n        return 0, 0",
           "    if hint.contains(span):\n        return 1, 0", GROUND, "a mention inside the hint no longer wins"),
    Mutant("ground-widen-words", "ground/align.py", "cap = m // 4 + 2\n    k = 0", "cap = 0\n    k = 0", GROUND,
           "fuzzy spans are not widened to whole words"),
    Mutant("ground-view-anywhere", "ground/align.py", "c = ground(value_raw, source_text, hint=mapped, region=near, **kw)",
           "c = ground(value_raw, source_text, hint=mapped, region=None, **kw)", GROUND,
           "a view value is re-grounded anywhere in the source, not near where the view put it"),
    Mutant("ground-fuzzy-status", "ground/align.py",
           "status = Grounding.NORMALIZED if best[0] >= 1.0 else Grounding.FUZZY", "status = Grounding.NORMALIZED",
           GROUND, "approximate matches are reported as NORMALIZED"),
    Mutant("ground-currency-filter", "ground/align.py",
           "if currency and t.currencies and currency not in t.currencies:", "if False:", GROUND,
           "an amount in another currency supports a money value"),
    Mutant("ground-text-boundary", "ground/align.py", 'post = "" if _NO_BOUNDARY_RE.match(last) else r"(?![^\\W_])"',
           'post = ""', GROUND, "a normalized match may stop inside a word"),
    # ------------------------------------------------------------------ normalizers (ground/normalize, numbers, dates)
    Mutant("dates-two-digit-pivot", "scan/dates.py", "y += 1900 if y >= 69 else 2000", "y += 1900 if y >= 50 else 2000",
           NORMALIZE, "two-digit years 50-68 become 19xx"),
    Mutant("numbers-last-group", "scan/numbers.py", "if len(rest[-1]) != 3:", "if len(rest[-1]) > 3:", NORMALIZE,
           "1,57 reads as a thousands grouping"),
    Mutant("numbers-indian-grouping", "scan/numbers.py",
           "return all(len(g) == 3 for g in mids) or (len(first) <= 2 and all(len(g) == 2 for g in mids))",
           "return all(len(g) == 3 for g in mids)", NORMALIZE, "Indian grouping 15,75,000 rejected"),
    Mutant("numbers-double-negative", "scan/numbers.py", "if negs > 1:", "if negs > 2:", NORMALIZE,
           "(-5) and -5- accepted as negatives"),
    Mutant("normalize-enum-ties", "ground/normalize.py",
           "if best >= threshold and (len(scored) == 1 or scored[1][0] < best):", "if best >= threshold:", NORMALIZE,
           "a tie between two enum choices is broken arbitrarily"),
    Mutant("normalize-nulls", "ground/normalize.py", 'NULLS = frozenset({"", "null", "none", "n/a",',
           'NULLS = frozenset({"", "null", "none",', NORMALIZE, "'n/a' is a value, not a null"),
    # ------------------------------------------------------------------ the parse sandbox (parse/sandbox.py)
    Mutant("sandbox-retries", "parse/sandbox.py", "if attempts[task.tid] <= retries:", "if attempts[task.tid] < retries:",
           (*SANDBOX, "-k", "retries"), "one retry fewer than asked for"),
    Mutant("sandbox-crash-type", "parse/sandbox.py",
           'yield task.name, WorkerCrashedError(f"parser worker {how}{tries}", path=task.name)',
           'yield task.name, MalformedError(f"parser worker {how}{tries}", path=task.name)',
           (*SANDBOX, "-k", "fails_alone and segfault"), "a crashed worker is reported as a malformed file"),
    Mutant("sandbox-exception-escapes", "parse/sandbox.py",
           'return MalformedError(f"parser failed: {type(e).__name__}: {e}"[:500], path=name)', "raise",
           (*SANDBOX, "-k", "fails_alone and raise"), "a parser exception kills the worker"),
    Mutant("sandbox-slow-watchdog", "parse/sandbox.py", "elif now >= w.deadline:", "elif now >= w.deadline + 20:",
           (*SANDBOX, "-k", "fails_alone and hang"), "the watchdog stops a hung parser 20 s late"),
    Mutant("sandbox-no-recycle-after-oom", "parse/sandbox.py",
           "if isinstance(result, MemoryLimitError) or w.done >= MAX_TASKS_PER_WORKER:",
           "if w.done >= MAX_TASKS_PER_WORKER:", (*SANDBOX, "-k", "oom or memory_limit_is_not_reused"),
           "a worker that hit the memory limit is reused"),
    Mutant("sandbox-recursion-error", "parse/sandbox.py",
           '    except RecursionError:\n        return NestingLimitError("structure nested too deeply to parse", path=name)\n',
           "", (*SANDBOX, "-k", "typed_errors"), "a RecursionError is reported as MALFORMED, not NESTING_LIMIT"),
)


@dataclass
class Outcome:
    mutant: Mutant
    status: str  # killed | survived | stale | error
    seconds: float
    detail: str = ""


def _pytest(tests: tuple[str, ...], env: dict[str, str], timeout: float, cwd: Path) -> tuple[int | None, str]:
    """Run from ``cwd`` (the temporary directory) with a fixed hypothesis seed: property tests draw the same
    examples for every mutant, and their example database is private to this run — a mutant is killed by
    what the tests check, not by what hypothesis happened to draw or remember."""
    args = [str(ROOT / a) if a.startswith("tests/") else a for a in tests]
    cmd = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "--no-header", "--rootdir", str(ROOT),
           "-c", str(ROOT / "pyproject.toml"), "--hypothesis-seed=0", *args]
    try:
        r = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, f"timed out after {timeout:g} s"
    lines = [ln for ln in (r.stdout + r.stderr).splitlines() if ln.strip()]
    failed = next((ln.split(" - ")[0].split()[-1] for ln in lines if ln.startswith(("FAILED ", "ERROR "))), None)
    if failed is not None:  # name the test that noticed: tests/test_x.py::test_y[param]
        return r.returncode, "killed by " + (failed[failed.index("tests/"):] if "tests/" in failed else failed)
    return r.returncode, (lines[-1] if lines else "")


def _copy_src(dest: Path, rev: str | None) -> None:
    if rev is None:
        shutil.copytree(ROOT / "src", dest / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        return
    archive = subprocess.run(["git", "archive", rev, "src"], cwd=ROOT, capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)


def _env(src: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(src), *filter(None, [env.get("PYTHONPATH")])])
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # a mutant and its restore can share size and mtime: never reuse .pyc
    for var in ("CI", "EVIDEX_REQUIRE_ALL"):  # a subset run must not fail on the must-run skip rule
        env.pop(var, None)
    return env


def check_snippets(mutants: tuple[Mutant, ...], src: Path) -> list[Outcome]:
    bad = []
    for m in mutants:
        n = (src / "evidex" / m.path).read_text(encoding="utf-8").count(m.old)
        if n != 1:
            bad.append(Outcome(m, "stale", 0.0, f"snippet found {n} times in src/evidex/{m.path}"))
    return bad


def run(mutants: tuple[Mutant, ...], rev: str | None, timeout: float, baseline: bool) -> list[Outcome]:
    outcomes: list[Outcome] = []
    with tempfile.TemporaryDirectory(prefix="evidex-mutation-") as tmp:
        _copy_src(Path(tmp), rev)
        src = Path(tmp) / "src"
        env = _env(src)
        probe = subprocess.run([sys.executable, "-c", "import evidex; print(evidex.__file__)"], env=env,
                               capture_output=True, text=True, check=True).stdout.strip()
        if not probe.startswith(str(src)):
            raise SystemExit(f"the mutated copy is not the one imported ({probe}); is PYTHONPATH overridden?")
        stale = {o.mutant.name: o for o in check_snippets(mutants, src)}
        broken: dict[tuple[str, ...], str] = {}
        if baseline:
            for tests in dict.fromkeys(m.tests for m in mutants if m.name not in stale):
                t0 = time.monotonic()
                rc, tail = _pytest(tests, env, timeout, Path(tmp))
                print(f"baseline {' '.join(tests)}: {'ok' if rc == 0 else 'FAILED'} ({time.monotonic() - t0:.0f} s)",
                      flush=True)
                if rc != 0:
                    broken[tests] = f"baseline fails: {tail}"
        for m in mutants:
            if m.name in stale:
                outcomes.append(stale[m.name])
                print(f"{m.name:32} STALE   {stale[m.name].detail}", flush=True)
                continue
            if m.tests in broken:
                outcomes.append(Outcome(m, "error", 0.0, broken[m.tests]))
                continue
            target = src / "evidex" / m.path
            original = target.read_text(encoding="utf-8")
            t0 = time.monotonic()
            try:
                target.write_text(original.replace(m.old, m.new, 1), encoding="utf-8")
                rc, tail = _pytest(m.tests, env, timeout, Path(tmp))
            finally:
                target.write_text(original, encoding="utf-8")
            secs = time.monotonic() - t0
            if rc == 0:
                status = "survived"
            elif rc in (None, 1, 2, 3):  # failed, interrupted/collection error, internal error, timeout
                status = "killed"
            else:  # 4 usage error, 5 nothing collected: the selection is wrong, not the code
                status = "error"
            outcomes.append(Outcome(m, status, secs, tail))
            print(f"{m.name:32} {status.upper():8} {secs:5.0f} s  {tail[:100]}", flush=True)
    return outcomes


def _cell(s: str) -> str:
    return s.replace("|", "\\|").replace("\n", " ").replace("<", "&lt;")


END = "<!-- end of the generated report: notes below are kept by bench/mutation.py --write -->"


def report(outcomes: list[Outcome], rev: str | None, elapsed: float) -> str:
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    killed = sum(o.status == "killed" for o in outcomes)
    lines = [
        "# Mutation check",
        "",
        "`make mutation` (= `.venv/bin/python bench/mutation.py --write docs/mutation.md`) plants one targeted bug",
        "at a time in a private copy of `src/` (the working tree is never touched), runs only the tests that",
        "should notice (`pytest -x -q`), and records whether they did. The mutants are listed, with the tests they",
        "run, in `bench/mutation.py`. Not part of the CI time budget: run it before calling a capability done.",
        "An expected survivor carries an explanation; an unexplained survivor, a stale snippet or a failing",
        "baseline makes the command fail.",
        "",
        f"Last run: {dt.date.today().isoformat()} on {'commit ' + rev if rev else 'the working tree at ' + head}, "
        f"{len(outcomes)} mutants, {killed} killed, {elapsed / 60:.1f} min.",
        "",
        "| mutant | module | planted bug | result | tests run | note |",
        "|---|---|---|---|---|---|",
    ]
    for o in outcomes:
        m = o.mutant
        note = m.why if o.status == "survived" and m.why else o.detail
        if o.status == "killed" and m.why:
            note = "expected to survive, but killed: " + o.detail
        lines.append(f"| `{m.name}` | `{m.path}` | {_cell(m.what)} | **{o.status}** | `{_cell(' '.join(m.tests))}` "
                     f"| {_cell(note)} |")
    survivors = [o for o in outcomes if o.status == "survived"]
    lines += ["", "## Survivors", ""]
    if not survivors:
        lines.append("None.")
    for o in survivors:
        lines.append(f"* `{o.mutant.name}` — {_cell(o.mutant.what)}: "
                     f"{_cell(o.mutant.why) if o.mutant.why else 'UNEXPLAINED: add a test or an explanation'}")
    return "\n".join(lines) + "\n\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", nargs="+", metavar="PREFIX", help="run mutants whose name starts with one of these")
    ap.add_argument("--from-git", metavar="REV", help="mutate this commit's src/ instead of the working tree")
    ap.add_argument("--write", metavar="MD", help="write the report (markdown) to this file")
    ap.add_argument("--list", action="store_true", help="check that every snippet matches; run no tests")
    ap.add_argument("--no-baseline", action="store_true", help="skip the unmutated baseline runs")
    ap.add_argument("--timeout", type=float, default=600, help="seconds per pytest run (default 600)")
    args = ap.parse_args(argv)
    mutants = tuple(m for m in MUTANTS if not args.only or m.name.startswith(tuple(args.only)))
    if not mutants:
        ap.error("no mutant matches --only")
    if args.list:
        with tempfile.TemporaryDirectory(prefix="evidex-mutation-") as tmp:
            _copy_src(Path(tmp), args.from_git)
            stale = check_snippets(mutants, Path(tmp) / "src")
        for m in mutants:
            print(f"{m.name:32} {m.path:24} {m.what}")
        for o in stale:
            print(f"STALE {o.mutant.name}: {o.detail}")
        return 1 if stale else 0
    t0 = time.monotonic()
    outcomes = run(mutants, args.from_git, args.timeout, not args.no_baseline)
    text = report(outcomes, args.from_git, time.monotonic() - t0)
    if args.write:
        out = Path(args.write)
        old = out.read_text(encoding="utf-8") if out.exists() else ""
        if END in old:  # keep the hand-written notes after the generated part
            text += old[old.index(END):]
        else:
            text += END + "\n"
        out.write_text(text, encoding="utf-8")
        print(f"report written to {args.write}")
    counts = {s: sum(o.status == s for o in outcomes) for s in ("killed", "survived", "stale", "error")}
    print(", ".join(f"{v} {k}" for k, v in counts.items()))
    unexplained = [o.mutant.name for o in outcomes if o.status == "survived" and not o.mutant.why]
    if unexplained:
        print("unexplained survivors: " + ", ".join(unexplained))
    return 1 if unexplained or counts["stale"] or counts["error"] else 0


if __name__ == "__main__":
    sys.exit(main())
