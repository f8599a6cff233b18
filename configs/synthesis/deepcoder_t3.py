"""DeepCoder T=3: train the neural guide on generated length-3 programs (Balog et al. 2017).

Run:      frontier run configs/synthesis/deepcoder_t3.py
          frontier reproduce synthesis/deepcoder_t3   # guide + all searches + Table 1
Expect:   corpus of 16,000 training and 500 test programs with distinct behaviours (about
          2 min to generate); each training program is shown with 16 fresh sets of 5 I/O
          examples (`data.example_sets`, drawn once before training), 20,000 Adam steps
          (9 min measured on 2 cores); test mean per-attribute ROC AUC 0.88 (0.81 with the
          corpus's single example set and 6000 steps, where the test loss had started to
          rise). The `search` block (10 s per task and search; genetic search 1 s on 100
          tasks; sort-and-add from the 12 most probable attributes, +4 per round) is read by
          the reproduction. Measured numbers and wall time: README.md.
          Reuse a trained guide and search fewer tasks with
          `--set search.guide_checkpoint=<run dir> --set search.max_tasks=200`.
"""

from research.synthesis.configs import T3_GUIDE, deepcoder_config


def get_config(arg=None):
    return deepcoder_config(
        arg,
        **T3_GUIDE,
        time_budget=10.0,
        genetic_budget=1.0,
        genetic_tasks=100,
    )
