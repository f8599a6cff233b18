"""MLP (64-128-10, ReLU) on the 8x8 digits with softmax cross-entropy and Adam.

Run:      frontier run configs/classic/digits_mlp.py --seeds 5
Expect:   test accuracy about 0.97-0.98 (scikit-learn's MLPClassifier on the same split is the
          reference in `frontier reproduce classic/digits`); about 15 s on 2 CPU cores.
"""

from research.classic.configs import digits_base


def get_config(arg=None):
    cfg = digits_base("classic/mlp", arg)
    cfg.model = {"hidden": (128,), "activation": "relu"}
    cfg.optim.name = "adam"
    cfg.optim.learning_rate = 1e-3
    return cfg
