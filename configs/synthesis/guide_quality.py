"""Sort-and-add vs DFS as the guide's quality varies: synthetic guides of controlled AUC and
the trained guide, on the same T = 3 test tasks.

Run:      frontier reproduce synthesis/guide_quality
          frontier reproduce synthesis/guide_quality --set quality.tasks=50
Expect:   the deepcoder_t3 corpus and guide (16 example sets per program, 20,000 steps,
          about 9 min; a deepcoder_t3 run can be reused with
          --set search.guide_checkpoint=<run dir>), then 7 guides x 2 searches on 200 test
          tasks, 2 s per task and search; sort-and-add overtakes DFS once the guide's mean
          per-attribute AUC is high enough. Measured crossover and wall time: README.md.
"""

import ml_collections

from research.synthesis.configs import T3_GUIDE, deepcoder_config


def get_config(arg=None):
    cfg = deepcoder_config(
        arg,
        **T3_GUIDE,
        time_budget=2.0,
        genetic_tasks=0,
        genetic_budget=1.0,
    )
    smoke = arg == "smoke"
    cfg.quality = ml_collections.ConfigDict(
        {
            # logit = signal * (2y - 1) + N(0, 1) noise; 0 is an uninformative guide
            "signals": (0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.5) if not smoke else (0.0, 2.5),
            "tasks": 200 if not smoke else 8,
            "noise_seed": 0,
        }
    )
    return cfg
