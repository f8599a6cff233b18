"""Shared pieces of the quantum configs (imported by the files in configs/quantum/)."""

from __future__ import annotations

import ml_collections

from frontier.config import base_config, smoke_variant


def circuit_base(
    experiment: str, arg: str | None, steps: int, smoke_steps: int = 6, log_every: int = 10
) -> tuple[ml_collections.ConfigDict, bool]:
    """Train block and the `circuit` block every circuit config has."""
    smoke = smoke_variant(arg)
    steps = smoke_steps if smoke else steps
    cfg = base_config(
        experiment,
        steps=steps,
        log_every=min(log_every, steps),
        eval_every=steps,
        checkpoint_every=steps,
    )
    cfg.circuit = ml_collections.ConfigDict(
        {
            "backend": "pennylane",  # or "jax" (research.quantum.statevector)
            "device": "default.qubit",
            "diff_method": "best",
            "qubits": 4,
            "layers": 2,
            "embedding": "angle",
            "ansatz": "strongly_entangling",
            "init_scale": 0.01,
        }
    )
    cfg.optim = ml_collections.ConfigDict({"name": "adam", "learning_rate": 0.05, "batch_size": 5})
    return cfg, smoke


def qbm_config(model: str, arg: str | None) -> ml_collections.ConfigDict:
    """The paper's data (N = 10 visible, M = 8 modes, p = 0.9) for one model."""
    smoke = smoke_variant(arg)
    steps = 3 if smoke else 60
    cfg = base_config(
        "quantum/qbm", steps=steps, log_every=1, eval_every=steps, checkpoint_every=steps
    )
    cfg.qbm = ml_collections.ConfigDict(
        {
            "model": model,
            "visible": 4 if smoke else 10,
            "hidden": 0,
            "connectivity": "full",
            "gamma": 2.0,
            "learn_gamma": True,
            "modes": 8,
            "p": 0.9,
            "init_scale": 0.01,
            "optimizer": "adam",
            "learning_rate": 0.2,
        }
    )
    return cfg


def classifier_config(arg: str | None, **changes) -> ml_collections.ConfigDict:
    """A `quantum/classifier` config; `changes` maps "block.field" to a value."""
    cfg, smoke = circuit_base("quantum/classifier", arg, steps=changes.pop("steps", 100))
    cfg.circuit.kind = "classifier"
    cfg.data = ml_collections.ConfigDict(
        {"name": "parity", "train_fraction": 0.625, "num_train": 0, "num_test": 0, "split_seed": 0}
    )
    cfg.model = ml_collections.ConfigDict({"bias": True})
    for key, value in changes.items():
        block, field = key.split(".")
        cfg[block][field] = value
    if smoke:  # one layer: the smoke run is dominated by compiling the circuit
        cfg.circuit.layers = 1
    return cfg
