"""Baseline: one network pretrained on all sinusoid tasks, then fine-tuned per task.

Run:      frontier run configs/meta/sinusoid_pretrained.py
          (all methods, with the table: frontier reproduce meta/sinusoid)
Expect:   5-shot MSE near the paper's 2.41 / 2.23 / 2.19 after 1 / 5 / 10 steps: it cannot adapt.
          70,000 meta-iterations; see BENCHMARKS.md for the wall time on 2 CPU cores.
"""

from research.meta.configs import sinusoid_config


def get_config(arg=None):
    cfg = sinusoid_config("pretrained", arg)
    return cfg
