"""The DeepCoder neural guide (a Flax model) and its training as a `frontier.Experiment`.

The guide maps the I/O examples of a task to 34 independent probabilities, one per DSL
attribute (function or lambda), that the searches in `research.synthesis.search` use to
order their enumeration. Training data is the generated corpus of `research.synthesis.data`
(built once per process and cached); `batch(step, seed)` draws minibatches from it
deterministically; `evaluate` reports test loss, accuracy (threshold 0.5), mean per-attribute
ROC AUC over the attributes present and absent in the test set, and each such attribute's
AUC as `auc/<attribute>`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

import frontier
from frontier.data import minibatch_indices
from frontier.experiment import TrainState
from frontier.nn import activation
from research.synthesis.data import (
    VOCAB,
    Corpus,
    attribute_targets,
    build_corpus,
    encode_tasks,
    resample_examples,
)
from research.synthesis.dsl import ATTRIBUTES, NUM_ATTRIBUTES


class DeepCoderEncoder(nn.Module):
    """Type one-hots and integer embeddings per slot -> hidden layers -> mean over examples.

    `types [..., E, K, 2]`, `values [..., E, K, L]` int tokens -> logits `[..., 34]`.
    """

    embed_dim: int = 20
    hidden: Sequence[int] = (256, 256, 256)
    act: str = "sigmoid"
    vocab: int = VOCAB

    @nn.compact
    def __call__(self, types: jax.Array, values: jax.Array) -> jax.Array:
        emb = nn.Embed(self.vocab, self.embed_dim, name="integer_embedding")(values)
        emb = emb.reshape(*emb.shape[:-2], -1)  # [..., E, K, L * D]
        x = jnp.concatenate([types, emb], axis=-1)
        x = x.reshape(*x.shape[:-2], -1)  # [..., E, K * (2 + L * D)]
        f = activation(self.act)
        for width in self.hidden:
            x = f(nn.Dense(width)(x))
        x = jnp.mean(x, axis=-2)  # pool over the examples
        return nn.Dense(NUM_ATTRIBUTES, name="attribute_logits")(x)


def roc_auc(scores: jax.Array, labels: jax.Array) -> jax.Array:
    """ROC AUC per column: P(score of a positive > score of a negative), ties count half.

    `scores [n, a]`, `labels [n, a]` in {0, 1} -> `[a]` (nan for a column with one class).
    """
    pos = labels > 0.5
    greater = (scores[:, None, :] > scores[None, :, :]).astype(jnp.float32)
    ties = (scores[:, None, :] == scores[None, :, :]).astype(jnp.float32)
    pair = (pos[:, None, :] & ~pos[None, :, :]).astype(jnp.float32)
    wins = jnp.sum((greater + 0.5 * ties) * pair, axis=(0, 1))
    return wins / jnp.sum(pair, axis=(0, 1))


def corpus_from_config(config) -> Corpus:
    """The (cached) corpus the config's `data` block describes."""
    d = config.data
    return build_corpus(
        int(d.program_length),
        int(d.num_train),
        int(d.num_test),
        int(d.num_examples),
        int(d.max_input_length),
        int(d.num_probes),
        int(d.prune_max_length),
        int(d.corpus_seed),
    )


@frontier.experiment("synthesis/deepcoder_guide", "DeepCoder attribute predictor (neural guide)")
class DeepCoderGuide(frontier.Experiment):
    """Trains the guide with sigmoid cross-entropy on the attribute multi-hot of each program."""

    key_metrics = ("loss", "mean_auc")

    def __init__(self, config):
        super().__init__(config)
        m = config.model
        if m.embed_dim < 1 or not m.hidden or min(m.hidden) < 1:
            raise ValueError(
                f"model.embed_dim and model.hidden must be positive, got {m.embed_dim}, "
                f"{tuple(m.hidden)}"
            )
        self.corpus = corpus_from_config(config)
        bs = config.optim.batch_size
        if not 1 <= bs <= len(self.corpus.train):
            raise ValueError(
                f"optim.batch_size must be between 1 and the {len(self.corpus.train)} training "
                f"programs, got {bs}"
            )
        self.loss_name = str(m.get("loss", "bce"))
        self.focal_gamma = float(m.get("focal_gamma", 2.0))
        if self.loss_name not in ("bce", "focal") or self.focal_gamma < 0:
            raise ValueError(
                f"model.loss must be 'bce' or 'focal' and model.focal_gamma >= 0, got "
                f"{self.loss_name!r}, {self.focal_gamma}"
            )
        self.net = DeepCoderEncoder(m.embed_dim, tuple(m.hidden), m.activation)
        self.optimizer = frontier.make_optimizer(config.optim.name, config.optim.learning_rate)
        self._step = frontier.optax_step(self.loss, self.optimizer)
        self._predict = jax.jit(lambda p, x: jax.nn.sigmoid(self.apply(p, x)))
        # `data.example_sets` > 1: every training program with that many sets of examples
        sets = int(config.data.get("example_sets", 1))
        train = (
            resample_examples(
                self.corpus.train,
                sets,
                int(config.data.max_input_length),
                int(config.data.corpus_seed),
            )
            if sets > 1
            else self.corpus.train
        )
        self.train_x = encode_tasks(train)
        self.train_y = attribute_targets(train)
        self.test_x = encode_tasks(self.corpus.test)
        self.test_y = attribute_targets(self.corpus.test)
        # AUC is defined only for attributes both present and absent among the test programs.
        pos = self.test_y.sum(0)
        self.auc_attributes = np.flatnonzero((pos > 0) & (pos < len(self.test_y)))

    def apply(self, params, x: dict) -> jax.Array:
        """Logits `[n, 34]` for encoded tasks `x` (see `encode_tasks`)."""
        return self.net.apply({"params": params}, x["types"], x["values"])

    def predict(self, params, tasks) -> np.ndarray:
        """Attribute probabilities `[n, 34]` for tasks (host numpy)."""
        x = encode_tasks(tasks)
        return np.asarray(self._predict(params, x))

    def init(self, key):
        x = {k: v[:1] for k, v in self.train_x.items()}
        params = self.net.init(key, x["types"], x["values"])["params"]
        return TrainState(params, self.optimizer.init(params))

    def loss(self, params, batch, key):
        logits = self.apply(params, batch["x"])
        if self.loss_name == "focal":
            loss = optax.sigmoid_focal_loss(logits, batch["y"], gamma=self.focal_gamma).mean()
        else:
            loss = optax.sigmoid_binary_cross_entropy(logits, batch["y"]).mean()
        acc = jnp.mean((logits > 0) == (batch["y"] > 0.5))
        return loss, {"accuracy": acc}

    def step(self, state, batch, key):
        return self._step(state, batch, key)

    def batch(self, step, seed):
        idx = minibatch_indices(len(self.train_y), self.config.optim.batch_size, step, seed)
        return {"x": {k: v[idx] for k, v in self.train_x.items()}, "y": self.train_y[idx]}

    def evaluate(self, state, key):
        logits = self.apply(state.params, self.test_x)
        y = jnp.asarray(self.test_y)
        auc = roc_auc(logits, y)[self.auc_attributes]
        out = {
            "loss": optax.sigmoid_binary_cross_entropy(logits, y).mean(),
            "accuracy": jnp.mean((logits > 0) == (y > 0.5)),
            "mean_auc": jnp.mean(auc),
        }
        for j, a in enumerate(self.auc_attributes):
            out[f"auc/{ATTRIBUTES[a]}"] = auc[j]
        return out

    def finalize(self, state, run_dir: Path, seeds):
        params = jax.tree.map(lambda x: x[0], state.params)
        logits = np.asarray(self.apply(params, self.test_x))
        auc = np.asarray(roc_auc(jnp.asarray(logits), jnp.asarray(self.test_y)))
        plot_attribute_auc(auc, self.train_y.mean(0), Path(run_dir) / "plots" / "attribute_auc.png")


def plot_attribute_auc(auc: np.ndarray, frequency: np.ndarray, path: Path) -> Path:
    """Bars of the test AUC (`[34]`, nan = undefined) and training frequency per attribute."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 1, figsize=(11, 5.5), sharex=True)
    xs = np.arange(NUM_ATTRIBUTES)
    axes[0].bar(xs, np.nan_to_num(auc, nan=0.0), color="tab:blue")
    axes[0].axhline(0.5, color="grey", lw=0.8, ls="--")
    axes[0].set_ylim(0.0, 1.0)
    axes[0].set_ylabel("test ROC AUC")
    axes[1].bar(xs, frequency, color="tab:orange")
    axes[1].set_ylabel("train frequency")
    axes[1].set_xticks(xs, ATTRIBUTES, rotation=70, fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
