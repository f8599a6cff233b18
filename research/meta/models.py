"""Flax (linen) models for meta-learning benchmarks.

* :class:`SinusoidMLP` -- the 1-40-40-1 ReLU regressor of MAML's sinusoid experiment.
* :class:`Conv4` -- the standard 4-block conv backbone (MAML / ProtoNets / Matching Nets):
  ``[conv3x3(F) -> norm -> ReLU -> maxpool 2x2] x 4`` then a linear head.

Normalisation in :class:`Conv4` (``norm=``), all *stateless* so ``apply`` is a pure function of
``(params, x)`` with no ``batch_stats`` collection, which keeps inner-loop adaptation simple:

* ``"batch"`` (default): batch normalisation with *per-batch statistics only* (mean / variance
  over the batch and spatial axes of the current input, learned per-channel scale and bias, no
  running averages). This is what MAML's reference code does in practice (batch norm always in
  training mode). It is *transductive*: query predictions depend on the other query examples in
  the same batch. Under ``jax.vmap`` over tasks the statistics are per task.
* ``"layer"``: LayerNorm over the channel axis of each pixel (non-transductive).
* ``"group"``: GroupNorm with ``num_groups`` groups (non-transductive).
* ``"none"``: no normalisation (conv bias is then kept).
"""

from __future__ import annotations

from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

__all__ = ["NORMS", "BatchStatsNorm", "Conv4", "SinusoidMLP"]

NORMS = ("batch", "layer", "group", "none")


class SinusoidMLP(nn.Module):
    """ReLU MLP regressor; default 1-40-40-1 as in MAML's sinusoid experiment.

    Attributes:
        hidden_sizes: widths of the hidden layers.
        out_dim: output width.

    Input ``x [..., D_in]`` -> output ``[..., out_dim]``.
    """

    hidden_sizes: Sequence[int] = (40, 40)
    out_dim: int = 1

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        for i, width in enumerate(self.hidden_sizes):
            x = nn.relu(nn.Dense(width, name=f"hidden_{i}")(x))
        return nn.Dense(self.out_dim, name="out")(x)


class BatchStatsNorm(nn.Module):
    """Batch norm that always uses the statistics of the current batch (no running stats).

    Normalises ``x [B, ..., C]`` over every axis but the last, then applies a learned
    per-channel ``scale`` (init 1) and ``bias`` (init 0).
    """

    epsilon: float = 1e-5

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        axes = tuple(range(x.ndim - 1))
        mean = jnp.mean(x, axis=axes, keepdims=True)
        var = jnp.mean(jnp.square(x - mean), axis=axes, keepdims=True)
        y = (x - mean) * jax.lax.rsqrt(var + self.epsilon)
        scale = self.param("scale", nn.initializers.ones, (x.shape[-1],), jnp.float32)
        bias = self.param("bias", nn.initializers.zeros, (x.shape[-1],), jnp.float32)
        return y * scale + bias


class Conv4(nn.Module):
    """Four conv blocks and a linear head (MAML / ProtoNets backbone).

    Block: ``conv3x3(num_filters, SAME) -> norm -> ReLU -> max-pool 2x2 (stride 2)``. With the
    default ``pool_padding="VALID"`` spatial sizes are floored (28 -> 14 -> 7 -> 3 -> 1, i.e. a
    64-dim embedding for Omniglot); use ``"SAME"`` (ceil) or fewer blocks for small images such
    as 8x8 digits (8 -> 4 -> 2 -> 1 -> 1).

    Attributes:
        num_classes: width of the linear head (``__call__`` output).
        num_filters: channels of every conv layer.
        num_blocks: number of conv blocks.
        norm: one of ``"batch"``, ``"layer"``, ``"group"``, ``"none"`` (see module docstring).
        num_groups: groups for ``norm="group"``; must divide ``num_filters``.
        pool_padding: ``"VALID"`` (floor) or ``"SAME"`` (ceil) for the max-pools.

    ``embed(x [B, H, W, C]) -> [B, F]`` (flattened features);
    ``__call__(x [B, H, W, C]) -> logits [B, num_classes]``.
    Initialise with ``__call__`` so the head exists; ``apply(..., method="embed")`` then works
    with the same params.
    """

    num_classes: int
    num_filters: int = 64
    num_blocks: int = 4
    norm: str = "batch"
    num_groups: int = 8
    pool_padding: str = "VALID"

    def setup(self) -> None:
        if self.norm not in NORMS:
            raise ValueError(f"norm must be one of {NORMS}, got {self.norm!r}")
        if self.pool_padding not in ("VALID", "SAME"):
            raise ValueError(f"pool_padding must be 'VALID' or 'SAME', got {self.pool_padding!r}")
        if self.norm == "group" and self.num_filters % self.num_groups:
            raise ValueError(
                f"num_groups={self.num_groups} must divide num_filters={self.num_filters} "
                "for norm='group'"
            )
        use_bias = self.norm == "none"
        self.convs = [
            nn.Conv(self.num_filters, (3, 3), padding="SAME", use_bias=use_bias, name=f"conv_{i}")
            for i in range(self.num_blocks)
        ]
        if self.norm == "batch":
            self.norms = [BatchStatsNorm(name=f"norm_{i}") for i in range(self.num_blocks)]
        elif self.norm == "layer":
            self.norms = [nn.LayerNorm(name=f"norm_{i}") for i in range(self.num_blocks)]
        elif self.norm == "group":
            self.norms = [
                nn.GroupNorm(num_groups=self.num_groups, name=f"norm_{i}")
                for i in range(self.num_blocks)
            ]
        else:
            self.norms = [None] * self.num_blocks
        self.head = nn.Dense(self.num_classes, name="head")

    def embed(self, x: jax.Array) -> jax.Array:
        """Features before the head: ``x [B, H, W, C] -> [B, F]``."""
        if x.ndim != 4:
            raise ValueError(f"Conv4 expects images of shape [B, H, W, C], got shape {x.shape}")
        for i, (conv, norm) in enumerate(zip(self.convs, self.norms, strict=True)):
            x = conv(x)
            if norm is not None:
                x = norm(x)
            x = nn.relu(x)
            if min(x.shape[1:3]) < 2 and self.pool_padding == "VALID":
                raise ValueError(
                    f"spatial size {x.shape[1:3]} before max-pool of block {i} is too small for "
                    "a VALID 2x2 pool; use pool_padding='SAME' or fewer num_blocks for images "
                    "this small"
                )
            x = nn.max_pool(x, (2, 2), strides=(2, 2), padding=self.pool_padding)
        return x.reshape(x.shape[0], -1)

    def __call__(self, x: jax.Array) -> jax.Array:
        """Logits ``[B, num_classes]`` for images ``x [B, H, W, C]``."""
        return self.head(self.embed(x))
