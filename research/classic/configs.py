"""Shared pieces of the classic configs (imported by the files in configs/classic/)."""

from __future__ import annotations

import ml_collections

from frontier.config import base_config, smoke_variant


def digits_base(experiment: str, arg: str | None, steps: int = 4000) -> ml_collections.ConfigDict:
    """Fields every digits config has; `arg="smoke"` shrinks the run to seconds."""
    smoke = smoke_variant(arg)
    steps = 20 if smoke else steps
    cfg = base_config(
        experiment,
        steps=steps,
        log_every=10 if smoke else 100,
        eval_every=steps,
        checkpoint_every=10 if smoke else 500,
    )
    cfg.data = ml_collections.ConfigDict({"test_fraction": 0.25, "split_seed": 0})
    cfg.optim = ml_collections.ConfigDict(
        {"name": "sgd", "learning_rate": 0.5, "batch_size": 64, "weight_decay": 1e-4}
    )
    return cfg
