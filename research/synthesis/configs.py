"""Shared pieces of the synthesis configs (imported by the files in configs/synthesis/)."""

from __future__ import annotations

import ml_collections

from frontier.config import base_config, smoke_variant

# The deepcoder_t3 guide's corpus and training, shared with guide_quality (which studies that
# guide): 16 fresh example sets per program and 20,000 steps (test mean AUC 0.884, README.md)
T3_GUIDE = dict(program_length=3, num_train=16000, num_test=500, steps=20000, example_sets=16)


def deepcoder_config(
    arg: str | None,
    *,
    program_length: int,
    num_train: int,
    num_test: int,
    steps: int,
    time_budget: float,
    genetic_tasks: int,
    genetic_budget: float,
    test_length: int = 0,
    test_tasks: int = 0,
    example_sets: int = 1,
) -> ml_collections.ConfigDict:
    """The guide's training run plus the `search` block the reproduction reads.

    `arg="smoke"` shrinks everything (T=2, a few hundred programs, 30 steps) to seconds.
    """
    smoke = smoke_variant(arg)
    if smoke:
        program_length, num_train, num_test, steps = 2, 256, 24, 30
        example_sets = min(example_sets, 2)
        time_budget, genetic_tasks, genetic_budget = 0.05, 8, 0.05
        if test_length:
            test_length, test_tasks = 3, 6
    cfg = base_config(
        "synthesis/deepcoder_guide",
        steps=steps,
        log_every=10 if smoke else 200,
        eval_every=steps if smoke else 1000,
        checkpoint_every=steps if smoke else 2000,
        steps_per_call=10 if smoke else 20,  # a small model: scan steps to cut dispatch cost
    )
    cfg.data = ml_collections.ConfigDict(
        {
            "program_length": program_length,
            "num_train": num_train,
            "num_test": num_test,
            "num_examples": 5,
            "max_input_length": 10,
            "num_probes": 20,
            "prune_max_length": 2,
            "corpus_seed": 0,
            # sets of I/O examples per training program (data.resample_examples): 1 = the
            # corpus's own
            "example_sets": example_sets,
        }
    )
    cfg.model = ml_collections.ConfigDict(
        {
            "embed_dim": 20,
            "hidden": (256, 256, 256),
            "activation": "sigmoid",
            # "bce": sigmoid cross-entropy (the paper); "focal": focal loss with `focal_gamma`
            # (down-weights the many easy negatives, so rare attributes weigh more)
            "loss": "bce",
            "focal_gamma": 2.0,
        }
    )
    cfg.optim = ml_collections.ConfigDict(
        {"name": "adam", "learning_rate": 1e-3, "batch_size": 128}
    )
    cfg.search = ml_collections.ConfigDict(
        {
            "time_budget": time_budget,  # seconds per task and search
            "max_nodes": 0,  # 0: no node cap (only the time budget)
            "sort_add_initial": 12,
            "sort_add_step": 4,
            # "attribute": activate the most probable attributes (the paper); "operation":
            # the highest-scoring operations
            "sort_add_unit": "attribute",
            "max_tasks": 0,  # > 0: search only the first N test tasks
            "genetic_tasks": genetic_tasks,  # the first N test tasks (the GA is slow)
            "genetic_population": 100,
            "genetic_budget": genetic_budget,  # seconds per task
            # > 0: search test programs of this length (a separate corpus of `test_tasks`)
            "test_length": test_length,
            "test_tasks": test_tasks,
            # a `frontier run` directory with a trained guide to reuse ("" = train one)
            "guide_checkpoint": "",
        }
    )
    return cfg
