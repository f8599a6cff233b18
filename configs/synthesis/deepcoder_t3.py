"""DeepCoder T=3: train the neural guide on generated length-3 programs (Balog et al. 2017).

Run:      frontier run configs/synthesis/deepcoder_t3.py
          frontier reproduce synthesis/deepcoder_t3   # guide + all searches + Table 1
Expect:   corpus of 16,000 training and 500 test programs with distinct behaviours (about
          2 min to generate), 6000 Adam steps (about 5 min on a busy 2-core CPU); test mean
          per-attribute ROC AUC 0.81. The `search` block (10 s per task and search; genetic
          search 1 s on 100 tasks) is read by the reproduction: measured 35.5 min wall in all
          on a shared 2-core CPU, with speedups DFS 10.3x / 4.1x / 3.4x and sort-and-add
          55.8x / 25.6x / >6.1x (paper 15.2 / 3.9 / 2.9 and 62.2 / 54.6 / 31.5).
"""

from research.synthesis.configs import deepcoder_config


def get_config(arg=None):
    return deepcoder_config(
        arg,
        program_length=3,
        num_train=16000,
        num_test=500,
        steps=6000,
        time_budget=10.0,
        genetic_budget=1.0,
        genetic_tasks=100,
    )
