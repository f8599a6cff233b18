"""First-order MAML on sinusoid regression (MAML's protocol, no second-order terms).

Run:      frontier run configs/meta/sinusoid_fomaml.py
          (all methods, with the table: frontier reproduce meta/sinusoid)
Expect:   5-shot MSE a little above second-order MAML's; no paper number.
          70,000 meta-iterations; see BENCHMARKS.md for the wall time on 2 CPU cores.
"""

from research.meta.configs import sinusoid_config


def get_config(arg=None):
    cfg = sinusoid_config("fomaml", arg)
    return cfg
