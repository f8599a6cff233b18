"""Interpreter throughput of the laws engine vs gplearn (and Operon), and time per generation.

    python benchmarks/laws_throughput.py [--rows 1000 10000 100000] [--population 1000]

1. Node-row evaluations per second on gplearn's own generation-0 programs: gplearn 0.4.3's
   `_Program` generator ("half and half", depth 2-6, as `SymbolicRegressor` starts) draws
   `--population` programs of at most 30 nodes; gplearn executes them one after another
   (`_Program.execute`, numpy float64, its fitness loop); ours evaluates exactly those
   programs translated token by token into one `[P, 30]` population (float32, one jitted
   call). A node is every prefix token (operators, variables and constants), counted once
   for both. Both run in this process on the same rows, for the 4-operator set
   (+ - * /) and the 8-operator set (+ sin cos log sqrt); `ours / gplearn` is the ratio of
   the rates. `--dense` adds the reference interpreter (`expr.evaluate_dense`).
2. Operon (`pyoperon`, C++): evaluations per second of its own random trees of at most 30
   nodes on the same rows (`EvaluateTrees` on one thread), when installed.
3. Time per generation (selection, variation, evaluation, constant optimisation) of our
   search as the population and the rows grow.

Times are medians after `WARMUP` (3) untimed calls (compilation and the slower first calls
excluded). Interpreter calls are timed in `--repeats` rounds of `--block` (5) calls per side
back to back, ours then gplearn's, so that load from other processes falls on both alike and
each side runs as a search runs it, one population's evaluation after the last. With
`--block 1` single calls alternate: each of ours then follows 30 ms of gplearn, after which
XLA's CPU thread pool has gone to sleep and our 1,000-row call takes about twice as long
(BENCHMARKS.md); the median is over all `repeats x block` calls.
"""

from __future__ import annotations

import argparse
import platform
import time

import jax
import jax.numpy as jnp
import numpy as np

from research.laws import expr as E
from research.laws import genetic as G
from research.laws.regressor import RegressionObjective

OPS4 = ("add", "sub", "mul", "div")
OPS8 = ("add", "sub", "mul", "div", "sin", "cos", "log", "sqrt")
MAX_NODES = 30


# Calls before timing: in a fresh process the first few calls of a compiled interpreter run
# 2-4x slower than the rest (measured at 1,000 rows: 19.6, 14.8, 9.0, then 5.0-5.5 ms), and a
# search calls it once per generation for hundreds of generations.
WARMUP = 3


def _median_time(fn, repeats: int) -> float:
    for _ in range(WARMUP):
        fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def _paired_times(fn_a, fn_b, repeats: int, block: int = 1) -> tuple[float, float]:
    """Median times per call of `fn_a` and `fn_b`: `repeats` rounds, each `block` calls of
    `fn_a` back to back, then `block` of `fn_b` (after `WARMUP` calls each). Rounds alternate
    so that load from other processes falls on both sides alike; calls within a block follow
    each other as a search makes them (one generation's evaluation after the last)."""
    for _ in range(WARMUP):
        fn_a(), fn_b()
    ta, tb = [], []
    for _ in range(repeats):
        for fn, times in ((fn_a, ta), (fn_b, tb)):
            for _ in range(block):
                t = time.perf_counter()
                fn()
                times.append(time.perf_counter() - t)
    return float(np.median(ta)), float(np.median(tb))


def gplearn_generation0(ops, population: int, n_features: int, seed: int = 0):
    """`population` gplearn programs of <= MAX_NODES nodes, drawn as gplearn's first
    generation draws them."""
    from gplearn._program import _Program
    from gplearn.functions import _function_map

    functions = [_function_map[o] for o in ops]
    arities: dict[int, list] = {}
    for f in functions:
        arities.setdefault(f.arity, []).append(f)
    rng = np.random.RandomState(seed)
    programs = []
    while len(programs) < population:
        method = "full" if rng.rand() < 0.5 else "grow"
        p = _Program(function_set=functions, arities=arities, init_depth=(2, 6),
                     init_method=method, n_features=n_features, const_range=(-1.0, 1.0),
                     metric=None, p_point_replace=0.05, parsimony_coefficient=0.0,
                     random_state=rng)  # fmt: skip
        if p.length_ <= MAX_NODES:
            programs.append(p)
    return programs


def translate(spec: E.Spec, programs):
    """gplearn programs as our `tokens, consts [P, MAX_NODES]` (same nodes, same order)."""
    from gplearn.functions import _Function

    P = len(programs)
    tokens = np.zeros((P, spec.max_len), np.int32)
    consts = np.zeros((P, spec.max_len), np.float32)
    for k, prog in enumerate(programs):
        for i, node in enumerate(prog.program):
            if isinstance(node, _Function):
                tokens[k, i] = spec.first_op + spec.ops.index(node.name)
            elif isinstance(node, float):
                tokens[k, i], consts[k, i] = E.CONST, node
            else:
                tokens[k, i] = E.FIRST_VAR + int(node)
    return jnp.asarray(tokens), jnp.asarray(consts)


def _time_ours(fn, spec, tokens, consts, x, repeats):
    xd = jnp.asarray(x, jnp.float32)
    return _median_time(lambda: fn(spec, tokens, consts, xd, 2048).block_until_ready(), repeats)


def interpreter_throughput(population, rows_list, repeats, n_features=5, dense=False, block=5):
    head = (
        "| ops | rows | ours node-rows/s | gplearn node-rows/s | ours / gplearn | ours s "
        "| gplearn s |"
    )
    print("\n" + head + (" dense / gplearn |" if dense else ""))
    print("|---|---|---|---|---|---|---|" + ("---|" if dense else ""))
    results = []
    for ops in (OPS4, OPS8):
        programs = gplearn_generation0(ops, population, n_features)
        nodes = sum(p.length_ for p in programs)
        spec = E.Spec(ops, n_features, MAX_NODES)
        tokens, consts = translate(spec, programs)
        assert int(np.sum(np.asarray(tokens) != E.PAD)) == nodes
        for rows in rows_list:
            x = np.random.default_rng(1).uniform(-3, 3, size=(rows, n_features))
            xd = jnp.asarray(x, jnp.float32)

            def run_ours(spec=spec, tokens=tokens, consts=consts, xd=xd):
                E.evaluate_jit(spec, tokens, consts, xd, 2048).block_until_ready()

            def run_gplearn(programs=programs, x=x):
                with np.errstate(all="ignore"):
                    [p.execute(x) for p in programs]

            ours, theirs = _paired_times(run_ours, run_gplearn, repeats, block)
            rate, rate_g = nodes * rows / ours, nodes * rows / theirs
            line = (
                f"| {len(ops)} | {rows} | {rate:.3g} | {rate_g:.3g} | {rate / rate_g:.2f}x | "
                f"{ours:.3f} | {theirs:.3f} |"
            )
            if dense:
                td = _time_ours(E.evaluate_dense_jit, spec, tokens, consts, x, repeats)
                line += f" {theirs / td:.2f}x |"
            print(line, flush=True)
            results.append((len(ops), rows, rate, rate_g))
        print(f"(ops {ops}: {population} programs, {nodes / population:.1f} nodes on average)")
    return results


def operon_throughput(population, rows_list, repeats, n_features=5, threads=1):
    """Operon's own evaluator on its own random trees, sizes uniform in 1..MAX_NODES.

    pyoperon 0.6.2: a primitive set with + - * / sin cos log sqrt (through `Problem`, whose
    `ConfigurePrimitiveSet` takes the OR of the node types), `BalancedTreeCreator` trees of
    exactly the drawn length, and `EvaluateTrees` (C++, `threads` threads) writing all of them
    into a float32 [trees, rows] buffer (in chunks of trees to bound memory). A node is every
    tree node (`Tree.Length`: operators, variables and constants; an Operon variable node
    carries its weight, as one node).
    """
    from importlib.metadata import version

    try:
        import pyoperon as op
        from pyoperon.sklearn import _KNOWN_SYMBOLS
    except ImportError:
        print("\npyoperon is not installed: pip install -e '.[bench]'")
        return None
    symbols = ("add", "sub", "mul", "div", "sin", "cos", "log", "sqrt", "constant", "variable")
    node_types = 0
    for s in symbols:
        node_types |= int(_KNOWN_SYMBOLS[s])
    print(f"\npyoperon {version('pyoperon')}, {population} random trees "
          f"(BalancedTreeCreator, <= {MAX_NODES} nodes, 8 operators), EvaluateTrees with "
          f"{threads} thread(s)")  # fmt: skip
    print("| Operon rows | node-rows/s | programs x rows / s | s |")
    print("|---|---|---|---|")
    sizes = np.random.default_rng(0).integers(1, MAX_NODES + 1, population)
    results = []
    for rows in rows_list:
        x = np.random.default_rng(1).uniform(-3, 3, size=(rows, n_features))
        ds = op.Dataset(np.asfortranarray(x))
        problem = op.Problem(ds)
        problem.ConfigurePrimitiveSet(node_types)
        inputs = [v.Hash for v in ds.Variables]
        pset = problem.PrimitiveSet  # the creator keeps a reference: hold it alive
        creator = op.BalancedTreeCreator(pset, inputs, 0.0)
        rng = op.RandomGenerator(0)
        trees = [creator(rng, int(n), 1, 1000) for n in sizes]
        nodes = sum(t.Length for t in trees)
        assert max(t.Length for t in trees) <= MAX_NODES
        chunk = max(1, min(population, 2**23 // rows))  # output buffer <= 32 MB
        out = np.zeros((chunk, rows), np.float32)
        whole = op.Range(0, rows)

        def run(trees=trees, ds=ds, whole=whole, out=out, chunk=chunk):
            for i in range(0, len(trees), chunk):
                part = trees[i : i + chunk]
                op.EvaluateTrees(part, ds, whole, out[: len(part)], threads)

        s = _median_time(run, repeats)
        print(f"| {rows} | {nodes * rows / s:.3g} | {population * rows / s:.3g} | {s:.3f} |",
              flush=True)  # fmt: skip
        results.append((rows, nodes * rows / s, population * rows / s))
    print(f"({population} trees, {nodes / population:.1f} nodes on average)")
    return results


def generation_time(populations, rows_list, repeats: int, n_features: int = 5):
    print("\n| population | rows | s / generation |")
    print("|---|---|---|")
    spec = E.Spec(E.DEFAULT_OPS, n_features, 30)
    obj = RegressionObjective(spec)
    for pop in populations:
        params = G.SearchParams(spec=spec, islands=4, island_size=pop // 4, max_size=30)
        for rows in rows_list:
            rng = np.random.default_rng(0)
            x = rng.uniform(1, 3, size=(rows, n_features)).astype(np.float32)
            data = {"x": jnp.asarray(x), "y": jnp.asarray(x[:, 0] * x[:, 1] + np.sin(x[:, 2])),
                    "num_vars": jnp.int32(n_features)}  # fmt: skip
            state = G.init_state_jit(params, obj, data, jax.random.key(0))
            holder = {"s": state}
            counter = iter(range(10**6))

            def gen(params=params, data=data, holder=holder, counter=counter):
                s, _ = G.generation_jit(
                    params, obj, holder["s"], data, jax.random.key(next(counter))
                )
                holder["s"] = jax.block_until_ready(s)

            print(f"| {pop} | {rows} | {_median_time(gen, repeats):.3f} |", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--population", type=int, default=1000)
    ap.add_argument("--rows", type=int, nargs="+", default=[1000, 10000, 100000])
    ap.add_argument("--gen-populations", type=int, nargs="+", default=[1000])
    ap.add_argument("--gen-rows", type=int, nargs="+", default=[1000])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument(
        "--block",
        type=int,
        default=5,
        help="interpreter calls per side back to back in each round (1: alternate single calls)",
    )
    ap.add_argument("--dense", action="store_true", help="also time the reference interpreter")
    ap.add_argument("--skip", nargs="*", default=[], choices=["interp", "operon", "generation"])
    args = ap.parse_args()
    print(f"jax {jax.__version__}, {platform.machine()}, {jax.devices()[0].platform}, "
          f"{platform.python_version()}")  # fmt: skip
    if "interp" not in args.skip:
        interpreter_throughput(
            args.population, args.rows, args.repeats, dense=args.dense, block=args.block
        )
    if "operon" not in args.skip:
        operon_throughput(args.population, args.rows, args.repeats)
    if "generation" not in args.skip:
        generation_time(args.gen_populations, args.gen_rows, args.repeats)


if __name__ == "__main__":
    main()
