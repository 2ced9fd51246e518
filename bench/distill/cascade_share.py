"""Share escalated by a cascade run: reads the predictions JSONL of `evidex bench … --scorer cascade -o FILE`.

    .venv/bin/python bench/distill/cascade_share.py FILE [FILE …]
prints, per file: the bar, fields escalated / fields decided, documents with an escalation, model calls and tokens.
"""

from __future__ import annotations

import json
import sys


def main(files: list[str]) -> None:
    for name in files:
        fields = escalated = docs = docs_up = calls = tok_in = tok_out = 0
        bar = None
        with open(name, encoding="utf-8") as fh:
            for line in fh:
                r = json.loads(line)
                cas = (r.get("diagnostics") or {}).get("cascade")
                docs += 1
                u = r.get("usage") or {}
                calls += u.get("calls", 0)
                tok_in += u.get("tokens_in", 0)
                tok_out += u.get("tokens_out", 0)
                if not cas:
                    continue
                bar = cas["bar"]
                fields += cas["fields"]
                escalated += len(cas["escalated"])
                docs_up += bool(cas["escalated"])
        share = escalated / fields if fields else 0.0
        print(f"{name}: bar {bar}: {escalated}/{fields} fields escalated ({share:.1%}), {docs_up}/{docs} documents, "
              f"{calls} model calls, {tok_in + tok_out} tokens ({(tok_in + tok_out) / max(1, docs):.0f}/doc)")


if __name__ == "__main__":
    main(sys.argv[1:])
