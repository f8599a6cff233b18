"""DeepCoder T=4 (budgeted): the guide on length-4 programs, searched with a 3 s budget.

Run:      frontier run configs/synthesis/deepcoder_t4.py
          frontier reproduce synthesis/deepcoder_t4   # same table as T=3, for T=4
Expect:   8000 training and 200 test programs; the guide trains in about 2 minutes; the
          baseline searches solve far fewer tasks than at T=3 within the budget (the search
          space grows about 100-fold per statement). About 30 minutes on 2 CPU cores in all.
"""

from research.synthesis.configs import deepcoder_config


def get_config(arg=None):
    return deepcoder_config(
        arg,
        program_length=4,
        num_train=8000,
        num_test=200,
        steps=6000,
        time_budget=3.0,
        genetic_budget=1.5,
        genetic_tasks=50,
    )
