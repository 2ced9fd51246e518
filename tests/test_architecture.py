"""The seams: pipeline specs, registered stages, plugins from the CLI and the API, the public API, size limits."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar

import pytest
from typer.testing import CliRunner

import evidex
from evidex import registry
from evidex.backends import Capabilities, Request, Response
from evidex.backends.base import Options, approx_tokens
from evidex.errors import ConfigError, EvidexError
from evidex.extract import ExtractOptions, Extractor
from evidex.extract.candidates import Candidate
from evidex.extract.choice import Choice
from evidex.extract.stages import DocContext
from evidex.extract.student.scorer import default_student
from evidex.model import Field, Schema
from evidex.pipeline import Pipeline, PipelineSpec, run_batch
from evidex.registry import Options as StageOptions

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src" / "evidex"

SCHEMA = Schema.from_dict({"name": "invoice", "fields": {
    "invoice_number": {"type": "string", "description": "the invoice's number"},
    "invoice_date": "date",
    "total": "money",
}})


def _docs(tmp_path: Path, n: int = 3) -> list[Path]:
    out = []
    for i in range(n):
        p = tmp_path / f"inv{i}.txt"
        p.write_text(f"INVOICE\nInvoice number: INV-{i}00{i}\nInvoice date: 1{i} March 2024\n"
                     f"Total due: EUR {i + 1},250.00\nThank you.\n", encoding="utf-8")
        out.append(p)
    return out


def _records(pipe: Pipeline, files: Sequence[Path]) -> list[dict[str, Any]]:
    """Results as JSON, without timings (which differ run to run)."""
    from evidex.output.jsonl import record_to_dict

    out = []
    for _, doc, res in pipe.run(files):
        d = record_to_dict(doc, res)
        d["usage"].pop("seconds", None)
        d.pop("source", None)
        out.append(d)
    return out


# --------------------------------------------------------------------------------------------- plugins
class EchoOptions(Options):
    answer: str = "{}"


class EchoBackend:
    """A plugin backend defined outside evidex: answers every request with a fixed JSON object."""

    name: ClassVar[str] = "echo-plugin"
    Options: ClassVar[type[EchoOptions]] = EchoOptions
    calls: ClassVar[int] = 0

    def __init__(self, options: EchoOptions | None = None) -> None:
        self.o = options or EchoOptions()
        self.capabilities = Capabilities(json_schema=True)

    def generate(self, requests: Sequence[Request]) -> list[Response]:
        EchoBackend.calls += len(requests)
        return [Response(self.o.answer, tokens_in=10, tokens_out=5) for _ in requests]

    def count_tokens(self, text: str) -> int:
        return approx_tokens(text)

    def close(self) -> None:
        pass


class LastOptions(StageOptions):
    pick: int = -1  # which candidate (in document order) of a compatible type


class LastCandidateScorer:
    """A plugin scorer: picks the last (or ``pick``-th) type-compatible candidate, with certainty 0.9."""

    name: ClassVar[str] = "last-plugin"
    version: ClassVar[str] = "7"
    requires: ClassVar[frozenset[str]] = frozenset()
    Options: ClassVar[type[LastOptions]] = LastOptions

    def __init__(self, options: LastOptions | None = None) -> None:
        self.o = options or LastOptions()

    def choose(self, ctx: DocContext, fields: Sequence[Field], candidates: Sequence[Candidate]) -> list[Choice]:
        from evidex.extract.prior import FieldQuery, rank

        out = []
        for f in fields:
            ranked = rank(FieldQuery.of(f), list(candidates), 50)
            if not ranked:
                out.append(Choice(f, None, 0.0, None, 0.0, ()))
                continue
            by_pos = sorted((c for c, _ in ranked), key=lambda c: c.span.start)
            pick = by_pos[self.o.pick] if -len(by_pos) <= self.o.pick < len(by_pos) else by_pos[-1]
            out.append(Choice(f, pick, 0.9, None, 0.0, tuple(ranked)))
        return out


@pytest.fixture()
def plugins() -> Iterator[None]:
    registry.backends.register("echo-plugin", EchoBackend)
    registry.scorers.register("last-plugin", LastCandidateScorer)
    try:
        yield
    finally:
        registry.backends.unregister("echo-plugin")
        registry.scorers.unregister("last-plugin")


def test_plugin_backend_and_scorer_from_the_python_api(plugins: None, tmp_path: Path) -> None:
    files = _docs(tmp_path, 2)
    answer = json.dumps({"invoice_number": "INV-0000", "invoice_date": None, "total": None})
    res = evidex.extract(files[:1], SCHEMA, backend="echo-plugin", backend_options={"answer": answer},
                         options={"mode": "generate"})
    assert res[0].ok and res[0].values() == {"invoice_number": "INV-0000"}
    # the plugin scorer, without a model (rules), with its own options; the prior would pick the first date
    multi = tmp_path / "two-dates.txt"
    multi.write_text("Invoice date: 1 March 2024\nDue date: 30 March 2024\nInvoice number: INV-9\n", encoding="utf-8")
    (first,) = evidex.extract([multi], SCHEMA, backend=None, options={"scorer": "prior"})
    (last,) = evidex.extract([multi], SCHEMA, backend=None,
                             options={"scorer": "last-plugin", "stage_options": {"scorer": {"pick": -1}}})
    assert first.values()["invoice_date"] == "2024-03-01"
    assert last.values()["invoice_date"] == "2024-03-30"
    assert last.diagnostics["scorer"] == "last-plugin"
    with Pipeline.create(SCHEMA, None, options=ExtractOptions(scorer="last-plugin")) as pipe:
        assert pipe.spec.versions["scorer"] == "last-plugin@7"


def test_plugin_backend_and_scorer_from_the_cli(plugins: None, tmp_path: Path) -> None:
    from evidex.cli.main import app

    files = _docs(tmp_path, 2)
    schema = tmp_path / "s.json"
    schema.write_text(json.dumps(SCHEMA.to_dict()), encoding="utf-8")
    out = tmp_path / "out.jsonl"
    answer = json.dumps({"invoice_number": "INV-0000", "invoice_date": None, "total": None})
    EchoBackend.calls = 0
    r = CliRunner().invoke(app, ["extract", *map(str, files), "-s", str(schema), "--backend", "echo-plugin",
                                 "--backend-option", f"answer={answer}", "--mode", "generate", "--in-process",
                                 "-q", "-o", str(out)])
    assert r.exit_code == 0, r.output
    lines = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert [x["values"] for x in lines] == [{"invoice_number": "INV-0000"}, {}]  # INV-0000 is only in the first
    assert EchoBackend.calls == 2
    r = CliRunner().invoke(app, ["extract", str(files[0]), "-s", str(schema), "--backend", "none", "--scorer",
                                 "last-plugin", "--stage-option", "scorer.pick=0", "--in-process", "-q",
                                 "-o", str(out), "--save-spec", str(tmp_path / "spec.json")])
    assert r.exit_code == 0, r.output
    rec = json.loads(out.read_text(encoding="utf-8"))
    # pick=0: the first compatible candidate in document order (the heading), where the prior picks INV-0000
    assert rec["diagnostics"]["scorer"] == "last-plugin" and rec["values"]["invoice_number"] == "INVOICE"
    saved = PipelineSpec.from_file(tmp_path / "spec.json")
    assert saved.extract.scorer == "last-plugin" and saved.extract.stage_options == {"scorer": {"pick": 0}}
    assert rec["spec"] == saved.hash()
    # --help lists what the registries hold (plugins included); an unknown name says what exists
    assert "echo-plugin" in __import__("evidex.cli.specs", fromlist=["x"]).names_help(registry.backends)
    r = CliRunner().invoke(app, ["extract", str(files[0]), "-s", str(schema), "--backend", "echo-plugn"])
    assert r.exit_code != 0 and "echo-plugin" in str(r.exception or r.output)


# --------------------------------------------------------------------------------------------- specs
def test_spec_round_trips_through_json_and_rejects_unknown_keys() -> None:
    spec = PipelineSpec.create(SCHEMA, "llamacpp", {"n_ctx": 2048}, ExtractOptions(mode="choice", top_k=3),
                               isolate=True, max_backend_failures=5)
    again = PipelineSpec.from_json(spec.to_json())
    assert again == spec and again.hash() == spec.hash()
    assert again.schema.to_dict() == SCHEMA.to_dict()
    for bad, where in [({"bogus": 1}, "bogus"), ({"extract": {"top_k": 3, "topk": 2}}, "topk"),
                       ({"run": {"isolated": True}}, "isolated"), ({"limits": {"max_byts": 1}}, "max_byts"),
                       ({"extract": {"scorer": "prio"}}, "did you mean 'prior'"),
                       ({"backend": {"name": "lamacpp"}}, "did you mean 'llamacpp'")]:
        with pytest.raises(ConfigError, match=where):
            PipelineSpec.parse({**spec.to_dict(), **bad})


def test_spec_records_versions_and_refuses_other_versions() -> None:
    with Pipeline.create(SCHEMA, None) as pipe:
        v = pipe.spec.versions
        # scorer "auto" is recorded as the part it resolved to: the packaged student
        assert pipe.spec.extract.scorer == "auto"
        installed = f"student@1+{default_student().digest}"  # the part's version and which model it runs
        assert v["mode"] == "rules@1" and v["scorer"] == installed and v["grounder"] == "evidence@1"
        data = pipe.spec.to_dict()
    with Pipeline.create(SCHEMA, None, options=ExtractOptions(scorer="prior")) as pipe:
        assert pipe.spec.versions["scorer"] == "prior@1"
    # prior@1: a spec recorded when "auto" was the prior; student@1 / +0…: recorded with another packaged model
    for other in ("student@0", "prior@1", "student@1", "student@1+000000000000"):
        data["versions"] = {**data["versions"], "scorer": other}
        with pytest.raises(ConfigError, match=re.escape(f"scorer: spec {other} ≠ installed {installed}")):
            Pipeline.from_spec(data)


def test_spec_made_with_one_trained_student_is_refused_with_another(tmp_path: Path) -> None:
    """Two student directories differing only in their files (a retrained model) are two versions: a run
    resumed from one's spec with the other in its place fails instead of mixing their records."""
    import shutil

    from evidex.extract.student.scorer import DEFAULT_MODEL

    model = tmp_path / "student"
    shutil.copytree(DEFAULT_MODEL, model)
    opts = ExtractOptions(scorer="student", stage_options={"scorer": {"model": str(model)}})
    with Pipeline.create(SCHEMA, None, options=opts) as pipe:
        data = pipe.spec.to_dict()
        assert data["versions"]["scorer"] == f"student@1+{default_student().digest}"  # same bytes, same version
    card = model / "card.json"
    card.write_text(card.read_text(encoding="utf-8").replace('"seed"', '"retrained": true, "seed"', 1), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"other versions.*scorer: spec student@1[+]"):
        Pipeline.from_spec(data)


def test_pipeline_rebuilt_from_its_spec_in_a_fresh_process_gives_identical_results(tmp_path: Path) -> None:
    files = _docs(tmp_path, 3)
    with Pipeline.create(SCHEMA, None) as pipe:
        here = _records(pipe, files)
        spec_json = pipe.spec.to_json()
    assert all(r["spec"] == PipelineSpec.from_json(spec_json).hash() for r in here)
    code = (
        "import json, sys\n"
        "from evidex.pipeline import Pipeline\n"
        "from evidex.output.jsonl import record_to_dict\n"
        "spec, files = sys.stdin.read().split('\\n', 1)\n"
        "with Pipeline.from_spec(spec) as p:\n"
        "    for _, d, r in p.run(json.loads(files)):\n"
        "        x = record_to_dict(d, r); x['usage'].pop('seconds'); x.pop('source')\n"
        "        print(json.dumps(x, default=str))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], input=spec_json + "\n" + json.dumps([str(f) for f in files]),
                          capture_output=True, text=True, timeout=120, check=True)
    there = [json.loads(x) for x in proc.stdout.splitlines()]
    assert json.loads(json.dumps(here, default=str)) == there
    assert [r["values"]["invoice_number"] for r in there] == ["INV-0000", "INV-1001", "INV-2002"]


@pytest.mark.llm
def test_embedded_pipeline_rebuilt_in_a_fresh_process_gives_identical_results(tmp_path: Path,
                                                                              embedded_backend: Any) -> None:
    """The same with the real model answering (a label and a free-text field that needs the generative fallback)."""
    schema = Schema.from_dict({"name": "memo", "fields": {"sender": {"type": "string", "description": "who wrote"}},
                               "labels": {"kind": {"labels": ["invoice", "memo"]}}})
    (f,) = _docs(tmp_path, 1)
    spec = PipelineSpec.create(schema, "llamacpp", {"n_ctx": 2048}, ExtractOptions(deadline_s=None))
    pipe = Pipeline(schema, embedded_backend, spec.extract, spec=spec, owns_backend=False)
    here = _records(pipe, [f])
    assert here[0]["usage"]["calls"] >= 1 and here[0]["ok"]
    code = (
        "import json, sys\n"
        "from evidex.pipeline import Pipeline\n"
        "from evidex.output.jsonl import record_to_dict\n"
        "spec, path = sys.stdin.read().split('\\n', 1)\n"
        "with Pipeline.from_spec(spec) as p:\n"
        "    (_, d, r), = p.run([path])\n"
        "    x = record_to_dict(d, r); x['usage'].pop('seconds'); x.pop('source')\n"
        "    print(json.dumps(x, default=str))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], input=pipe.spec.to_json() + "\n" + str(f),
                          capture_output=True, text=True, timeout=600, check=True)
    assert json.loads(json.dumps(here[0], default=str)) == json.loads(proc.stdout)


# --------------------------------------------------------------------------------------------- assembly
def test_assembly_checks_what_each_stage_needs_before_any_model_call() -> None:
    EchoBackend.calls = 0
    be = EchoBackend()  # no scoring, no logprobs
    with pytest.raises(ConfigError, match="scorer 'pmi' needs a backend with scoring"):
        Extractor(be, ExtractOptions(mode="choice", scorer="pmi"))
    with pytest.raises(ConfigError, match="mode 'generate' needs a backend"):
        Extractor(None, ExtractOptions(mode="generate"))
    with pytest.raises(ConfigError, match="scorer 'choice' needs a backend"):
        Extractor(None, ExtractOptions(mode="rules", scorer="choice"))
    assert EchoBackend.calls == 0


def test_auto_mode_follows_declared_capabilities_not_names() -> None:
    from evidex.backends.fake import FakeBackend, FakeOptions

    assert Extractor(FakeBackend(FakeOptions(small_model=True))).mode == "choice"
    assert Extractor(FakeBackend(FakeOptions(small_model=False))).mode == "generate"
    assert Extractor(None).mode == "rules"


# --------------------------------------------------------------------------------------------- run loop, API
def test_one_run_loop_streams_to_registered_writers(tmp_path: Path) -> None:
    from evidex.output.writers import open_writer

    files = [*_docs(tmp_path, 2), tmp_path / "missing.pdf"]
    writers = [open_writer("jsonl", tmp_path / "o.jsonl"), open_writer("csv", tmp_path / "o.csv")]
    with Pipeline.create(SCHEMA, None) as pipe:
        stats = run_batch(pipe, files, writers=writers)
    assert (stats.documents, stats.failed, stats.values) == (3, 1, 6)
    lines = (tmp_path / "o.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 3 and json.loads(lines[2])["error"]["code"].startswith("EVX-D")
    assert (tmp_path / "o.csv").read_text(encoding="utf-8").count("\n") == 4  # header + one row per document


def test_pipeline_is_a_context_manager_that_closes_what_it_owns() -> None:
    closed = []

    class Closing(EchoBackend):
        name: ClassVar[str] = "closing-plugin"

        def close(self) -> None:
            closed.append(True)

    registry.backends.register("closing-plugin", Closing)
    try:
        with Pipeline.create(SCHEMA, "closing-plugin", options=ExtractOptions(mode="generate")) as pipe:
            other = pipe.with_options(ExtractOptions(mode="generate", prompt_format=1))
            other.close()  # shares the backend: does not close it
            assert not closed
        assert closed == [True]
    finally:
        registry.backends.unregister("closing-plugin")


def test_public_api_is_small_documented_and_pinned() -> None:
    assert sorted(evidex.__all__) == sorted([
        "Document", "EvidexError", "ExtractOptions", "Extraction", "Field", "FieldType", "Grounding", "Pipeline",
        "PipelineSpec", "Result", "Schema", "Span", "__version__", "extract", "parse",
    ])
    for name in evidex.__all__:
        obj = getattr(evidex, name)
        if name != "__version__":
            assert (obj.__doc__ or "").strip(), f"evidex.{name} has no docstring"
    assert issubclass(evidex.EvidexError, Exception) and evidex.EvidexError is EvidexError
    doc = evidex.parse(b"Invoice number: INV-77\nTotal: USD 10.00\n", name="x.txt")
    (res,) = evidex.extract(doc, SCHEMA, backend=None)
    assert res.values()["invoice_number"] == "INV-77"
    span = res.extractions[0].evidence[0]
    assert doc.text[span.start:span.end] == res.extractions[0].raw


# --------------------------------------------------------------------------------------------- size limits
def _too_long() -> tuple[list[str], list[str]]:
    modules, functions = [], []
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC).as_posix()
        text = path.read_text(encoding="utf-8")
        if text.count("\n") > 600:
            modules.append(f"{rel}: {text.count(chr(10))} lines")
        if not (rel.startswith(("extract/", "pipeline/", "cli/"))):
            continue
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                n = (node.end_lineno or node.lineno) - node.lineno + 1
                if n > 80:
                    functions.append(f"{rel}:{node.lineno} {node.name}: {n} lines")
    return modules, functions


def test_no_module_over_600_lines_and_no_long_functions_in_the_upper_floors() -> None:
    modules, functions = _too_long()
    assert not modules, modules
    assert not functions, functions
