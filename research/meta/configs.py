"""Shared pieces of the meta-learning configs (imported by configs/meta/*.py)."""

from __future__ import annotations

import ml_collections

from frontier.config import base_config


def sinusoid_config(algorithm: str, arg: str | None) -> ml_collections.ConfigDict:
    """The MAML paper's sinusoid protocol; `arg="smoke"` shrinks it to seconds."""
    if arg not in (None, "smoke"):
        raise ValueError(f"unknown variant {arg!r}; the variants are: smoke")
    smoke = arg == "smoke"
    steps = 20 if smoke else 70_000
    cfg = base_config(
        "meta/sinusoid",
        steps=steps,
        log_every=10 if smoke else 1000,
        eval_every=steps if smoke else 10_000,
        checkpoint_every=10 if smoke else 10_000,
    )
    cfg.meta = ml_collections.ConfigDict(
        {
            "algorithm": algorithm,
            "inner_steps": 1,
            "inner_lr": 0.01,
            "first_order": False,
            "remat": False,
            "meta_batch": 25,
            "num_support": 10,
            "num_query": 10,
        }
    )
    cfg.model = ml_collections.ConfigDict({"hidden": (40, 40)})
    cfg.optim = ml_collections.ConfigDict({"name": "adam", "learning_rate": 1e-3})
    cfg.eval = ml_collections.ConfigDict(
        {
            "num_tasks": 50 if smoke else 600,
            "shots": (5, 10, 20),
            "max_steps": 10,
            "inner_lr": 0.01,
            "task_seed": 0,
        }
    )
    return cfg
