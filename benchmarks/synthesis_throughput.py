"""Throughput of the synthesis module: interpreter executions and search nodes per second.

- interpreter: random length-T programs (T = 3 by default) run on random inputs, one
  `dsl.run` call per (program, input) pair: programs executed per second;
- searches: DFS, sort-and-add (both with a uniform prior) and the genetic search on the same
  test tasks of a small T = 3 corpus with a fixed per-task budget, each with the plain engine
  (every statement executed in Python, the engine before the fast enumerator) and the fast
  one (interned value columns, memoised statements, observational-equivalence pruning), in
  one process: search nodes (statements considered) per second of search, tasks solved and
  the total search time. Each search runs `--repeats` times per engine (the fast engine's
  searches take well under a second in all, so one run moves with the machine's noise); the
  run with the median nodes/s is reported.

    python benchmarks/synthesis_throughput.py [--length 3] [--tasks 40] [--budget 0.5]
        [--repeats 3]
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


def search_rates(
    length: int, tasks: int, budget: float, repeats: int = 1
) -> dict[tuple[str, str], dict]:
    """Per (search, engine): nodes/s, solved, tasks, total search seconds; of `repeats` runs
    over the tasks, the one with the median nodes/s."""
    corpus = data.build_corpus(length, 200, tasks, seed=1)
    uniform = np.full(dsl.NUM_ATTRIBUTES, 0.5)
    runs = {
        "DFS": lambda t, e: search.dfs_search(t, uniform, length, budget, engine=e),
        "sort-and-add": lambda t, e: search.sort_and_add_search(
            t, uniform, length, budget, engine=e
        ),
        "genetic": lambda t, e: search.genetic_search(t, length, budget, engine=e),
    }
    out = {}
    for name, fn in runs.items():
        for engine in ("plain", "fast"):
            runs_ = []
            for _ in range(repeats):
                results = [fn(t, engine) for t in corpus.test]
                for t, r in zip(corpus.test, results, strict=True):
                    if r.solved:
                        assert all(dsl.run(r.program, x) == y for x, y in t.examples)
                nodes = sum(r.nodes for r in results)
                seconds = sum(r.seconds for r in results)
                runs_.append(
                    {
                        "nodes_per_s": nodes / seconds,
                        "solved": sum(r.solved for r in results),
                        "tasks": len(results),
                        "seconds": seconds,
                        "per_task": [r.seconds if r.solved else None for r in results],
                    }
                )
            runs_.sort(key=lambda r: r["nodes_per_s"])
            out[(name, engine)] = runs_[len(runs_) // 2]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--length", type=int, default=3)
    ap.add_argument("--tasks", type=int, default=40)
    ap.add_argument("--budget", type=float, default=0.5)
    ap.add_argument(
        "--repeats", type=int, default=3, help="runs per search and engine (median reported)"
    )
    args = ap.parse_args()
    if args.repeats < 1:
        ap.error(f"--repeats must be >= 1, got {args.repeats}")
    print(
        f"machine: {platform.machine()} {platform.processor() or ''} {os.cpu_count()} cpus, "
        f"python {platform.python_version()}, load average {os.getloadavg()[0]:.1f}"
    )
    rate = interpreter_rate(args.length)
    print(f"interpreter: {rate:,.0f} programs executed per second (T={args.length}, one input)")
    rates = search_rates(args.length, args.tasks, args.budget, args.repeats)
    for (name, engine), r in rates.items():
        line = (
            f"{name:>13s} {engine:>5s}: {r['nodes_per_s']:>12,.0f} nodes/s, "
            f"{r['solved']}/{r['tasks']} solved within {args.budget:g} s each, "
            f"{r['seconds']:.2f} s of search in all"
        )
        if engine == "fast":
            plain = rates[(name, "plain")]
            both = [
                (p, f)
                for p, f in zip(plain["per_task"], r["per_task"], strict=True)
                if p is not None and f is not None
            ]
            ratio = sum(p for p, _ in both) / max(sum(f for _, f in both), 1e-12)
            line += (
                f"  ({r['nodes_per_s'] / plain['nodes_per_s']:.1f}x nodes/s; "
                f"{ratio:.1f}x less time on the {len(both)} tasks both solve)"
            )
        print(line)


if __name__ == "__main__":
    main()
