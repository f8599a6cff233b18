"""First-order MAML on 5-way 1-shot digits with a Conv-4.

Digits 0-5 (x4 rotations = 24 classes) train, 6-9 (16 classes) test: disjoint classes, data
shipped with scikit-learn. Evaluation: 600 fixed test tasks, 10 adaptation steps.

Run:      frontier run configs/meta/fewshot_digits_fomaml.py
          (all methods, with the table: frontier reproduce meta/fewshot_digits)
Expect:   test accuracy well above chance (0.2); the measured number is in the README table.
"""

from research.meta.configs import fewshot_config


def get_config(arg=None):
    return fewshot_config("fomaml", arg)
