"""MAML (second order) on sinusoid regression, the protocol of Finn et al. 2017.

Run:      frontier run configs/meta/sinusoid_maml.py
          (all methods, with the table: frontier reproduce meta/sinusoid)
Expect:   5-shot MSE after 1 / 5 / 10 steps near the paper's 0.67 / 0.38 / 0.35 (Table 2).
          70,000 meta-iterations; see BENCHMARKS.md for the wall time on 2 CPU cores.
"""

from research.meta.configs import sinusoid_config


def get_config(arg=None):
    cfg = sinusoid_config("maml", arg)
    return cfg
