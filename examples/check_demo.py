"""Fail `make demo` unless the embedded model really answered: every record is ok and the letter's
``letter_type`` label — which only the model can fill — came from model calls."""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main(out: Path) -> int:
    problems: list[str] = []
    for f in sorted(out.glob("*.jsonl")):
        for line in f.read_text(encoding="utf-8").splitlines():
            rec = json.loads(line)
            if not rec["ok"]:
                problems.append(f"{rec['source']}: {rec['error']['code']} {rec['error']['message']}")
    letter = [json.loads(x) for x in (out / "letter.jsonl").read_text(encoding="utf-8").splitlines()]
    labels = {lab["name"]: lab["value"] for rec in letter for lab in rec["labels"]}
    calls = sum(rec["usage"]["calls"] for rec in letter)
    if "letter_type" not in labels or calls < 1:
        problems.append(f"the model did not answer: labels {labels}, {calls} model calls")
    for p in problems:
        print(f"demo check FAILED: {p}", file=sys.stderr)
    if not problems:
        print(f"demo check: the embedded model answered ({calls} calls); letter_type = {labels['letter_type']!r}")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "out")))
