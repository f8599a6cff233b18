"""Throughput of the dual module's translation models (the full reproduction's model size).

- training: target tokens per second of one jitted step (one seed) for `supervised`
  (teacher-forced cross-entropy, both directions), `backtranslation` and `dual` (the
  supervised term plus the two dual-learning games: K middle translations by beam search or
  by sampling, LM and reconstruction rewards, policy and likelihood gradients); tokens counted
  are the non-pad target tokens the step trains on;
- decoding: test sentences per second of jitted beam search (beams 1 and 4), A->B.

    python benchmarks/dual_throughput.py [--pair en-de] [--steps 20] [--beam 4]
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import jax
import numpy as np

from research.dual.configs import translation_config
from research.dual.models import beam_search, token_mask
from research.dual.translation import Translation


def _time(fn, repeats: int) -> float:
    jax.block_until_ready(fn())  # compile and warm up
    start = time.perf_counter()
    for _ in range(repeats):
        out = fn()
    jax.block_until_ready(out)
    return (time.perf_counter() - start) / repeats


def training_rate(
    method: str, steps: int, pair: str, generate: str = "beam"
) -> tuple[float, float]:
    """(target tokens per second, ms per step) of `method`'s jitted step."""
    cfg = translation_config(method, None, pair=pair)
    cfg.dual.generate = generate
    cfg.warm_steps = 0
    cfg.lm_steps = 0
    exp = Translation(cfg)
    key = jax.random.key(0)
    state = jax.jit(exp.init)(key)
    step = jax.jit(exp.step)
    holder = {"state": state}

    def one():
        holder["state"], m = step(holder["state"], None, key)
        return m["loss"]

    seconds = _time(one, steps)
    c = exp.corpora
    mean_len = float(np.mean(np.sum(np.asarray(token_mask(c.parallel_b)), 1)))
    mean_len_a = float(np.mean(np.sum(np.asarray(token_mask(c.parallel_a)), 1)))
    tokens = cfg.optim.batch_size * (mean_len + mean_len_a)  # both directions
    if method == "backtranslation":
        tokens += cfg.optim.mono_batch_size * (mean_len + mean_len_a)
    if method == "dual":
        # each game trains on K translations of each monolingual sentence, through the
        # primal (policy gradient) and the dual (reconstruction) model
        k, m = cfg.dual.k, cfg.optim.mono_batch_size
        tokens += 2 * k * m * (mean_len + mean_len_a)
    return tokens / seconds, 1000 * seconds


def beam_rate(beam: int, repeats: int, pair: str) -> float:
    cfg = translation_config("supervised", None, pair=pair)
    cfg.warm_steps = 0
    exp = Translation(cfg)
    params = jax.jit(exp.init)(jax.random.key(0)).params["f"]
    src = exp.data["test_a"]
    search = jax.jit(lambda p, s: beam_search(exp.f, p, s, beam))
    seconds = _time(lambda: search(params, src)[1], repeats)
    return src.shape[0] / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--beam", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--pair", default="en-de", choices=("en-de", "digits-en"))
    args = parser.parse_args()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, jax {jax.__version__}, "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    print(f"pair: {args.pair}")
    print("| measurement | rate | ms per call |")
    print("|---|---|---|")
    for method, generate in (
        ("supervised", "beam"),
        ("backtranslation", "beam"),
        ("dual", "beam"),
        ("dual", "sample"),
    ):
        rate, ms = training_rate(method, args.steps, args.pair, generate)
        how = {"beam": "beam-search", "sample": "sampled"}[generate]
        label = f"{method} ({how} middle translations)" if method == "dual" else method
        print(f"| training step, {label} | {rate:,.0f} target tokens/s | {ms:.1f} |")
    for beam in sorted({1, args.beam}):
        rate = beam_rate(beam, args.repeats, args.pair)
        print(
            f"| beam search, beam {beam} (500 test sentences) | {rate:,.0f} sentences/s | "
            f"{1000 * 500 / rate:.1f} |"
        )


if __name__ == "__main__":
    main()
