"""OCR engines behind one small interface: an image in, words with pixel boxes and confidences out.

Engines, in order of preference (measured on this machine, A4 scan at 200 dpi; see
research/anchors-parsing.md §2.5):

- ``tesseract`` (Debian ``tesseract-ocr`` 5.3, run as a subprocess with TSV output): token recall 0.98,
  ~1.9 s/page, 52 MB, word boxes + confidences. Used whenever the binary is on ``PATH``.
- ``rapidocr`` (PyPI ``rapidocr`` 3.x, PP-OCRv6 small ONNX models shipped *inside the wheel*):
  recall 0.84, ~4 s/page, ~800 MB, tends to drop spaces between English words. We pass the packaged
  model paths explicitly and refuse to start if a file is missing, because rapidocr would otherwise
  try to download the model at run time (verified: runs with the network namespace removed).

Neither installed → :class:`~evidex.errors.MissingDependencyError` with an install hint.
Boxes are in image pixels with a top-left origin.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from evidex.errors import MalformedError, MissingDependencyError, ParseTimeoutError

if TYPE_CHECKING:
    from PIL.Image import Image

__all__ = ["OcrEngine", "OcrWord", "RapidOcrEngine", "TesseractEngine", "get_engine", "ocr_available"]

INSTALL_HINT = "install Tesseract (apt-get install tesseract-ocr) or the OCR extra (pip install 'evidex[ocr]')"


@dataclass(frozen=True, slots=True)
class OcrWord:
    text: str
    x0: float
    y0: float
    x1: float
    y1: float
    conf: float  # 0..1
    line: int = -1  # engine's line id (words sharing it were read as one line); -1 unknown


class OcrEngine(Protocol):
    name: str

    def recognize(self, image: Image, *, dpi: int = 300, timeout: float = 120.0) -> list[OcrWord]: ...


class TesseractEngine:
    name = "tesseract"

    def __init__(self, binary: str, lang: str = "eng") -> None:
        self.binary = binary
        self.lang = lang

    def recognize(self, image: Image, *, dpi: int = 300, timeout: float = 120.0) -> list[OcrWord]:
        buf = io.BytesIO()
        image.save(buf, format="PNG")
        env = dict(os.environ)
        env.setdefault("OMP_THREAD_LIMIT", "1")  # tesseract's OpenMP threads fight with worker processes
        try:
            proc = subprocess.run(
                [self.binary, "stdin", "stdout", "--dpi", str(dpi), "-l", self.lang, "tsv"],
                input=buf.getvalue(),
                capture_output=True,
                timeout=timeout,
                env=env,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise ParseTimeoutError(f"tesseract did not finish within {timeout:.0f} s") from None
        if proc.returncode != 0:
            err = proc.stderr.decode("utf-8", "replace").strip().splitlines()
            raise MalformedError(f"tesseract failed: {err[-1] if err else proc.returncode}")
        return parse_tesseract_tsv(proc.stdout.decode("utf-8", "replace"))


def parse_tesseract_tsv(tsv: str) -> list[OcrWord]:
    words: list[OcrWord] = []
    line_ids: dict[tuple[str, str, str, str], int] = {}
    for row in tsv.splitlines()[1:]:
        f = row.split("\t")
        if len(f) < 12 or f[0] != "5":
            continue
        text = f[11].strip()
        if not text:
            continue
        try:
            left, top, w, h = (int(v) for v in f[6:10])
            conf = float(f[10])
        except ValueError:
            continue
        key = (f[1], f[2], f[3], f[4])
        line = line_ids.setdefault(key, len(line_ids))
        words.append(OcrWord(text, left, top, left + w, top + h, max(0.0, min(1.0, conf / 100.0)), line))
    return words


_RAPID_MODELS = {
    "Det.model_path": "PP-OCRv6_det_small.onnx",
    "Rec.model_path": "PP-OCRv6_rec_small.onnx",
    "Cls.model_path": "ch_ppocr_mobile_v2.0_cls_mobile.onnx",
}


class RapidOcrEngine:
    name = "rapidocr"

    def __init__(self) -> None:
        import rapidocr

        model_dir = Path(rapidocr.__file__).parent / "models"
        params: dict[str, Any] = {"Global.log_level": "error"}
        for key, fname in _RAPID_MODELS.items():
            p = model_dir / fname
            if not p.is_file():  # rapidocr would download it: never at run time
                raise MissingDependencyError(f"rapidocr model {fname} is not installed in {model_dir}", hint=INSTALL_HINT)
            params[key] = str(p)
        self._engine = rapidocr.RapidOCR(params=params)
        self._lock = threading.Lock()

    def recognize(self, image: Image, *, dpi: int = 300, timeout: float = 120.0) -> list[OcrWord]:
        import numpy as np

        arr = np.asarray(image.convert("RGB"))
        with self._lock:
            out = self._engine(arr, return_word_box=True)
        words: list[OcrWord] = []
        word_results = getattr(out, "word_results", None) or ()
        txts = getattr(out, "txts", None) or ()
        boxes = getattr(out, "boxes", None)
        scores = getattr(out, "scores", None) or ()
        for li, line in enumerate(word_results):
            if not line:
                continue
            for text, score, quad in line:
                text = str(text).strip()
                if not text:
                    continue
                xs = [float(p[0]) for p in quad]
                ys = [float(p[1]) for p in quad]
                words.append(OcrWord(text, min(xs), min(ys), max(xs), max(ys), float(score), li))
        if not words and boxes is not None:  # no word boxes: one word per whitespace token, spread over the line
            for li, (text, quad) in enumerate(zip(txts, boxes.tolist(), strict=False)):
                xs = [float(p[0]) for p in quad]
                ys = [float(p[1]) for p in quad]
                toks = str(text).split()
                total = sum(len(t) for t in toks) + max(0, len(toks) - 1)
                x, width = min(xs), max(xs) - min(xs)
                pos = 0
                for t in toks:
                    a = x + width * pos / max(total, 1)
                    pos += len(t)
                    b = x + width * pos / max(total, 1)
                    pos += 1
                    words.append(OcrWord(t, a, min(ys), b, max(ys), float(scores[li]) if li < len(scores) else 0.0, li))
        return words


_engine_lock = threading.Lock()
_engines: dict[str, OcrEngine] = {}


def _tesseract_binary() -> str | None:
    return shutil.which(os.environ.get("EVIDEX_TESSERACT", "tesseract"))


def _rapidocr_installed() -> bool:
    import importlib.util

    return importlib.util.find_spec("rapidocr") is not None and importlib.util.find_spec("onnxruntime") is not None


def ocr_available() -> bool:
    return _tesseract_binary() is not None or _rapidocr_installed()


def get_engine(prefer: str | None = None) -> OcrEngine:
    """The OCR engine to use: ``prefer`` (``"tesseract"``/``"rapidocr"``) if given, else tesseract, else rapidocr."""
    order = [prefer] if prefer else ["tesseract", "rapidocr"]
    with _engine_lock:
        for name in order:
            if name in _engines:
                return _engines[name]
            if name == "tesseract":
                binary = _tesseract_binary()
                if binary is not None:
                    _engines[name] = TesseractEngine(binary)
                    return _engines[name]
            elif name == "rapidocr":
                if _rapidocr_installed():
                    _engines[name] = RapidOcrEngine()
                    return _engines[name]
            else:
                raise MissingDependencyError(f"unknown OCR engine {name!r}", hint="use 'tesseract' or 'rapidocr'")
    raise MissingDependencyError(
        "no OCR engine available" + (f" ({prefer} not installed)" if prefer else ""), hint=INSTALL_HINT
    )
