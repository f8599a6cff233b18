"""Feynman symbolic regression: one equation's search, and the laws/feynman benchmark budget.

Run:      frontier run configs/laws/feynman.py --set data.equation="'I.12.11'"
          frontier reproduce laws/feynman   # the first 30 equations, ours, gplearn, Operon
          frontier reproduce laws/feynman --set benchmark.num_equations=5
Expect:   population 1000 (4 islands), 100 generations, 1,000 training rows, maxsize 30;
          gplearn and Operon get the same wall time per equation. Measured on a shared,
          loaded 2-core CPU: 55-108 s per equation for ours (the first includes the one-off
          compilation); the 12-equation variant 42.6 min for the three methods. Symbolic
          solutions (SRBench) on those 12: ours 6, gplearn 2, Operon 8; accuracy solutions
          (test R^2 > 0.999): ours 7, gplearn 2, Operon 11. With the least-squares term
          weights (term_weights=6, the default since), ours alone: 7 symbolic, 9 accuracy.
          All 30, ours alone, term weights also under a product: 18 symbolic, 20 accuracy,
          45 s per equation on average (README.md).
"""

from research.laws.configs import feynman_config


def get_config(arg=None):
    return feynman_config(arg, generations=100, num_equations=30)
