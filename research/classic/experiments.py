"""Digits classifiers as `frontier.Experiment`s: knn, linear (hinge or softmax), mlp."""

from __future__ import annotations

import functools
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax

import frontier
from frontier.data import load_digits_split
from frontier.experiment import MinibatchExperiment, TrainState, accuracy
from frontier.nn import MLP

NUM_CLASSES = 10
IMAGE_SHAPE = (8, 8)


@functools.cache
def digits(test_fraction: float, split_seed: int):
    """The fixed train/test split (cached per process)."""
    return load_digits_split(test_fraction, split_seed)


def multiclass_hinge(scores: jax.Array, labels: jax.Array, margin: float = 1.0) -> jax.Array:
    """Multiclass SVM loss: sum over wrong classes j of max(0, s_j - s_y + margin), averaged.

    `scores [n, classes]`, `labels [n]`.
    """
    correct = jnp.take_along_axis(scores, labels[:, None], axis=1)
    margins = jnp.maximum(0.0, scores - correct + margin)
    margins = margins * (1.0 - jax.nn.one_hot(labels, scores.shape[1]))
    return jnp.mean(jnp.sum(margins, axis=1))


def _check_data_config(config):
    d = config.data
    if not 0.0 < d.test_fraction < 1.0:
        raise ValueError(f"data.test_fraction must be in (0, 1), got {d.test_fraction}")


class _DigitsExperiment(frontier.Experiment):
    key_metrics = ("loss", "accuracy")

    def __init__(self, config):
        super().__init__(config)
        _check_data_config(config)
        self.x_train, self.y_train, self.x_test, self.y_test = digits(
            config.data.test_fraction, config.data.split_seed
        )


class _GradientDigits(_DigitsExperiment, MinibatchExperiment):
    """Shared by the linear and MLP classifiers: minibatch optax training."""

    def __init__(self, config):
        super().__init__(config)
        bs = config.optim.batch_size
        if not 1 <= bs <= len(self.x_train):
            raise ValueError(
                f"optim.batch_size must be between 1 and the {len(self.x_train)} training "
                f"examples, got {bs}"
            )
        self.optimizer = frontier.make_optimizer(config.optim.name, config.optim.learning_rate)

    def apply(self, params, x):
        raise NotImplementedError

    def data_loss(self, scores, labels):
        return optax.softmax_cross_entropy_with_integer_labels(scores, labels).mean()

    def loss(self, params, batch, key):
        scores = self.apply(params, batch["x"])
        data = self.data_loss(scores, batch["y"])
        reg = self.config.optim.weight_decay * sum(
            jnp.sum(w**2) for w in jax.tree.leaves(params) if w.ndim == 2
        )
        return data + reg, {"accuracy": accuracy(scores, batch["y"]), "data_loss": data}

    def evaluate(self, state, key):
        scores = self.apply(state.params, self.x_test)
        train_scores = self.apply(state.params, self.x_train)
        return {
            "accuracy": accuracy(scores, self.y_test),
            "loss": self.data_loss(scores, self.y_test),
            "train_accuracy": accuracy(train_scores, self.y_train),
        }


@frontier.experiment("classic/linear", "Linear classifier on digits (SVM hinge or softmax loss)")
class LinearDigits(_GradientDigits):
    """scores = x W + b, `W [64, 10]`; `model.loss` is "hinge" or "softmax"."""

    LOSSES = ("hinge", "softmax")

    def __init__(self, config):
        if config.model.loss not in self.LOSSES:
            raise ValueError(f"model.loss must be one of {self.LOSSES}, got {config.model.loss!r}")
        super().__init__(config)

    def init(self, key):
        w = self.config.model.init_scale * jax.random.normal(key, (64, NUM_CLASSES))
        params = {"W": w, "b": jnp.zeros(NUM_CLASSES)}
        return TrainState(params, self.optimizer.init(params))

    def apply(self, params, x):
        return x @ params["W"] + params["b"]

    def data_loss(self, scores, labels):
        if self.config.model.loss == "hinge":
            return multiclass_hinge(scores, labels, self.config.model.margin)
        return super().data_loss(scores, labels)

    def finalize(self, state, run_dir: Path, seeds):
        plot_templates(
            {f"{self.config.model.loss} (seed {seeds[0]})": np.asarray(state.params["W"][0])},
            Path(run_dir) / "plots" / "templates.png",
        )


@frontier.experiment("classic/mlp", "MLP classifier on digits (softmax cross-entropy)")
class MLPDigits(_GradientDigits):
    def __init__(self, config):
        super().__init__(config)
        self.net = MLP(tuple(config.model.hidden), NUM_CLASSES, config.model.activation)

    def init(self, key):
        params = self.net.init(key, jnp.zeros((1, 64)))["params"]
        return TrainState(params, self.optimizer.init(params))

    def apply(self, params, x):
        return self.net.apply({"params": params}, x)


@frontier.experiment("classic/knn", "k-nearest-neighbour classifier on digits (no training)")
class KNNDigits(_DigitsExperiment):
    """Memorises the training set; predicts by majority vote of the k nearest (Euclidean)."""

    key_metrics = ("accuracy",)

    def __init__(self, config):
        super().__init__(config)
        k = config.model.k
        if not 1 <= k <= len(self.x_train):
            raise ValueError(f"model.k must be between 1 and {len(self.x_train)}, got {k}")

    def init(self, key):
        return {"x": jnp.asarray(self.x_train), "y": jnp.asarray(self.y_train)}

    def step(self, state, batch, key):
        return state, {}

    def evaluate(self, state, key):
        pred = knn_predict(state["x"], state["y"], jnp.asarray(self.x_test), self.config.model.k)
        return {"accuracy": jnp.mean(pred == self.y_test)}


def knn_predict(x_train, y_train, x_query, k: int) -> jax.Array:
    """Majority vote among the k nearest training points; ties go to the nearer neighbour.

    `x_train [n, d]`, `y_train [n]`, `x_query [m, d]` -> `[m]`.
    """
    d2 = jnp.sum(x_query**2, 1)[:, None] - 2 * x_query @ x_train.T + jnp.sum(x_train**2, 1)[None]
    _, idx = jax.lax.top_k(-d2, k)
    votes = jax.nn.one_hot(y_train[idx], NUM_CLASSES)  # [m, k, classes]
    # Nearer neighbours get a tiny extra weight so that a tied vote goes to the nearest.
    tiebreak = jnp.linspace(1e-3, 0.0, k)[None, :, None]
    return jnp.argmax(jnp.sum(votes * (1.0 + tiebreak), axis=1), axis=-1)


def plot_templates(weights: dict[str, np.ndarray], path: Path) -> Path:
    """One row of ten 8x8 weight images per entry of `weights` (`[64, 10]` each)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = len(weights)
    fig, axes = plt.subplots(
        rows, NUM_CLASSES, figsize=(1.3 * NUM_CLASSES, 1.5 * rows + 0.3), squeeze=False
    )
    for r, (title, w) in enumerate(weights.items()):
        for c in range(NUM_CLASSES):
            ax = axes[r, c]
            img = np.asarray(w)[:, c].reshape(IMAGE_SHAPE)
            lim = np.abs(img).max() or 1.0
            ax.imshow(img, cmap="RdBu_r", vmin=-lim, vmax=lim)
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(str(c), fontsize=9)
        axes[r, 0].set_ylabel(title, fontsize=8)
    fig.suptitle(
        "Learned linear templates (red: evidence for the class, blue: against)", fontsize=9
    )
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
