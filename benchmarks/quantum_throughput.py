"""Quantum module throughput: batched jitted circuits vs the usual PennyLane loop; exact QBM cost.

1. Classifier training steps per second on the parity demo's circuit (4 qubits, basis
   embedding, 2 layers of Rot + CNOT ring, bias, square loss, Nesterov momentum 0.5) and a
   batch of `--batch` examples, trained
   - the usual PennyLane way: autograd interface, `pennylane.numpy`, a Python loop over the
     samples of the batch, `qml.NesterovMomentumOptimizer.step` (as in PennyLane's demo);
   - by this module: `research.quantum` VariationalClassifier's step (PennyLane default.qubit
     QNode, interface jax, backprop, vmapped over the batch and jitted);
   - the same step on the pure-JAX statevector backend (`circuit.backend=jax`).
   Compilation / warm-up is timed separately and excluded from steps per second.
2. Barren-plateau evaluation (200 random circuits, d<Z0 Z1>/d theta, jit + vmap): compile and
   run time of the pure-JAX backend against PennyLane's backprop path at a few depths.
3. Seconds per exact QBM training iteration (fully visible, exact log-likelihood gradient by
   diagonalising the 2^n x 2^n Hamiltonian in float64) for n = 6, 8, 10 (and 12 unless
   `--max-qubits` is lower), and the growth factor per added qubit.

    python benchmarks/quantum_throughput.py [--batch 10] [--steps 50] [--max-qubits 12]
"""

from __future__ import annotations

import argparse
import os
import platform
import time
import warnings

import jax
import jax.numpy as jnp
import numpy as np

from frontier.config import configs_root, load_config

warnings.filterwarnings("ignore", message=".*requested in astype is not available")
CONFIGS = configs_root() / "quantum"


def _timed(fn, repeats: int) -> float:
    """Seconds per call of `fn` (already warm), averaged over `repeats` calls."""
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - start) / repeats


# ---------------------------------------------------------------- 1. classifier training


def autograd_steps_per_second(batch: int, steps: int) -> tuple[float, float]:
    """(steps/s, first-step seconds) of the parity demo trained the usual PennyLane way."""
    import pennylane as qml
    from pennylane import numpy as pnp

    from research.quantum.experiments import parity_data

    n = 4
    dev = qml.device("default.qubit", wires=n)

    @qml.qnode(dev, interface="autograd")
    def circuit(weights, x):
        qml.BasisEmbedding(x, wires=range(n))
        for layer in range(weights.shape[0]):
            for i in range(n):
                qml.Rot(*weights[layer, i], wires=i)
            for i in range(n):
                qml.CNOT(wires=[i, (i + 1) % n])
        return qml.expval(qml.PauliZ(0))

    def cost(weights, bias, x, y):
        predictions = [circuit(weights, xi) + bias for xi in x]  # one sample at a time
        return sum((yi - p) ** 2 for yi, p in zip(y, predictions, strict=True)) / len(y)

    xtr, ytr, _, _ = parity_data(n, 0.625, 0)
    rng = np.random.default_rng(0)
    weights = pnp.array(0.01 * rng.normal(size=(2, n, 3)), requires_grad=True)
    bias = pnp.array(0.0, requires_grad=True)
    opt = qml.NesterovMomentumOptimizer(0.5)
    xs = pnp.array(xtr.astype(int), requires_grad=False)
    ys = pnp.array(ytr, requires_grad=False)

    def one_step(t):
        idx = np.arange(t * batch, (t + 1) * batch) % len(xs)
        nonlocal weights, bias
        weights, bias, _, _ = opt.step(cost, weights, bias, xs[idx], ys[idx])

    start = time.perf_counter()
    one_step(0)
    first = time.perf_counter() - start
    start = time.perf_counter()
    for t in range(1, steps + 1):
        one_step(t)
    return steps / (time.perf_counter() - start), first


def module_steps_per_second(backend: str, batch: int, steps: int) -> tuple[float, float]:
    """(steps/s, compile seconds) of VariationalClassifier's jitted, vmapped step."""
    from research.quantum.experiments import VariationalClassifier

    cfg = load_config(
        str(CONFIGS / "parity.py"),
        [f"circuit.backend={backend}", f"optim.batch_size={batch}"],
    )
    exp = VariationalClassifier(cfg)
    state = exp.init(jax.random.key(0))
    batches = [jax.device_put(exp.batch(t, 0)) for t in range(steps + 1)]
    key = jax.random.key(1)
    step = jax.jit(exp.step)
    start = time.perf_counter()
    state, metrics = step(state, batches[0], key)
    jax.block_until_ready(metrics)
    compile_s = time.perf_counter() - start
    start = time.perf_counter()
    for t in range(1, steps + 1):
        state, metrics = step(state, batches[t], key)
    jax.block_until_ready(metrics)
    return steps / (time.perf_counter() - start), compile_s


# ---------------------------------------------------------------- 2. barren-plateau circuits


def barren_eval_seconds(backend: str, qubits: int, layers: int, samples: int = 200):
    """(compile seconds, run seconds) of the barren-plateau gradient evaluation."""
    from research.quantum import circuits

    circ = circuits.make_circuit("random", qubits, backend=backend, batch=samples)

    @jax.jit
    def evaluate(key):
        u = jax.random.uniform(key, (2, samples, layers, qubits))
        angles = 2 * jnp.pi * u[0]
        choices = jnp.minimum(jnp.floor(3 * u[1]), 2).astype(jnp.int32)

        def first_grad(a, ch):
            return jax.grad(lambda a: circ({"angles": a, "choices": ch}, None))(a)[0, 0]

        return jnp.var(jax.vmap(first_grad)(angles, choices))

    key = jax.random.key(0)
    start = time.perf_counter()
    compiled = evaluate.lower(key).compile()
    compile_s = time.perf_counter() - start
    jax.block_until_ready(compiled(key))
    run_s = _timed(lambda: jax.block_until_ready(compiled(key)), 3)
    return compile_s, run_s


# ---------------------------------------------------------------- 3. exact QBM iterations


def qbm_seconds_per_iteration(n: int, model: str = "qbm", budget_s: float = 10.0):
    """(seconds per iteration, compile seconds, iterations timed) of the QBM step at N = n."""
    from research.quantum.qbm import QBM

    exp = QBM(load_config(str(CONFIGS / f"qbm_{model}.py"), [f"qbm.visible={n}"]))
    state = exp.init(jax.random.key(0))
    step = jax.jit(exp.step)
    key = jax.random.key(1)
    start = time.perf_counter()
    state, metrics = step(state, None, key)
    jax.block_until_ready(metrics)
    first = time.perf_counter() - start
    times = []
    while not times or (sum(times) < budget_s and len(times) < 20):
        start = time.perf_counter()
        state, metrics = step(state, None, key)
        jax.block_until_ready(metrics)
        times.append(time.perf_counter() - start)
    per = float(np.median(times))
    return per, first - per, len(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=10, help="examples per training step")
    parser.add_argument("--steps", type=int, default=50, help="timed steps (autograd loop)")
    parser.add_argument("--max-qubits", type=int, default=12, help="largest exact QBM size")
    parser.add_argument("--skip", default="", help="comma list of sections to skip: 1,2,3")
    args = parser.parse_args()
    skip = set(args.skip.split(","))
    print(
        f"machine: {platform.node()} {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; jax {jax.__version__} "
        f"on {jax.default_backend()}"
    )
    import pennylane as qml

    print(f"pennylane {qml.__version__}")

    if "1" not in skip:
        print(f"\n1. Parity classifier (4 qubits, 2 layers), batch {args.batch}: training steps/s")
        ag, ag_first = autograd_steps_per_second(args.batch, args.steps)
        pl, pl_compile = module_steps_per_second("pennylane", args.batch, 20 * args.steps)
        sv, sv_compile = module_steps_per_second("jax", args.batch, 20 * args.steps)
        print(f"{'path':62s} {'steps/s':>10s} {'first step s':>13s} {'x autograd':>11s}")
        rows = [
            ("PennyLane autograd, numpy-style, one sample at a time", ag, ag_first),
            ("PennyLane default.qubit backprop, jax interface, jit+vmap", pl, pl_compile),
            ("pure-JAX statevector backend, jit+vmap", sv, sv_compile),
        ]
        for name, rate, first in rows:
            print(f"{name:62s} {rate:10.1f} {first:13.2f} {rate / ag:11.1f}")
        print(f"pure-JAX / PennyLane-jax steps/s ratio: {sv / pl:.2f}")

    if "2" not in skip:
        print("\n2. Barren-plateau gradients, 200 random circuits, 4 qubits (jit + vmap)")
        print(f"{'backend':12s} {'layers':>6s} {'compile s':>10s} {'run s':>10s}")
        # PennyLane's path unrolls every gate into the XLA program: its compile time grows
        # with depth (at 50 layers it took minutes here), so it is timed at 5 layers only.
        for backend, layers in (("jax", 5), ("pennylane", 5), ("jax", 50)):
            c, r = barren_eval_seconds(backend, 4, layers)
            print(f"{backend:12s} {layers:6d} {c:10.2f} {r:10.4f}")

    if "3" not in skip:
        print("\n3. Exact QBM training iteration (fully visible, exact gradient, float64)")
        print(
            f"{'n':>3s} {'dim':>6s} {'s/iter':>10s} {'compile s':>10s} {'timed':>6s} {'growth':>8s}"
        )
        previous = None
        for n in (6, 8, 10, 12):
            if n > args.max_qubits:
                break
            per, compile_s, count = qbm_seconds_per_iteration(n)
            growth = "" if previous is None else f"{(per / previous) ** 0.5:8.2f}"
            print(f"{n:3d} {2**n:6d} {per:10.4f} {compile_s:10.2f} {count:6d} {growth:>8s}")
            previous = per
        print("growth: factor per added qubit, sqrt of the ratio to n - 2")
        bm, _, _ = qbm_seconds_per_iteration(10, "bm", budget_s=2.0)
        print(f"classical BM (Gamma = 0) at n = 10: {bm * 1e3:.3f} ms per iteration")


if __name__ == "__main__":
    main()
