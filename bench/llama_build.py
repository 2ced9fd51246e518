"""Tokens/s of the installed llama-cpp-python build on the embedded model: prompt evaluation and greedy
generation, repeated, median reported. Needs only llama_cpp, so it runs under any venv holding a build:

    .venv/bin/python bench/llama_build.py --model "$(.venv/bin/python -c 'from evidex.backends.llamacpp import default_model_path as p; print(p())')"
    /path/to/other-venv/bin/python bench/llama_build.py --model ... --label avx512

Prints one JSON line: the build's label, the CPU flags ggml reports, prompt and generation tokens/s.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

PROMPT = ("Harrington & Cole LLP, 221 Bishopsgate, London. Ref: HC/2024/1187. Date: 2 May 2024. "
          "We act for Meridian Foods plc in connection with the supply agreement dated 9 January 2021. ") * 12


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--label", default="")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--gen", type=int, default=128)
    a = ap.parse_args()
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    import llama_cpp

    llm = llama_cpp.Llama(model_path=a.model, n_ctx=2048, n_threads=a.threads, n_batch=512, verbose=False)
    toks = llm.tokenize(PROMPT.encode(), add_bos=True)
    prompt_tps, gen_tps = [], []
    for _ in range(a.repeat):
        llm.reset()
        t0 = time.perf_counter()
        llm.eval(toks)
        prompt_tps.append(len(toks) / (time.perf_counter() - t0))
        t0 = time.perf_counter()
        n = 0
        for _tok in llm.generate([llm.token_bos()], top_k=1, temp=0.0, reset=True):
            n += 1
            if n >= a.gen:
                break
        gen_tps.append(n / (time.perf_counter() - t0))
    info = llama_cpp.llama_print_system_info().decode()
    print(json.dumps({"label": a.label, "system_info": info.strip(), "prompt_tokens": len(toks),
                      "prompt_tok_s": round(statistics.median(prompt_tps), 1),
                      "gen_tok_s": round(statistics.median(gen_tps), 1), "threads": a.threads, "repeat": a.repeat}))


if __name__ == "__main__":
    main()
