"""Shared pieces of the meta-learning configs (imported by configs/meta/*.py)."""

from __future__ import annotations

import ml_collections

from frontier.config import base_config, smoke_variant


def sinusoid_config(algorithm: str, arg: str | None) -> ml_collections.ConfigDict:
    """The MAML paper's sinusoid protocol; `arg="smoke"` shrinks it to seconds."""
    smoke = smoke_variant(arg)
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


FEWSHOT_ALGORITHMS = {
    # algorithm: (inner_lr, inner_steps at training, optimiser, outer learning rate)
    "maml": (0.4, 1, "adam", 1e-3),
    "fomaml": (0.4, 1, "adam", 1e-3),
    "metasgd": (0.4, 1, "adam", 1e-3),
    "reptile": (0.1, 5, "sgd", 0.5),
    "protonet": (0.0, 0, "adam", 1e-3),
}


def fewshot_config(
    algorithm: str, arg: str | None, source: str = "digits"
) -> ml_collections.ConfigDict:
    """N-way K-shot classification on `source`; `arg="smoke"` shrinks it to seconds."""
    smoke = smoke_variant(arg)
    inner_lr, inner_steps, optim, outer_lr = FEWSHOT_ALGORITHMS[algorithm]
    steps = 10 if smoke else 500
    cfg = base_config(
        "meta/fewshot",
        steps=steps,
        log_every=5 if smoke else 50,
        eval_every=steps,
        checkpoint_every=10 if smoke else 250,
    )
    cfg.meta = ml_collections.ConfigDict(
        {
            "algorithm": algorithm,
            "ways": 5,
            "shots": 1,
            "queries": 5,
            "meta_batch": 4 if smoke else 8,
            "inner_steps": inner_steps,
            "inner_lr": inner_lr,
            "first_order": False,
            "remat": False,
            # "map" loops over tasks inside the program: ~3x faster than "vmap" for per-task
            # conv weights on CPU; use "vmap" on accelerators.
            "task_map": "map",
        }
    )
    cfg.data = ml_collections.ConfigDict(
        {"source": source, "root": "", "split": "maml", "split_seed": 0, "allow_small": False}
    )
    small = source == "digits"
    cfg.model = ml_collections.ConfigDict(
        {
            "filters": 8 if smoke else (32 if small else 64),
            "blocks": 4,
            "norm": "batch",
            "pool_padding": "SAME" if small else "VALID",
        }
    )
    cfg.optim = ml_collections.ConfigDict({"name": optim, "learning_rate": outer_lr})
    cfg.eval = ml_collections.ConfigDict(
        {"num_tasks": 20 if smoke else 600, "inner_steps": 10 if inner_steps else 0, "task_seed": 0}
    )
    return cfg
