"""dual: dual learning on a generated digits <-> English words language pair, and dual
supervised learning on scikit-learn's digits.

    frontier reproduce dual/translation   # supervised 10% / 100%, back-translation, dual learning
    frontier reproduce dual/digits        # classifier + conditional generator, with and without DSL
"""

from research.dual import dsl, reproduce, translation  # noqa: F401  (registers)
