"""Dual supervised learning (Xia et al. 2017) on binarised scikit-learn digits: a classifier
P(y|x) (MLP 64-128-10) and a class-conditional autoregressive generator P(x|y) (MADE, 256
hidden units) trained together with the duality regulariser of weight lambda = dsl.weight.

Run:      frontier run configs/dual/digits_dsl.py --seeds 5
          frontier run configs/dual/digits_dsl.py --seeds 5 --set dsl.weight=0.0   # no DSL
          frontier reproduce dual/digits     # lambda = 0, 0.01, 0.1, 1 side by side
Expect:   (measured, 5 seeds, 3000 steps) test error 0.071 ± 0.004 and generator NLL
          14.41 ± 0.03 nats/image at lambda = 0.01, the same as without DSL (0.071, 14.41);
          lambda = 0.1 / 1 shrink the duality gap but raise the error to 0.073 / 0.142 and the
          NLL to 14.50 / 15.11. About 1-2 min per 5-seed run on 2 cores (8 min for the
          whole reproduction on a machine loaded by other jobs).
"""

from research.dual.configs import digits_dsl_config


def get_config(arg=None):
    return digits_dsl_config(0.01, arg)
