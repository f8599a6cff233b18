"""k-nearest-neighbour classifier (k=3, Euclidean) on the 8x8 digits: no training steps.

Run:      frontier run configs/classic/digits_knn.py
Expect:   test accuracy about 0.98; deterministic given the split, so every seed agrees.
"""

from research.classic.configs import digits_base


def get_config(arg=None):
    cfg = digits_base("classic/knn", arg, steps=0)
    cfg.train.steps = 0
    cfg.train.eval_every = 1
    cfg.model = {"k": 3}
    return cfg
