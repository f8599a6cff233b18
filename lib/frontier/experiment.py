"""The one interface every method implements: `step(state, batch, key) -> (state, metrics)`.

An experiment is a class registered by name (see `frontier.registry`). The loop
(`frontier.loop.train`) jits `init`, `step` and `evaluate`, vmaps them over seeds, shards the
batch over devices and owns keys, logging, evaluation and checkpoints. All the experiment
writes is pure functions of pytrees, plus a host-side `batch(step, seed)` that must be a
deterministic function of its arguments (so that a resumed run sees the same data).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import flax.struct
import jax
import jax.numpy as jnp
import optax

PyTree = Any
Metrics = dict[str, jax.Array]


class Experiment:
    """Base class; override `init`, `step` and usually `batch`, `evaluate` and `finalize`."""

    #: Seeds run vmapped inside one compiled program when True, else one after another.
    vmap_seeds: bool = True
    #: Axis of each batch leaf that holds examples (split over devices).
    batch_axis: int = 0
    #: Metrics shown on the progress bar.
    key_metrics: tuple[str, ...] = ("loss",)

    def __init__(self, config):
        self.config = config

    def init(self, key: jax.Array) -> PyTree:
        """The initial state (a pytree of arrays) for one seed."""
        raise NotImplementedError(f"{type(self).__name__} must define init(key)")

    def step(self, state: PyTree, batch: PyTree, key: jax.Array) -> tuple[PyTree, Metrics]:
        """One step of the method for one seed; pure and jittable."""
        raise NotImplementedError(f"{type(self).__name__} must define step(state, batch, key)")

    def batch(self, step: int, seed: int) -> PyTree | None:
        """The host batch for `step` of `seed` (numpy arrays), or None if `step` makes its own."""
        return None

    def evaluate(self, state: PyTree, key: jax.Array) -> Metrics:
        """Evaluation metrics for one seed's state; pure and jittable."""
        return {}

    def finalize(self, state: PyTree, run_dir: Path, seeds: list[int]) -> None:
        """Host-side artifacts (plots, tables) after training; `state` is stacked over seeds."""


class MinibatchExperiment(Experiment):
    """Gradient training on an in-memory training set `x_train [n, ...]`, `y_train [n]`.

    Subclasses set `self.x_train`, `self.y_train` and `self.optimizer`, define
    `loss(params, batch, key) -> (loss, aux)` and read `config.optim.batch_size`. Batches are
    epoch permutations drawn from (seed, epoch), so a resumed run sees the same batches.
    """

    def __init__(self, config):
        super().__init__(config)
        self._optax_step = None

    def loss(self, params: PyTree, batch: PyTree, key: jax.Array) -> tuple[jax.Array, Metrics]:
        raise NotImplementedError(f"{type(self).__name__} must define loss(params, batch, key)")

    def step(self, state: TrainState, batch: PyTree, key: jax.Array) -> tuple[TrainState, Metrics]:
        if self._optax_step is None:
            self._optax_step = optax_step(self.loss, self.optimizer)
        return self._optax_step(state, batch, key)

    def batch(self, step: int, seed: int) -> PyTree:
        from frontier.data import minibatch_indices

        idx = minibatch_indices(len(self.x_train), self.config.optim.batch_size, step, seed)
        return {"x": self.x_train[idx], "y": self.y_train[idx]}


@flax.struct.dataclass
class TrainState:
    """Parameters and optimiser state of a gradient-trained model."""

    params: PyTree
    opt_state: PyTree


def global_norm(tree: PyTree) -> jax.Array:
    return optax.global_norm(tree)


HEALTH_METRICS = ("l2_grads", "l2_params", "l2_updates")


def health_metrics(grads: PyTree, params: PyTree, updates: PyTree) -> Metrics:
    """The health metrics (`HEALTH_METRICS`) logged beside every gradient step."""
    return dict(zip(HEALTH_METRICS, map(global_norm, (grads, params, updates)), strict=True))


def optax_step(
    loss_fn: Callable[[PyTree, PyTree, jax.Array], tuple[jax.Array, Metrics]],
    optimizer: optax.GradientTransformation,
) -> Callable[[TrainState, PyTree, jax.Array], tuple[TrainState, Metrics]]:
    """A gradient step with health metrics (`l2_grads`, `l2_params`, `l2_updates`).

    `loss_fn(params, batch, key) -> (loss, aux_metrics)`.
    """

    def step(state: TrainState, batch: PyTree, key: jax.Array) -> tuple[TrainState, Metrics]:
        (loss, aux), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params, batch, key)
        updates, opt_state = optimizer.update(grads, state.opt_state, state.params)
        params = optax.apply_updates(state.params, updates)
        metrics = {"loss": loss, **aux, **health_metrics(grads, params, updates)}
        return TrainState(params, opt_state), metrics

    return step


def make_optimizer(name: str, learning_rate: float, **kwargs) -> optax.GradientTransformation:
    """Optimisers by config name, with an error that lists the valid ones."""
    table = {
        "sgd": lambda: optax.sgd(learning_rate, **kwargs),
        "momentum": lambda: optax.sgd(learning_rate, momentum=kwargs.pop("momentum", 0.9)),
        "nesterov": lambda: optax.sgd(
            learning_rate, momentum=kwargs.pop("momentum", 0.9), nesterov=True
        ),
        "adam": lambda: optax.adam(learning_rate, **kwargs),
        "adamw": lambda: optax.adamw(learning_rate, **kwargs),
    }
    if name not in table:
        raise ValueError(f"unknown optimizer {name!r}; choose one of {sorted(table)}")
    return table[name]()


def accuracy(logits: jax.Array, labels: jax.Array) -> jax.Array:
    """Fraction of rows of `logits [n, classes]` whose argmax equals `labels [n]`."""
    return jnp.mean(jnp.argmax(logits, -1) == labels)
