"""Memory and speed of MAML's inner loop with and without rematerialisation (jax.checkpoint).

Second-order MAML on the sinusoid MLP (1-40-40-1), meta-batch 25, K=10, for several numbers of
inner steps. Memory is XLA's compiled temporary-buffer size of the meta-gradient; time is the
mean of 20 jitted calls after warm-up.

    python benchmarks/maml_remat.py
"""

from __future__ import annotations

import time

import jax
import jax.numpy as jnp

from research.meta import algorithms as alg
from research.meta.models import SinusoidMLP
from research.meta.tasks import sample_sinusoid_tasks


def main():
    net = SinusoidMLP()
    params = net.init(jax.random.key(0), jnp.zeros((1, 1)))["params"]
    tasks = sample_sinusoid_tasks(jax.random.key(1), 25, 10, 10)

    def apply(p, x):
        return net.apply({"params": p}, x)

    print("inner steps | remat | temp memory (KiB) | ms per meta-gradient")
    for steps in (1, 5, 20, 50):
        for remat in (False, True):

            def loss(p, remat=remat, steps=steps):
                return alg.maml_meta_batch_loss(
                    p,
                    tasks,
                    apply_fn=apply,
                    loss_fn=alg.mse_loss,
                    num_steps=steps,
                    inner_lr=0.01,
                    remat=remat,
                )[0]

            grad = jax.jit(jax.grad(loss))
            compiled = grad.lower(params).compile()
            mem = compiled.memory_analysis().temp_size_in_bytes / 1024
            jax.block_until_ready(grad(params))
            t = time.perf_counter()
            for _ in range(20):
                out = grad(params)
            jax.block_until_ready(out)
            ms = (time.perf_counter() - t) / 20 * 1e3
            print(f"{steps:11d} | {remat!s:5} | {mem:17.0f} | {ms:8.2f}")


if __name__ == "__main__":
    main()
