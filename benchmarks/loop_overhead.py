"""Steps per second of `frontier.loop.train` against a bare hand-written jitted loop.

Same model (MLP 784-512-512-10), same optimiser (Adam), same host-generated batches (256
MNIST-shaped examples per step, generated with numpy and copied to the device each step).
Fixed costs (compilation, the final checkpoint, the report and its plots) are cancelled by
timing N and 2N steps and dividing the difference by N: what is left is the per-step cost.
Both wall time (the target) and process CPU time (all threads; less sensitive to other jobs
on the machine) are reported; the two loops alternate and the best of the repeats is kept.

    python benchmarks/loop_overhead.py [--steps 500] [--repeats 3]

Target: the loop's per-step overhead stays under 5% of the bare loop's step time.
"""

from __future__ import annotations

import argparse
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


def make_batch(step: int, seed: int) -> dict:
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


def time_frontier(steps: int) -> np.ndarray:
    """(wall, cpu) seconds of `frontier.loop.train` for `steps` steps."""
    cfg = base_config(
        "bench/mlp", steps=steps, log_every=100, eval_every=steps, checkpoint_every=steps
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


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--steps", type=int, default=500)
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args()
    n = args.steps
    per_step = {"bare": [], "frontier": []}  # rows: (wall, cpu) seconds per step
    for _ in range(args.repeats):
        for name, fn in (("bare", time_bare), ("frontier", time_frontier)):
            per_step[name].append((fn(2 * n) - fn(n)) / n)
    bare, front = (np.min(per_step[k], axis=0) for k in ("bare", "frontier"))
    print(
        f"machine: {platform.processor() or platform.machine()}, {jax.device_count()} device(s),"
        f" jax {jax.__version__}"
    )
    print(f"bare loop:     {1 / bare[0]:8.1f} steps/s  ({bare[0] * 1e3:.3f} ms/step wall)")
    print(f"frontier.loop: {1 / front[0]:8.1f} steps/s  ({front[0] * 1e3:.3f} ms/step wall)")
    print(f"overhead: {100 * (front[0] / bare[0] - 1):+.1f}% wall  (best of {args.repeats}, N={n})")
    print(
        f"CPU time per step: bare {bare[1] * 1e3:.3f} ms, frontier {front[1] * 1e3:.3f} ms "
        f"({100 * (front[1] / bare[1] - 1):+.1f}%)"
    )


if __name__ == "__main__":
    main()
