"""DeepCoder T=4 (budgeted): the guide on length-4 programs, searched with a 3 s budget.

Run:      frontier run configs/synthesis/deepcoder_t4.py
          frontier reproduce synthesis/deepcoder_t4   # same table as T=3, for T=4
Expect:   8000 training and 200 test programs; the searches have 3 s per task (genetic
          1.5 s on 50 tasks). Only the smoke variant has been run: the full run's numbers and
          wall time are not measured yet (the corpus of length-4 programs and the searches
          should take roughly as long as the T=3 reproduction, about 30-40 min on 2 cores).
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
