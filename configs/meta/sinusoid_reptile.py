"""Reptile on sinusoid regression: the init moves toward task-adapted weights.

Run:      frontier run configs/meta/sinusoid_reptile.py
          (all methods, with the table: frontier reproduce meta/sinusoid)
Expect:   higher 5-shot MSE than MAML at this budget (5 inner SGD steps of 0.01); no paper number.
          70,000 meta-iterations; see BENCHMARKS.md for the wall time on 2 CPU cores.
"""

from research.meta.configs import sinusoid_config


def get_config(arg=None):
    cfg = sinusoid_config("reptile", arg)
    cfg.meta.inner_steps = 5
    return cfg
