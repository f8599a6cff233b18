"""Circuit experiments: variational classifiers, re-uploading, embedding kernel, barren plateaus.

Each is a `frontier.Experiment` trained (or evaluated) by the shared loop, with its circuit
from `research.quantum.circuits` (PennyLane QNode or pure JAX, `circuit.backend`), vmapped
over the batch and jitted.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

import frontier
from frontier.experiment import MinibatchExperiment, TrainState
from research.quantum import circuits

# ---------------------------------------------------------------- data (generated or bundled)


def parity_data(num_bits: int, train_fraction: float, split_seed: int):
    """Every bit string of `num_bits`, label +1 for odd parity, -1 for even; a random split."""
    bits = ((np.arange(2**num_bits)[:, None] >> np.arange(num_bits - 1, -1, -1)) & 1).astype(
        np.float32
    )
    y = np.where(bits.sum(1) % 2 == 1, 1.0, -1.0).astype(np.float32)
    perm = np.random.default_rng(split_seed).permutation(len(y))
    k = int(round(train_fraction * len(y)))
    return bits[perm[:k]], y[perm[:k]], bits[perm[k:]], y[perm[k:]]


def iris_data(train_fraction: float, split_seed: int):
    """Iris setosa (-1) vs versicolor (+1), 4 features (amplitude-embedded on 2 qubits)."""
    from sklearn.datasets import load_iris
    from sklearn.model_selection import train_test_split

    x, y = load_iris(return_X_y=True)
    keep = y < 2
    x, y = x[keep].astype(np.float32), np.where(y[keep] == 1, 1.0, -1.0).astype(np.float32)
    xtr, xte, ytr, yte = train_test_split(
        x, y, train_size=train_fraction, random_state=split_seed, stratify=y
    )
    return xtr, ytr, xte, yte


def circle_data(num_train: int, num_test: int, split_seed: int):
    """Uniform points in [-1, 1]^2; +1 inside the circle of radius sqrt(2 / pi) (half the area)."""
    rng = np.random.default_rng(split_seed)
    x = rng.uniform(-1, 1, size=(num_train + num_test, 2)).astype(np.float32)
    y = np.where(np.sum(x**2, 1) < 2 / np.pi, 1.0, -1.0).astype(np.float32)
    return x[:num_train], y[:num_train], x[num_train:], y[num_train:]


def double_cake_data(num_sectors: int, points_per_ring: int, noise: float, split_seed: int):
    """Two rings (radii 0.5, 1) cut into sectors; labels alternate by sector and by ring."""
    rng = np.random.default_rng(split_seed)
    xs, ys = [], []
    for ring, radius in enumerate((0.5, 1.0)):
        angle = rng.uniform(0, 2 * np.pi, points_per_ring)
        r = radius + noise * rng.normal(size=points_per_ring)
        sector = np.floor(angle / (2 * np.pi / num_sectors)).astype(int)
        xs.append(np.stack([r * np.cos(angle), r * np.sin(angle)], 1))
        ys.append(np.where((sector + ring) % 2 == 0, 1.0, -1.0))
    x, y = np.concatenate(xs).astype(np.float32), np.concatenate(ys).astype(np.float32)
    perm = rng.permutation(len(y))
    half = len(y) // 2
    return x[perm[:half]], y[perm[:half]], x[perm[half:]], y[perm[half:]]


@functools.cache
def load_data(name: str, train_fraction: float, num_train: int, num_test: int, split_seed: int):
    if name == "parity":
        return parity_data(4, train_fraction, split_seed)
    if name == "iris":
        return iris_data(train_fraction, split_seed)
    if name == "circle":
        return circle_data(num_train, num_test, split_seed)
    if name == "double_cake":
        return double_cake_data(6, num_train, 0.05, split_seed)
    raise ValueError(f"unknown data.name {name!r}; choose parity, iris, circle or double_cake")


def _circuit_from_config(config, kind: str, batch: int):
    c = config.circuit
    return circuits.make_circuit(
        kind,
        c.qubits,
        backend=c.backend,
        device=c.device,
        embedding=c.embedding,
        layers=c.ansatz,
        diff_method=c.diff_method,
        batch=batch,
    )


def _vmap_seeds_ok(config) -> bool:
    # default.qubit traces into XLA and vmaps; devices behind a host callback run seed by seed.
    return config.circuit.backend == "jax" or config.circuit.device == "default.qubit"


# ---------------------------------------------------------------- variational classifiers


@frontier.experiment("quantum/classifier", "Variational quantum classifier (parity, Iris, circle)")
class VariationalClassifier(MinibatchExperiment):
    """prediction = <Z_0>(weights, x) + bias; square loss against labels in {-1, +1}.

    `circuit.kind` "classifier" (embedding + layers) or "reupload" (1 qubit, Perez-Salinas);
    without a bias the square loss of the re-uploading circuit is 4 (1 - fidelity)^2.
    """

    key_metrics = ("loss", "accuracy")

    def __init__(self, config):
        super().__init__(config)
        d, c = config.data, config.circuit
        self.x_train, self.y_train, self.x_test, self.y_test = load_data(
            d.name, d.train_fraction, d.num_train, d.num_test, d.split_seed
        )
        for x, y, split in (
            (self.x_train, self.y_train, "train"),
            (self.x_test, self.y_test, "test"),
        ):
            circuits.check_labels(y, (-1.0, 1.0), f"{split} labels")
            if c.kind == "reupload":
                if x.shape[1] != 2:
                    raise ValueError(f"the re-uploading circuit takes 2 features, got {x.shape[1]}")
            else:
                circuits.check_features(x, c.embedding, c.qubits)
        bs = config.optim.batch_size
        if not 1 <= bs <= len(self.x_train):
            raise ValueError(
                f"optim.batch_size must be between 1 and the {len(self.x_train)} training "
                f"examples, got {bs}"
            )
        self.circuit = _circuit_from_config(config, c.kind, max(bs, len(self.x_test)))
        self.vmap_seeds = _vmap_seeds_ok(config)
        self.optimizer = frontier.make_optimizer(config.optim.name, config.optim.learning_rate)

    def init(self, key):
        c = self.config.circuit
        k1, k2 = jax.random.split(key)
        if c.kind == "reupload":
            weights = {
                "theta": c.init_scale * jax.random.normal(k1, (c.layers, 3)),
                "w": c.init_scale * jax.random.normal(k2, (c.layers, 3)),
            }
        else:
            weights = c.init_scale * jax.random.normal(k1, (c.layers, c.qubits, 3))
        params = {"weights": weights, "bias": jnp.zeros(())}
        return TrainState(params, self.optimizer.init(params))

    def predict(self, params, x):
        """`x [batch, features]` -> `[batch]` real predictions."""
        out = jax.vmap(self.circuit, in_axes=(None, 0))(params["weights"], x)
        bias = params["bias"] if self.config.model.bias else 0.0
        return out.astype(jnp.float32) + bias

    def loss(self, params, batch, key):
        pred = self.predict(params, batch["x"])
        acc = jnp.mean(jnp.sign(pred) == batch["y"])
        return jnp.mean((batch["y"] - pred) ** 2), {"accuracy": acc}

    def evaluate(self, state, key):
        test = self.predict(state.params, self.x_test)
        train = self.predict(state.params, self.x_train)
        return {
            "accuracy": jnp.mean(jnp.sign(test) == self.y_test),
            "train_accuracy": jnp.mean(jnp.sign(train) == self.y_train),
            "loss": jnp.mean((self.y_test - test) ** 2),
        }


# ---------------------------------------------------------------- embedding kernel


def kernel_matrix(kernel_fn, weights, xa: jax.Array, xb: jax.Array) -> jax.Array:
    """`[len(xa), len(xb)]` matrix of k(x, x') = kernel_fn(weights, concat(x, x'))."""
    pairs = jnp.concatenate([jnp.repeat(xa, len(xb), 0), jnp.tile(xb, (len(xa), 1))], axis=1)
    return jax.vmap(kernel_fn, in_axes=(None, 0))(weights, pairs).reshape(len(xa), len(xb))


def target_alignment(k: jax.Array, y: jax.Array) -> jax.Array:
    """Kernel-target alignment <K, y y^T>_F / (||K||_F ||y y^T||_F), labels in {-1, +1}."""
    t = jnp.outer(y, y)
    return jnp.sum(k * t) / (jnp.linalg.norm(k) * jnp.linalg.norm(t))


@frontier.experiment(
    "quantum/kernel", "Quantum embedding kernel trained by kernel-target alignment"
)
class EmbeddingKernel(MinibatchExperiment):
    """Maximises the alignment on random subsets of `optim.batch_size` training points."""

    key_metrics = ("alignment",)

    def __init__(self, config):
        super().__init__(config)
        d, c = config.data, config.circuit
        self.x_train, self.y_train, self.x_test, self.y_test = load_data(
            d.name, d.train_fraction, d.num_train, d.num_test, d.split_seed
        )
        circuits.check_kernel_features(self.x_train, c.qubits)
        circuits.check_labels(self.y_train, (-1.0, 1.0), "train labels")
        self.kernel = _circuit_from_config(config, "kernel", len(self.x_train) ** 2)
        self.vmap_seeds = _vmap_seeds_ok(config)
        self.optimizer = frontier.make_optimizer(config.optim.name, config.optim.learning_rate)

    def init(self, key):
        c = self.config.circuit
        weights = jax.random.uniform(key, (c.layers, c.qubits, 2), minval=0, maxval=2 * jnp.pi)
        return TrainState({"weights": weights}, self.optimizer.init({"weights": weights}))

    def loss(self, params, batch, key):
        k = kernel_matrix(self.kernel, params["weights"], batch["x"], batch["x"])
        align = target_alignment(k, batch["y"])
        return -align, {"alignment": align}

    def evaluate(self, state, key):
        k = kernel_matrix(self.kernel, state.params["weights"], self.x_train, self.x_train)
        return {"alignment": target_alignment(k, self.y_train)}


def svc_accuracy(kernel_fn, weights, data) -> float:
    """Test accuracy of scikit-learn's SVC on the precomputed quantum kernel."""
    from sklearn.svm import SVC

    xtr, ytr, xte, yte = data
    k_train = np.asarray(kernel_matrix(kernel_fn, weights, xtr, xtr), np.float64)
    k_test = np.asarray(kernel_matrix(kernel_fn, weights, xte, xtr), np.float64)
    svc = SVC(kernel="precomputed").fit(k_train, ytr)
    return float(svc.score(k_test, yte))


# ---------------------------------------------------------------- barren plateaus


@frontier.experiment("quantum/barren", "Barren plateaus: gradient variance of random circuits")
class BarrenPlateau(frontier.Experiment):
    """No training: evaluation draws `barren.samples` random circuits (McClean et al. 2018) and
    reports the mean and variance of d<Z_0 Z_1>/d(first angle)."""

    key_metrics = ("grad_variance",)

    def __init__(self, config):
        super().__init__(config)
        c, b = config.circuit, config.barren
        if b.samples < 2:
            raise ValueError(f"barren.samples must be >= 2 for a variance, got {b.samples}")
        self.circuit = _circuit_from_config(config, "random", b.samples)
        self.vmap_seeds = _vmap_seeds_ok(config)
        del c

    def init(self, key):
        return {"unused": jnp.zeros(())}

    def step(self, state, batch, key):
        return state, {}

    def evaluate(self, state, key):
        c, b = self.config.circuit, self.config.barren
        # One uniform draw for angles and axes (each jax.random call adds ~1 s of compilation).
        u = jax.random.uniform(key, (2, b.samples, c.layers, c.qubits))
        angles = 2 * jnp.pi * u[0]
        choices = jnp.minimum(jnp.floor(3 * u[1]), 2).astype(jnp.int32)  # uniform in {0, 1, 2}

        def first_grad(a, ch):
            return jax.grad(lambda a: self.circuit({"angles": a, "choices": ch}, None))(a)[0, 0]

        g = jax.vmap(first_grad)(angles, choices)
        return {"grad_variance": jnp.var(g, ddof=1), "grad_mean": jnp.mean(g)}
