"""QBM paper data (N = 10, M = 8, p = 0.9): QBM, exact gradient (Gamma learned from 2).

Run:      frontier run configs/quantum/qbm_qbm.py --seeds 5
Expect:   KL(P_data || P_model) after 60 full-batch Adam steps (lr 0.2) on the exact data
          distribution; `frontier reproduce quantum/qbm` compares BM, bQBM and QBM. Each quantum
          step diagonalises a 1024 x 1024 float64 matrix (about 1 s on 2 busy CPU cores); the
          BM is fast. Smoke: 4 visible units, 3 steps.
"""

from research.quantum.configs import qbm_config


def get_config(arg=None):
    return qbm_config("qbm", arg)
