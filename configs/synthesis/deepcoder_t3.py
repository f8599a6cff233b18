"""DeepCoder T=3: train the neural guide on generated length-3 programs (Balog et al. 2017).

Run:      frontier run configs/synthesis/deepcoder_t3.py
          frontier reproduce synthesis/deepcoder_t3   # guide + all searches + Table 1
Expect:   corpus of 16,000 training and 500 test programs (distinct behaviours; about 1.5 min
          to generate), 6000 Adam steps (about 1-2 min on 2 CPU cores); test mean per-attribute
          ROC AUC about 0.85-0.9. The `search` block (2 s per task and search) is read by the
          reproduction, which takes about 25 minutes in all on 2 CPU cores.
"""

from research.synthesis.configs import deepcoder_config


def get_config(arg=None):
    return deepcoder_config(
        arg,
        program_length=3,
        num_train=16000,
        num_test=500,
        steps=6000,
        time_budget=2.0,
        genetic_tasks=100,
    )
