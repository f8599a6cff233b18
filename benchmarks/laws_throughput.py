"""Interpreter throughput of the laws engine vs gplearn, and time per generation.

    python benchmarks/laws_throughput.py [--rows 1000 10000 100000] [--population 1000]

1. Node-row evaluations per second: one population of random expressions (our grow
   generator, sizes up to 15 nodes) evaluated on R random rows; a node-row is one node of one
   expression on one row, counting only real nodes (not padding). gplearn evaluates the
   same expressions (converted to its `_Program`s) one after another with numpy, as in its
   fitness loop; the ratio ours / gplearn is printed.
2. Time per generation (selection, variation, evaluation, constant optimisation) as the
   population and the rows grow.

Times are medians of `--repeats` calls after one warm-up (compilation excluded).
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

OPS = ("add", "sub", "mul", "div", "sin", "cos", "log", "sqrt")
GPLEARN_NAMES = {"add": "add", "sub": "sub", "mul": "mul", "div": "div", "sin": "sin",
                 "cos": "cos", "log": "log", "sqrt": "sqrt"}  # fmt: skip


def _median_time(fn, repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def to_gplearn_programs(spec, tokens, consts, n_features):
    """Our prefix arrays as gplearn `_Program` objects (same nodes, same order)."""
    from gplearn._program import _Program
    from gplearn.functions import _function_map

    programs = []
    for t, c in zip(np.asarray(tokens), np.asarray(consts), strict=True):
        prog = []
        for tok, val in E.to_list(spec, t, c):
            if tok == E.CONST:
                prog.append(float(val))
            elif tok < spec.first_op:
                prog.append(int(tok - E.FIRST_VAR))
            else:
                prog.append(_function_map[GPLEARN_NAMES[spec.ops[tok - spec.first_op]]])
        p = _Program(
            function_set=[_function_map[GPLEARN_NAMES[o]] for o in OPS],
            arities={1: [], 2: []},
            init_depth=(2, 6),
            init_method="half and half",
            n_features=n_features,
            const_range=(-1.0, 1.0),
            metric=None,
            p_point_replace=0.05,
            parsimony_coefficient=0.0,
            random_state=np.random.RandomState(0),
            program=prog,
        )
        programs.append(p)
    return programs


def interpreter_throughput(population: int, rows_list, repeats: int, n_features: int = 5):
    spec = E.Spec(OPS, n_features, 16)
    params = G.SearchParams(spec=spec, islands=1, island_size=population, tournament_size=2,
                            init_max_size=15, max_size=16, migrants=0, p_terminal=0.0)  # fmt: skip
    tokens, consts = jax.jit(lambda k: G.random_trees(params, k, population, n_features))(
        jax.random.key(0)
    )
    nodes = int(np.sum(np.asarray(tokens) != E.PAD))
    try:
        programs = to_gplearn_programs(spec, tokens, consts, n_features)
    except ImportError:
        programs = None
    print(f"population {population}, mean size {nodes / population:.1f} nodes, ops {OPS}")
    print("| rows | ours node-rows/s | gplearn node-rows/s | ours / gplearn | ours s | gplearn s |")
    print("|---|---|---|---|---|---|")
    results = []
    for rows in rows_list:
        x = np.random.default_rng(1).uniform(-3, 3, size=(rows, n_features)).astype(np.float32)
        xd = jnp.asarray(x)
        ours = _median_time(
            lambda xd=xd: E.evaluate_jit(spec, tokens, consts, xd, 2048).block_until_ready(),
            repeats,
        )
        if programs is not None:
            xg = x.astype(np.float64)
            with np.errstate(all="ignore"):
                theirs = _median_time(lambda xg=xg: [p.execute(xg) for p in programs], repeats)
        else:
            theirs = float("nan")
        rate, rate_g = nodes * rows / ours, nodes * rows / theirs
        results.append((rows, rate, rate_g))
        print(f"| {rows} | {rate:.3g} | {rate_g:.3g} | {rate / rate_g:.2f}x | {ours:.3f} | "
              f"{theirs:.3f} |", flush=True)  # fmt: skip
    if programs is None:
        print("gplearn is not installed: pip install -e '.[bench]'")
    return results


def generation_time(populations, rows_list, repeats: int, n_features: int = 5):
    print("\n| population | rows | s / generation |")
    print("|---|---|---|")
    spec = E.Spec(OPS, n_features, 30)
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
    ap.add_argument("--gen-populations", type=int, nargs="+", default=[250, 1000, 2000])
    ap.add_argument("--gen-rows", type=int, nargs="+", default=[250, 1000, 2000])
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    print(f"jax {jax.__version__}, {platform.machine()}, {jax.devices()[0].platform}, "
          f"{platform.python_version()}")  # fmt: skip
    interpreter_throughput(args.population, args.rows, args.repeats)
    generation_time(args.gen_populations, args.gen_rows, args.repeats)


if __name__ == "__main__":
    main()
