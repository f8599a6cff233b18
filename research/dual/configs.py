"""Shared pieces of the dual configs (imported by the files in configs/dual/)."""

from __future__ import annotations

import ml_collections

from frontier.config import base_config, smoke_variant


def translation_config(
    method: str, arg: str | None, parallel_fraction: float = 0.1, pair: str = "en-de"
) -> ml_collections.ConfigDict:
    """Number translation between the languages of `pair` (research.dual.language.PAIRS);
    `arg="smoke"` shrinks everything to seconds."""
    smoke = smoke_variant(arg)
    en_de = pair == "en-de"
    steps = 4 if smoke else (500 if en_de else 800)
    cfg = base_config(
        "dual/translation",
        steps=steps,
        log_every=2 if smoke else 100,
        eval_every=steps,
        checkpoint_every=steps,
    )
    cfg.method = method
    cfg.warm_steps = 0 if smoke else (500 if en_de else 800)
    cfg.lm_steps = 0 if smoke else 600
    cfg.data = ml_collections.ConfigDict(
        {
            # en-de: 400 parallel pairs leave the supervised model ~25 BLEU below 4,000 pairs
            "num_train": 200 if smoke else (4000 if en_de else 10000),
            "parallel_fraction": parallel_fraction,
            "num_test": 20 if smoke else 500,
            "num_valid": 20 if smoke else (300 if en_de else 0),
            "seed": 0,
            "pair": pair,
        }
    )
    cfg.model = ml_collections.ConfigDict(
        {
            "dim": 16 if smoke else 64,
            "heads": 2 if smoke else 4,
            "ff": 32 if smoke else 128,
            "layers": 1 if smoke else 2,
            "max_len": 14 if en_de else 10,
        }
    )
    cfg.optim = ml_collections.ConfigDict(
        {
            "learning_rate": 1e-3,
            "clip": 1.0,
            "batch_size": 8 if smoke else 64,
            "mono_batch_size": 4 if smoke else 16,
        }
    )
    landing = 4 if smoke else (400 if en_de else 600)
    cfg.mono = ml_collections.ConfigDict({"landing_steps": landing, "final_share": 0.8})
    cfg.dual = ml_collections.ConfigDict(
        {
            # en-de: alpha chosen on the validation split by `frontier reproduce
            # dual/translation_search` (0.5 beat the paper's 0.005); digits-en keeps 0.005
            "alpha": 0.5 if en_de else 0.005,
            "k": 2,
            "generate": "beam" if en_de else "sample",
            "baseline": True,
        }
    )
    return cfg


def digits_dsl_config(
    weight: float, arg: str | None, marginal: str = "mixture"
) -> ml_collections.ConfigDict:
    """Digits classifier + conditional generator; `dsl.weight` is lambda (0: no DSL) and
    `dsl.marginal` the estimate of P^(x) ("mixture" or "separate", see research.dual.dsl;
    `marginal_steps` trains the separate one and is unused with "mixture")."""
    smoke = smoke_variant(arg)
    steps = 10 if smoke else 3000
    cfg = base_config(
        "dual/digits_dsl",
        steps=steps,
        log_every=5 if smoke else 250,
        eval_every=5 if smoke else 500,
        checkpoint_every=steps,
    )
    cfg.marginal_steps = 0 if smoke else 2000
    cfg.data = ml_collections.ConfigDict({"test_fraction": 0.25, "split_seed": 0, "threshold": 0.5})
    cfg.model = ml_collections.ConfigDict(
        {"classifier_hidden": (32,) if smoke else (128,), "generator_hidden": 16 if smoke else 256}
    )
    cfg.optim = ml_collections.ConfigDict({"learning_rate": 1e-3, "batch_size": 64})
    cfg.dsl = ml_collections.ConfigDict({"weight": weight, "marginal": marginal})
    return cfg
