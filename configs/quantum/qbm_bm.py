"""QBM paper data (N = 10, M = 8, p = 0.9): the classical Boltzmann machine (Gamma = 0).

Run:      frontier run configs/quantum/qbm_bm.py --seeds 5
Expect:   KL(P_data || P_model) after 60 full-batch Adam steps (lr 0.2) on the exact data
          distribution; `frontier reproduce quantum/qbm` compares BM, bQBM and QBM. Each quantum
          step diagonalises a 1024 x 1024 float64 matrix: measured 5.6 s per iteration per seed
          on 2 busy CPU cores (benchmarks/quantum_throughput.py), so 60 steps x 3 seeds of bQBM
          and QBM take about half an hour there; at N = 8 (--set qbm.visible=8) the whole
          BM/bQBM/QBM comparison (3 seeds, 60 steps) took 166 s.
          The BM is fast (0.5 ms per iteration). Smoke: 4 visible units, 3 steps.
"""

from research.quantum.configs import qbm_config


def get_config(arg=None):
    return qbm_config("bm", arg)
