"""Feynman symbolic regression: one equation's search, and the laws/feynman benchmark budget.

Run:      frontier run configs/laws/feynman.py --set data.equation="'I.12.11'"
          frontier reproduce laws/feynman   # the first 30 equations, ours, gplearn, Operon
          frontier reproduce laws/feynman --set benchmark.num_equations=5
Expect:   population 1000 (4 islands), 300 generations, 1,000 training rows, maxsize 30,
          p_add_term 0.1; gplearn and Operon get the same wall time per equation. All 30,
          ours alone (--set benchmark.gplearn=False --set benchmark.operon=False): 23/30
          symbolic (24/30 with the criterion's square check, added after that run), 26/30
          accuracy solutions, 42.5 min on 2 cores (60-137 s per equation, the first
          including the one-off compilation; 2026-12-08). Earlier runs on the first 12
          with gplearn and Operon at the same wall time: symbolic ours 6, gplearn 2, Operon 8
          (README.md).
          Run chosen equations with --set "benchmark.equations=['I.13.4', 'I.39.11']".
"""

from research.laws.configs import feynman_config


def get_config(arg=None):
    return feynman_config(arg, generations=300, num_equations=30)
