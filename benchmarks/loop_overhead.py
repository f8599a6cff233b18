"""Steps per second of `frontier.loop.train` against a bare hand-written jitted loop.

Same model (MLP 784-512-512-10), same optimiser (Adam), same host-generated batches (256
MNIST-shaped examples per step, generated with numpy and copied to the device each step).
The step time is the loop's steady cadence: every batch request is time-stamped, and the
mean interval between requests over the middle of the run (after the first fifth, before the
end) is the wall time per step, with compilation, the final checkpoint and the report left
out. It includes everything the loop does per step (logging flushes, transfers, the batch
thread). The two loops alternate; per repeat the ratio is taken, and the median over repeats
is the result (this machine's speed drifts by more than the target between runs).

    python benchmarks/loop_overhead.py [--steps 1000] [--repeats 5]

Target: the loop's per-step overhead stays under 5% of the bare loop's step time.
"""

from __future__ import annotations

import argparse
import functools
import platform
import tempfile
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax

import frontier
from frontier import loop
from frontier.config import base_config
from frontier.experiment import TrainState
from frontier.nn import MLP

BATCH, FEATURES, CLASSES = 256, 784, 10


STAMPS: list[float] = []  # perf_counter() at every batch request


def make_batch(step: int, seed: int) -> dict:
    STAMPS.append(time.perf_counter())
    rng = np.random.default_rng([seed, step])
    x = rng.random((BATCH, FEATURES), dtype=np.float32)
    return {"x": x, "y": rng.integers(0, CLASSES, BATCH).astype(np.int32)}


NET = MLP((512, 512), CLASSES)
OPT = optax.adam(1e-3)


def loss_fn(params, batch, key):
    logits = NET.apply({"params": params}, batch["x"])
    return optax.softmax_cross_entropy_with_integer_labels(logits, batch["y"]).mean(), {}


@frontier.experiment("bench/mlp", "MLP on random MNIST-shaped batches (loop overhead benchmark)")
class BenchMLP(frontier.Experiment):
    def __init__(self, config):
        super().__init__(config)
        self._step = frontier.optax_step(loss_fn, OPT)

    def init(self, key):
        params = NET.init(key, jnp.zeros((1, FEATURES)))["params"]
        return TrainState(params, OPT.init(params))

    def step(self, state, batch, key):
        return self._step(state, batch, key)

    def batch(self, step, seed):
        return make_batch(step, seed)


def _clocks() -> np.ndarray:
    return np.array([time.perf_counter(), time.process_time()])


def time_frontier(steps: int, health: bool = True) -> np.ndarray:
    """(wall, cpu) seconds of `frontier.loop.train` for `steps` steps."""
    cfg = base_config(
        "bench/mlp",
        steps=steps,
        log_every=100,
        eval_every=steps,
        checkpoint_every=steps,
        health_metrics=health,
    )
    cfg.lock()
    with tempfile.TemporaryDirectory() as d:
        t = _clocks()
        loop.train(cfg, Path(d), progress=False)
        return _clocks() - t


def time_bare(steps: int) -> np.ndarray:
    """(wall, cpu) seconds of a hand-written jitted loop for `steps` steps."""
    t = _clocks()

    @jax.jit
    def init(key):
        params = NET.init(key, jnp.zeros((1, FEATURES)))["params"]
        return params, OPT.init(params)

    def step(params, opt_state, batch, key, i):
        key = jax.random.fold_in(key, i)  # inside the jit: no eager op per step
        (loss, _), grads = jax.value_and_grad(loss_fn, has_aux=True)(params, batch, key)
        updates, opt_state = OPT.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    step = jax.jit(step, donate_argnums=(0, 1))
    key = jax.random.key(0)
    params, opt_state = init(key)
    losses = []
    for i in range(steps):
        batch = jax.device_put(make_batch(i, 0))
        params, opt_state, loss = step(params, opt_state, batch, key, jnp.int32(i))
        losses.append(loss)
    jax.block_until_ready((params, losses))
    return _clocks() - t


def cadence(fn, steps: int) -> float:
    """Mean seconds between batch requests over the middle of a run of `steps` steps."""
    STAMPS.clear()
    fn(steps)
    t = np.asarray(STAMPS[steps // 5 : steps - 5])
    return float(np.mean(np.diff(t)))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args()
    loops = {
        "bare": time_bare,
        "frontier": time_frontier,
        "frontier, no health": functools.partial(time_frontier, health=False),
    }
    per_step = {k: [] for k in loops}
    for _ in range(args.repeats):
        for name, fn in loops.items():
            per_step[name].append(cadence(fn, args.steps))
    times = {k: np.asarray(v) for k, v in per_step.items()}
    print(
        f"machine: {platform.processor() or platform.machine()}, {jax.device_count()} device(s),"
        f" jax {jax.__version__}, {args.steps} steps x {args.repeats} repeats"
    )
    for name, t in times.items():
        line = f"{name:20s} ms/step per repeat: {' '.join(f'{1e3 * v:.3f}' for v in t)}"
        if name != "bare":
            ratios = t / times["bare"]
            line += (
                f"  overhead per repeat: {' '.join(f'{100 * (r - 1):+.1f}%' for r in ratios)};"
                f" median {100 * (np.median(ratios) - 1):+.1f}%"
            )
        print(line)
    print(
        "frontier: the default loop (logs l2_grads, l2_params, l2_updates every step); "
        "no health: train.health_metrics=False"
    )


if __name__ == "__main__":
    main()
