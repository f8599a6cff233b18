"""Linear classifier trained with the multiclass SVM hinge loss on the 8x8 digits, SGD.

Run:      frontier run configs/classic/digits_svm.py --seeds 5
Expect:   test accuracy about 0.97 (scikit-learn's LinearSVC on the same split is the reference
          in `frontier reproduce classic/digits`); about 20 s on 2 CPU cores.
"""

from research.classic.configs import digits_base


def get_config(arg=None):
    cfg = digits_base("classic/linear", arg)
    cfg.model = {"loss": "hinge", "margin": 1.0, "init_scale": 0.01}
    cfg.optim.learning_rate = 0.05
    return cfg
