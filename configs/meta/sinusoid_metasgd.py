"""Meta-SGD on sinusoid regression: per-parameter inner step sizes learned with the init.

Run:      frontier run configs/meta/sinusoid_metasgd.py
          (all methods, with the table: frontier reproduce meta/sinusoid)
Expect:   5-shot MSE at or below MAML's after one step (Li et al. 2017); no paper row in Table 2.
          70,000 meta-iterations; see BENCHMARKS.md for the wall time on 2 CPU cores.
"""

from research.meta.configs import sinusoid_config


def get_config(arg=None):
    cfg = sinusoid_config("metasgd", arg)
    return cfg
