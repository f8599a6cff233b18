"""Feynman symbolic regression: one equation's search, and the laws/feynman benchmark budget.

Run:      frontier run configs/laws/feynman.py --set data.equation="'I.12.11'"
          frontier reproduce laws/feynman   # the first 30 equations, ours, gplearn, Operon
          frontier reproduce laws/feynman --set benchmark.num_equations=5
Expect:   population 1000 (4 islands), 300 generations, 1,000 training rows, maxsize 30,
          p_add_term 0.1; gplearn and Operon get the same wall time per equation. All 30
          (2026-12-08, 60-137 s per equation, the first including the one-off compilation):
          symbolic ours 24/30, Operon 19/30, gplearn 6/30; accuracy (R^2 > 0.999) ours 26,
          Operon 28, gplearn 8 (README.md). Ours alone on 2 cores: 42.5 min.
          Results are saved after every equation; the same command in the same workdir
          resumes. --set "benchmark.results_from=['<run>/feynman_results.json']" takes the
          methods stored there instead of running them (e.g. the peers in separate processes).
          Run chosen equations with --set "benchmark.equations=['I.13.4', 'I.39.11']".
"""

from research.laws.configs import feynman_config


def get_config(arg=None):
    return feynman_config(arg, generations=300, num_equations=30)
