"""Feynman symbolic regression: one equation's search, and the laws/feynman benchmark budget.

Run:      frontier run configs/laws/feynman.py --set data.equation="'I.12.11'"
          frontier reproduce laws/feynman   # the first 30 equations, ours, gplearn, Operon
          frontier reproduce laws/feynman --set benchmark.num_equations=5
Expect:   population 1000 (4 islands), 30 generations, 1,000 training rows, maxsize 30.
          Measured on a shared, loaded 2-core CPU: 21-61 s per equation for ours (after a
          one-off compilation shared by all equations), 1-133 s for gplearn on the same
          budget; the whole reproduction 45 min. Symbolic solutions (SRBench): ours 15/30,
          gplearn 6/30; accuracy solutions (test R^2 > 0.999): ours 16/30, gplearn 7/30.
"""

from research.laws.configs import feynman_config


def get_config(arg=None):
    return feynman_config(arg, generations=100, num_equations=30)
