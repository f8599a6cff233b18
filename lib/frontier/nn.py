"""Shared Flax building blocks."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import flax.linen as nn
import jax

ACTIVATIONS: dict[str, Callable[[jax.Array], jax.Array]] = {
    "relu": nn.relu,
    "tanh": nn.tanh,
    "gelu": nn.gelu,
    "sigmoid": nn.sigmoid,
    "silu": nn.silu,
}


def activation(name: str) -> Callable[[jax.Array], jax.Array]:
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; choose one of {sorted(ACTIVATIONS)}")
    return ACTIVATIONS[name]


class MLP(nn.Module):
    """Dense layers `hidden` with an activation between them, then a linear `out` layer.

    `x [..., features] -> [..., out]`.
    """

    hidden: Sequence[int]
    out: int
    act: str = "relu"

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        f = activation(self.act)
        for width in self.hidden:
            x = f(nn.Dense(width)(x))
        return nn.Dense(self.out)(x)
