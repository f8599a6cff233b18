"""Throughput of the synthesis module: interpreter executions and search nodes per second.

- interpreter: random length-T programs (T = 3 by default) run on random inputs, one
  `dsl.run` call per (program, input) pair: programs executed per second;
- searches: DFS, sort-and-add (both with a uniform prior) and the genetic search on test
  tasks of a small T = 3 corpus with a fixed per-task budget: statements executed on all five
  examples (search nodes) per second of search.

    python benchmarks/synthesis_throughput.py [--length 3] [--tasks 40] [--budget 0.5]
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np

from research.synthesis import data, dsl, search


def interpreter_rate(length: int, programs: int = 2000, inputs: int = 5) -> float:
    rng = np.random.default_rng(0)
    pairs = []
    for i in range(programs):
        sig = data.DEFAULT_SIGNATURES[i % len(data.DEFAULT_SIGNATURES)]
        p = data.sample_program(sig, length, rng)
        pairs += [(p, data.random_input(sig, rng, 10)) for _ in range(inputs)]
    start = time.perf_counter()
    for p, x in pairs:
        dsl.run(p, x)
    return len(pairs) / (time.perf_counter() - start)


def search_rates(length: int, tasks: int, budget: float) -> dict[str, tuple[float, int, int]]:
    corpus = data.build_corpus(length, 200, tasks, seed=1)
    uniform = np.full(dsl.NUM_ATTRIBUTES, 0.5)
    runs = {
        "DFS": lambda t: search.dfs_search(t, uniform, length, budget),
        "sort-and-add": lambda t: search.sort_and_add_search(t, uniform, length, budget),
        "genetic": lambda t: search.genetic_search(t, length, budget),
    }
    out = {}
    for name, fn in runs.items():
        results = [fn(t) for t in corpus.test]
        nodes = sum(r.nodes for r in results)
        seconds = sum(r.seconds for r in results)
        out[name] = (nodes / seconds, sum(r.solved for r in results), len(results))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--length", type=int, default=3)
    ap.add_argument("--tasks", type=int, default=40)
    ap.add_argument("--budget", type=float, default=0.5)
    args = ap.parse_args()
    print(
        f"machine: {platform.machine()} {platform.processor() or ''} {os.cpu_count()} cpus, "
        f"python {platform.python_version()}"
    )
    rate = interpreter_rate(args.length)
    print(f"interpreter: {rate:,.0f} programs executed per second (T={args.length}, one input)")
    for name, (nps, solved, n) in search_rates(args.length, args.tasks, args.budget).items():
        print(
            f"{name:>13s}: {nps:,.0f} search nodes per second ({solved}/{n} tasks solved "
            f"within {args.budget:g} s each)"
        )


if __name__ == "__main__":
    main()
