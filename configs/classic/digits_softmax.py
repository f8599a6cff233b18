"""Softmax (multinomial logistic) linear classifier on the 8x8 digits, minibatch SGD.

Run:      frontier run configs/classic/digits_softmax.py --seeds 5
Expect:   test accuracy about 0.97 (scikit-learn's LogisticRegression on the same split is the
          reference in `frontier reproduce classic/digits`); about 20 s on 2 CPU cores.
"""

from research.classic.configs import digits_base


def get_config(arg=None):
    cfg = digits_base("classic/linear", arg)
    cfg.model = {"loss": "softmax", "margin": 1.0, "init_scale": 0.01}
    return cfg
