"""DeepCoder T=5 (Balog et al. 2017, §5.2): the guide trained on length-4 programs, tested on
length-5 programs with DFS and sort-and-add, guided vs the frequency prior.

Run:      frontier reproduce synthesis/deepcoder_t5   # guide + all searches + tables + plot
Expect:   8000 length-4 training programs, each shown with 16 fresh sets of 5 I/O examples,
          12,000 Adam steps (3.5 min measured), then 30 length-5 test programs
          with 10 s per task and search (genetic 2 s on 10 tasks); paper: guided sort-and-add
          solves 20% / 40% / 60% in 9 s / 264 s / 4,640 s, the prior 8,181 s / >1e4 / >1e4.
          Measured numbers and wall time: README.md.
"""

from research.synthesis.configs import deepcoder_config


def get_config(arg=None):
    cfg = deepcoder_config(
        arg,
        program_length=4,
        num_train=8000,
        num_test=200,
        steps=12000,
        time_budget=10.0,
        genetic_budget=2.0,
        genetic_tasks=10,
        test_length=5,
        test_tasks=30,
        example_sets=16,
    )
    # at T = 5 a small active set fails more (6 attributes: 10/30 tasks, 12: 15-16/30 within
    # 10 s); starting from 20 reached 60% (18/30, README.md)
    cfg.search.sort_add_initial = 20
    return cfg
