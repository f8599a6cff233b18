"""Device check: what this machine's accelerator (or CPU) does with every research module.

    python benchmarks/device_check.py [--quick] [--skip-smoke] [--workdir DIR]

Prints the platform and device kind, then two tables:

1. Smoke runs: one config per research module run end to end in its `:smoke` variant through
   `frontier.loop.run_config` (the same path as `tests/test_configs.py`), with its wall time
   (compilation included: on a GPU that is most of it) and its first evaluation metric.
2. The figures that differ most between CPU and GPU, compilation excluded (medians of timed
   calls after a warm-up call):
   - MAML meta-step time, second order: the sinusoid MLP (meta-batch 25, as in
     `configs/meta/sinusoid_maml.py`) and the Conv-4 few-shot step (5-way 1-shot, 32 filters,
     meta-batch 8, as in `configs/meta/fewshot_digits_maml.py`) with the tasks looped
     (`meta.task_map=map`, the configs' default, faster on CPU) and vmapped
     (`meta.task_map=vmap`, the batched program accelerators want);
   - symbolic regression node-rows/s: `research.laws.expr.evaluate_jit` on 1000 random
     expressions of at most 30 nodes (float32) over 10,000 rows;
   - PennyLane training steps/s: the parity classifier's jitted, vmapped step
     (`configs/quantum/parity.py`, default.qubit, backprop, batch 10) and the same step on
     the pure-JAX statevector backend.

On this repository's CI machine (2 CPU cores) the whole check takes 2.5-5 minutes; see
BENCHMARKS.md, "Device check". `--quick` shrinks every size and runs one smoke config (about
a minute, mostly compilation), `--skip-smoke` leaves out table 1. A failing row is reported
in the table, not raised, so one broken module does not hide the others' numbers; the exit
code is 1 if any row failed.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
import traceback
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from frontier.config import configs_root, load_config

# One config per module: the cheapest smoke run that still exercises the module's step.
SMOKE_CONFIGS = (
    ("classic", "classic/digits_mlp.py"),
    ("meta", "meta/sinusoid_maml.py"),  # the Conv-4 few-shot step is timed in table 2
    ("dual", "dual/digits_dsl.py"),
    ("quantum", "quantum/parity.py"),
    ("quantum", "quantum/qbm_qbm.py"),
    ("laws", "laws/feynman.py"),
    ("synthesis", "synthesis/deepcoder_t3.py"),
    ("rl", "rl/cartpole_ppo.py"),
)
QUICK_SMOKE = (("classic", "classic/digits_mlp.py"),)
# The evaluation metric shown for a smoke run: the first name containing one of these.
HEADLINE = ("accuracy", "return", "mse_k10_step10", "mse", "kl", "loss")


@dataclass
class Row:
    """One line of a table: a name, a number with its unit, and a note."""

    name: str
    value: float | None
    unit: str
    note: str = ""
    failed: bool = False


def device_summary() -> dict[str, str]:
    """Platform, device kind and count, JAX version and host, for the table's header."""
    devices = jax.devices()
    kinds = sorted({d.device_kind for d in devices})
    try:  # accelerators report their memory; CPU devices report none
        stats = jax.local_devices()[0].memory_stats() or {}
    except Exception:
        stats = {}
    memory = f"{stats['bytes_limit'] / 2**30:.1f} GB per device" if "bytes_limit" in stats else "—"
    return {
        "platform": devices[0].platform,
        "device kind": ", ".join(kinds),
        "devices": f"{len(devices)} ({jax.process_count()} process(es))",
        "device memory": memory,
        "jax": f"{jax.__version__} (backend {jax.default_backend()})",
        "host": f"{platform.machine()}, {os.cpu_count()} CPU cores, python "
        f"{platform.python_version()}",
    }


def median_seconds(fn: Callable[[], object], repeats: int) -> float:
    """Median wall seconds of `fn()` (which must block until its result is ready), after one
    untimed warm-up call that compiles it."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def _guarded(name: str, unit: str, measure: Callable[[], tuple[float, str]]) -> Row:
    try:
        value, note = measure()
        return Row(name, value, unit, note)
    except Exception as e:  # a device check reports a broken row and goes on
        traceback.print_exc(file=sys.stderr)
        return Row(name, None, unit, f"failed: {type(e).__name__}: {e}"[:200], failed=True)


# ---------------------------------------------------------------- 1. smoke runs


def smoke_run(config: str, workdir: Path) -> tuple[float, str]:
    """(wall seconds, first evaluation metric) of `configs/<config>:smoke` run in `workdir`."""
    from frontier.loop import run_config

    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = run_config(f"{configs_root() / config}:smoke", workdir, progress=False)
    wall = time.perf_counter() - start
    name = next((n for p in HEADLINE for n in sorted(result.final) if p in n), None)
    name = name or (sorted(result.final)[0] if result.final else None)
    value = float(np.mean(result.final[name])) if name else float("nan")
    return wall, f"{result.steps} steps; {name} = {value:.4g}" if name else f"{result.steps} steps"


def smoke_rows(configs, workdir: Path) -> list[Row]:
    rows = []
    for module, config in configs:
        run_dir = workdir / config.replace("/", "_").removesuffix(".py")
        measure = lambda c=config, d=run_dir: smoke_run(c, d)  # noqa: E731
        rows.append(_guarded(f"{module}: {config} :smoke", "s", measure))
    return rows


# ---------------------------------------------------------------- 2. figures


def _experiment(config: str, overrides: list[str]):
    from frontier import registry

    cfg = load_config(str(configs_root() / config), overrides)
    return registry.get_experiment(cfg.experiment).obj(cfg)


def step_seconds(config: str, overrides: list[str], repeats: int) -> float:
    """Median seconds of one jitted `step` of a config's experiment on one seed's state."""
    exp = _experiment(config, overrides)
    state = exp.init(jax.random.key(0))
    batch = jax.device_put(exp.batch(0, 0))
    step = jax.jit(exp.step)
    key = jax.random.key(1)

    def once():
        jax.block_until_ready(step(state, batch, key))

    return median_seconds(once, repeats)


def maml_rows(quick: bool, conv: bool = True) -> list[Row]:
    """The sinusoid meta-step and (if `conv`) the Conv-4 one, tasks looped and vmapped."""
    repeats = 3 if quick else 5
    sin = ["meta.meta_batch=5"] if quick else []
    rows = [
        _guarded(
            "MAML meta-step, sinusoid MLP 1-40-40-1",
            "ms",
            lambda: (
                1e3 * step_seconds("meta/sinusoid_maml.py", sin, repeats),
                "second order, 1 inner step, meta-batch " + ("5" if quick else "25"),
            ),
        )
    ]
    if not conv:
        return rows
    small = ["model.filters=4", "meta.meta_batch=2"] if quick else []
    for task_map in ("map", "vmap"):
        rows.append(
            _guarded(
                f"MAML meta-step, Conv-4 5-way 1-shot, task_map={task_map}",
                "ms",
                lambda t=task_map: (
                    1e3
                    * step_seconds(
                        "meta/fewshot_digits_maml.py", [*small, f"meta.task_map={t}"], repeats
                    ),
                    "second order, 1 inner step, "
                    + ("4 filters, meta-batch 2" if quick else "32 filters, meta-batch 8"),
                ),
            )
        )
    return rows


def sr_node_rows_per_second(population: int, rows: int, repeats: int) -> tuple[float, str]:
    """Node-row evaluations per second of `expr.evaluate_jit` on random expressions."""
    from research.laws import expr as E
    from research.laws import genetic as G

    num_vars, max_len = 5, 30
    spec = E.Spec(("add", "sub", "mul", "div", "sin", "cos", "log", "sqrt"), num_vars, max_len)
    params = G.SearchParams(spec, init_max_size=max_len, max_size=max_len, p_terminal=0.1)
    tokens, consts = G.random_trees(params, jax.random.key(0), population, num_vars)
    nodes = int(np.sum(np.asarray(tokens) != E.PAD))
    x = jax.random.uniform(jax.random.key(1), (rows, num_vars), jnp.float32, -3.0, 3.0)
    seconds = median_seconds(
        lambda: jax.block_until_ready(E.evaluate_jit(spec, tokens, consts, x, 2048)), repeats
    )
    note = f"{population} expressions, {nodes / population:.1f} nodes each, {rows} rows, float32"
    return nodes * rows / seconds, note


def pennylane_steps_per_second(backend: str, batch: int, steps: int) -> tuple[float, str]:
    """Training steps/s of the parity classifier's jitted step (compilation excluded)."""
    overrides = [f"circuit.backend={backend}", f"optim.batch_size={batch}"]
    exp = _experiment("quantum/parity.py", overrides)
    state = exp.init(jax.random.key(0))
    batches = [jax.device_put(exp.batch(t, 0)) for t in range(steps + 1)]
    step = jax.jit(exp.step)
    key = jax.random.key(1)
    state, metrics = step(state, batches[0], key)  # compiles
    jax.block_until_ready(metrics)
    start = time.perf_counter()
    for t in range(1, steps + 1):
        state, metrics = step(state, batches[t], key)
    jax.block_until_ready(metrics)
    return steps / (time.perf_counter() - start), f"4 qubits, 2 layers, batch {batch}"


def figure_rows(quick: bool) -> list[Row]:
    rows = maml_rows(quick)
    population, n_rows = (100, 1000) if quick else (1000, 10_000)
    rows.append(
        _guarded(
            "symbolic regression, evaluate_jit",
            "node-rows/s",
            lambda: sr_node_rows_per_second(population, n_rows, 3 if quick else 5),
        )
    )
    steps = 5 if quick else 50
    backends = (("pennylane", "PennyLane default.qubit"), ("jax", "pure-JAX statevector"))
    for backend, label in backends:
        rows.append(
            _guarded(
                f"parity classifier training, {label}",
                "steps/s",
                lambda b=backend: pennylane_steps_per_second(b, 10, steps),
            )
        )
    return rows


# ---------------------------------------------------------------- output


def _format_value(v: float | None) -> str:
    if v is None:
        return "—"
    if v >= 1e5:
        return f"{v:.3g}"
    return f"{v:.1f}" if v >= 10 else f"{v:.3g}"


def table(title: str, rows: list[Row]) -> str:
    lines = [f"### {title}", "", "| what | value | unit | note |", "|---|---|---|---|"]
    lines += [f"| {r.name} | {_format_value(r.value)} | {r.unit} | {r.note} |" for r in rows]
    return "\n".join(lines)


def run(quick: bool = False, smoke: bool = True, workdir: Path | None = None) -> list[Row]:
    """Print the device summary and the tables; return every row."""
    started = time.perf_counter()
    print("## Device check\n")
    for k, v in device_summary().items():
        print(f"- {k}: {v}")
    print(flush=True)
    rows: list[Row] = []
    if smoke:
        with tempfile.TemporaryDirectory(prefix="device_check_") as tmp:
            base = Path(workdir) if workdir is not None else Path(tmp)
            runs = smoke_rows(QUICK_SMOKE if quick else SMOKE_CONFIGS, base)
        print(table("Smoke runs (wall time, compilation included)", runs) + "\n", flush=True)
        rows += runs
    figures = figure_rows(quick)
    print(table("Figures that differ between devices (compilation excluded)", figures))
    print(f"\ntotal {time.perf_counter() - started:.0f} s")
    return rows + figures


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="tiny sizes, one smoke run (seconds)")
    p.add_argument("--skip-smoke", action="store_true", help="only the figures table")
    p.add_argument("--workdir", type=Path, help="keep the smoke runs here (default: a temp dir)")
    args = p.parse_args(argv)
    rows = run(quick=args.quick, smoke=not args.skip_smoke, workdir=args.workdir)
    return 1 if any(r.failed for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
