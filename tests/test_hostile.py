"""The hostile corpus (tests/hostile.py): every file ends in a typed error or a correct, bounded parse.

Everything runs through :func:`evidex.parse.sandbox.parse_isolated`, so a parser that hangs or crashes on a
case fails that case (as ``TIMEOUT`` / ``WORKER_CRASHED``) instead of taking the test run down. Cases whose
parser has not landed yet are skipped with a message naming the missing module.
"""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path

import pytest

from evidex import registry
from evidex.errors import DocumentError
from evidex.model import Document
from evidex.parse.sandbox import parse_isolated
from hostile import CASES, HOSTILE_LIMITS, Case, good_files
from oracle import check_document

CASE_SECONDS = 15.0  # generous: includes worker start-up; the watchdog stops anything at HOSTILE_LIMITS.timeout_s


def missing_parsers(names: tuple[str, ...]) -> list[str]:
    out = []
    for name in names:
        target = registry.parsers._targets.get(name) if name in registry.parsers else None
        module = target.partition(":")[0] if isinstance(target, str) else None
        if name not in registry.parsers or (module is not None and importlib.util.find_spec(module) is None):
            out.append(f"{name} ({module or 'not registered'})")
    return out


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("hostile")
    paths: dict[str, Path] = {}
    for case in CASES:
        d = root / case.name
        d.mkdir()
        p = d / case.filename
        case.make(p)
        paths[case.name] = p
    return paths


def check_outcome(case: Case, result: Document | DocumentError) -> None:
    if isinstance(result, DocumentError):
        assert isinstance(result, case.errors), (
            f"{case.name}: got {type(result).__name__} ({result.reason}: {result.message}); "
            f"expected {[e.__name__ for e in case.errors]}{' or a document' if case.ok else ''}"
        )
        assert result.code.startswith("EVX-D") and result.path, result
        return
    assert case.ok, f"{case.name}: parsed without error; expected {[e.__name__ for e in case.errors]}"
    check_document(result)
    assert len(result.text) <= HOSTILE_LIMITS.max_text_chars
    if case.check is not None:
        case.check(result)


def test_corpus_is_large_enough() -> None:
    assert len(CASES) >= 25
    assert len({c.name for c in CASES}) == len(CASES)
    assert all(c.errors or c.ok for c in CASES)


def test_every_case_expects_one_outcome_and_checks_content() -> None:
    """A case accepting "a document or an error" passes whatever the parser does; each case names one outcome,
    and a case that should parse says what must be in the document."""
    for c in CASES:
        assert bool(c.errors) != c.ok, f"{c.name}: expects both an error and a document"
        assert not c.ok or c.check is not None, f"{c.name}: parses, but nothing checks the content"


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_case(case: Case, corpus: dict[str, Path]) -> None:
    missing = missing_parsers(case.needs)
    if missing:
        pytest.skip(f"parser not available yet: {', '.join(missing)}")
    path = corpus[case.name]
    t = time.monotonic()
    results = list(parse_isolated([path], limits=HOSTILE_LIMITS))
    elapsed = time.monotonic() - t
    assert len(results) == 1 and results[0][0] == str(path)
    try:
        check_outcome(case, results[0][1])
        assert elapsed < CASE_SECONDS, f"{case.name} took {elapsed:.1f} s"
    except AssertionError:
        if case.known_issue:
            pytest.xfail(f"known issue: {case.known_issue}")
        raise


def test_mixed_batch_completes_every_good_file(corpus: dict[str, Path], tmp_path: Path) -> None:
    good: dict[str, str] = {}
    for name, data, phrase in good_files():
        fmt = {"eml": "eml", "txt": "text", "csv": "csv", "html": "html", "pdf": "pdf"}[name.rsplit(".", 1)[1]]
        if missing_parsers((fmt,)):
            continue
        p = tmp_path / name
        p.write_bytes(data)
        good[str(p)] = phrase
    for i in range(3 - len(good)):  # other parsers not landed yet: e-mail is always there
        p = tmp_path / f"extra{i}.eml"
        p.write_bytes(b"From: a@example.org\nSubject: extra %d\n\nextra body %d\n" % (i, i))
        good[str(p)] = f"extra body {i}"
    assert len(good) >= 3
    runnable = {str(corpus[c.name]): c for c in CASES if not missing_parsers(c.needs)}
    paths = [*good][:1] + list(runnable) + [*good][1:]  # good files before, among and after the bad ones
    t = time.monotonic()
    seen: dict[str, Document | DocumentError] = {}
    for path, result in parse_isolated(paths, limits=HOSTILE_LIMITS, workers=2):
        assert path not in seen, f"two results for {path}"
        seen[path] = result
    elapsed = time.monotonic() - t
    assert sorted(seen) == sorted(paths), "every input gets exactly one result"
    for path, phrase in good.items():
        doc = seen[path]
        assert isinstance(doc, Document), f"good file {path} failed: {doc}"
        check_document(doc)
        assert phrase in doc.text
    failures = []
    for path, case in runnable.items():
        try:
            check_outcome(case, seen[path])
        except AssertionError as e:
            if not case.known_issue:  # known issues are reported by test_hostile_case as xfail
                failures.append(str(e).splitlines()[0])
    assert not failures, "\n".join(failures)
    assert elapsed < 120
