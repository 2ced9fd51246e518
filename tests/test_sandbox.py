"""parse_isolated: every misbehaving worker fails alone, with the right typed error, and the batch goes on."""

from __future__ import annotations

import multiprocessing
import pickle
import time
from pathlib import Path

import pytest

from evidex.errors import (
    DocumentError,
    FileMissingError,
    MalformedError,
    MemoryLimitError,
    NestingLimitError,
    NotAFileError,
    ParseTimeoutError,
    WorkerCrashedError,
)
from evidex.model import Document
from evidex.parse import Limits, parse_bytes, parse_many
from evidex.parse.sandbox import parse_bytes_isolated, parse_isolated
from oracle import check_document

# 6 s: the oom fault must reach the memory limit before the time limit also on a loaded machine
LIMITS = Limits(timeout_s=6, max_memory=768 * 1024 * 1024)


def _eml(i: int) -> bytes:
    return b"From: a@example.org\nSubject: message %d\n\nThe total of message %d is %d.00 EUR.\n" % (i, i, i * 10)


@pytest.fixture
def files(tmp_path: Path) -> list[Path]:
    out = []
    for i in range(3):
        p = tmp_path / f"good{i}.eml"
        p.write_bytes(_eml(i))
        out.append(p)
    bad = tmp_path / "victim.eml"
    bad.write_bytes(_eml(9))
    out.insert(1, bad)
    return out


def _run(paths: list[Path], **kw: object) -> dict[str, Document | DocumentError]:
    results: dict[str, Document | DocumentError] = {}
    for name, res in parse_isolated(paths, limits=LIMITS, **kw):  # type: ignore[arg-type]
        assert name not in results, f"two results for {name}"
        results[name] = res
    assert sorted(results) == sorted(str(p) for p in paths)
    return results


def _assert_good(results: dict[str, Document | DocumentError], paths: list[Path]) -> None:
    for p in paths:
        doc = results[str(p)]
        assert isinstance(doc, Document), doc
        check_document(doc)
        assert doc.text == parse_bytes(p.read_bytes(), p.name).text


@pytest.mark.parametrize(
    ("fault", "expected", "detail"),
    [
        ("segfault", WorkerCrashedError, "SIGSEGV"),
        ("abort", WorkerCrashedError, "SIGABRT"),
        ("exit", WorkerCrashedError, "status 3"),
        ("kill", WorkerCrashedError, "SIGKILL"),
        ("hang", ParseTimeoutError, "6 s"),
        ("oom", MemoryLimitError, "memory limit"),
        ("raise", MalformedError, "RuntimeError"),
    ],
)
def test_each_fault_fails_alone(files: list[Path], fault: str, expected: type[DocumentError], detail: str) -> None:
    victim = files[1]
    t = time.monotonic()
    results = _run(files, workers=1, _fault={victim.name: fault})
    elapsed = time.monotonic() - t
    err = results[str(victim)]
    assert type(err) is expected, err
    assert detail in err.message and err.path == str(victim)
    _assert_good(results, [p for p in files if p != victim])  # including the ones after the victim
    assert elapsed < LIMITS.timeout_s + 8


def test_mixed_faults_with_two_workers(tmp_path: Path) -> None:
    faults = {"f-segfault.eml": "segfault", "f-hang.eml": "hang", "f-oom.eml": "oom", "f-exit.eml": "exit"}
    paths = []
    for i, name in enumerate([*faults, "ok-a.eml", "ok-b.eml", "ok-c.eml", "ok-d.eml"]):
        p = tmp_path / name
        p.write_bytes(_eml(i))
        paths.append(p)
    t = time.monotonic()
    results = _run(paths, workers=2, _fault=faults)
    assert time.monotonic() - t < 20
    assert isinstance(results[str(tmp_path / "f-segfault.eml")], WorkerCrashedError)
    assert isinstance(results[str(tmp_path / "f-hang.eml")], ParseTimeoutError)
    assert isinstance(results[str(tmp_path / "f-oom.eml")], MemoryLimitError)
    assert isinstance(results[str(tmp_path / "f-exit.eml")], WorkerCrashedError)
    _assert_good(results, [p for p in paths if p.name.startswith("ok-")])


def test_crash_retries_are_counted(files: list[Path]) -> None:
    results = _run(files, retries=1, _fault={files[1].name: "exit"})
    err = results[str(files[1])]
    assert isinstance(err, WorkerCrashedError) and "2 attempts" in err.message
    _assert_good(results, [files[0], files[2], files[3]])


def test_worker_gone_without_crash_status_reruns_once(files: list[Path]) -> None:
    """A worker that closes its pipe and exits 0 mid-task has not shown the file to be at fault: the file runs once
    more on a fresh worker before it is reported (here it vanishes again, so it is reported, after 2 runs)."""
    results = _run(files, workers=2, _fault={files[1].name: "vanish"})
    err = results[str(files[1])]
    assert isinstance(err, WorkerCrashedError) and "status 0 (2 attempts)" in err.message, err
    _assert_good(results, [files[0], files[2], files[3]])


def test_input_errors_come_back_typed(tmp_path: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    results = _run([tmp_path / "missing.pdf", tmp_path, empty])
    assert isinstance(results[str(tmp_path / "missing.pdf")], FileMissingError)
    assert isinstance(results[str(tmp_path)], NotAFileError)
    assert results[str(empty)].reason == "EMPTY_INPUT"  # type: ignore[union-attr]


def test_results_equal_in_process_parse_and_pickle(files: list[Path]) -> None:
    rich = files[0].parent / "rich.eml"
    rich.write_bytes(
        b"From: a@example.org\nTo: b@example.org\nDate: Thu, 14 Mar 2024 10:00:00 +0000\n"
        b"MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=B\n\n"
        b"--B\nContent-Type: text/plain\n\nInvoice: 7\n\n--B\nContent-Type: text/plain\n"
        b"Content-Disposition: attachment; filename=a.txt\n\nattached\n--B--\n"
    )
    (_, doc), = list(parse_isolated([rich], limits=LIMITS))
    assert isinstance(doc, Document)
    local = parse_bytes(rich.read_bytes(), str(rich), path=str(rich.resolve()))
    assert doc.text == local.text and doc.nodes == local.nodes and doc.anchors == local.anchors
    assert dict(doc.metadata) == dict(local.metadata) and doc.warnings == local.warnings
    err = WorkerCrashedError("x", path="p")
    again = pickle.loads(pickle.dumps(err))
    assert type(again) is WorkerCrashedError and again.path == "p"


def test_parse_bytes_isolated(tmp_path: Path) -> None:
    doc = parse_bytes_isolated(_eml(4), "mem.eml", limits=LIMITS)
    assert "40.00 EUR" in doc.text and doc.source.name == "mem.eml"
    with pytest.raises(WorkerCrashedError):
        parse_bytes_isolated(_eml(4), "mem.eml", limits=LIMITS, _fault="segfault")
    with pytest.raises(ParseTimeoutError):
        parse_bytes_isolated(_eml(4), "mem.eml", limits=LIMITS.with_(timeout_s=1.0), _fault="sleep")


def test_parse_many_isolate_delegates(files: list[Path]) -> None:
    out = dict(parse_many(files, isolate=True, limits=LIMITS, workers=2))
    assert len(out) == 4 and all(isinstance(v, Document) for v in out.values())


def test_abandoned_iteration_stops_workers(files: list[Path]) -> None:
    before = set(multiprocessing.active_children())  # e.g. the session's model worker
    it = parse_isolated(files * 3, limits=LIMITS, workers=2)
    next(it)
    assert set(multiprocessing.active_children()) - before  # the parse workers are running
    it.close()
    deadline = time.monotonic() + 5
    while set(multiprocessing.active_children()) - before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert set(multiprocessing.active_children()) - before == set()


def test_workers_must_be_positive(files: list[Path]) -> None:
    with pytest.raises(ValueError, match="workers"):
        list(parse_isolated(files, workers=0))


def test_worker_that_hit_the_memory_limit_is_not_reused(files: list[Path]) -> None:
    """A worker that ran out of memory is replaced before the next file (mutant sandbox-no-recycle-after-oom
    kept it): when its result arrives, no worker this call started is still alive."""
    before = set(multiprocessing.active_children())
    # the memory limit must trip before the time limit, also on a loaded machine (the allocation takes time)
    limits = Limits(timeout_s=60, max_memory=LIMITS.max_memory)
    it = parse_isolated([files[1], files[0]], limits=limits, _fault={files[1].name: "oom"})
    name, first = next(it)
    assert name == str(files[1]) and isinstance(first, MemoryLimitError)
    assert set(multiprocessing.active_children()) - before == set()
    (name, second), = list(it)
    assert name == str(files[0]) and isinstance(second, Document)


@pytest.mark.parametrize(
    ("exc", "expected"), [(RecursionError, NestingLimitError), (MemoryError, MemoryLimitError), (KeyError, MalformedError)]
)
def test_worker_maps_parser_exceptions_to_typed_errors(
    monkeypatch: pytest.MonkeyPatch, exc: type[BaseException], expected: type[DocumentError]
) -> None:
    """What the worker sends back when a parser raises (run in process: no parser recurses deeply enough to
    reach this in a real worker; mutant sandbox-recursion-error reported MALFORMED)."""
    from evidex.parse import sandbox

    def boom(*args: object, **kwargs: object) -> Document:
        raise exc("boom")

    monkeypatch.setattr("evidex.parse.parse_bytes", boom)
    result = sandbox._run(sandbox._Task(0, "x.txt", b"data", None, LIMITS, None))
    assert type(result) is expected and result.path == "x.txt"
