"""laws: symbolic law discovery.

A JAX-native symbolic regression engine (`expr`: prefix token arrays and a jitted interpreter;
`genetic`: one generation of an island GP as a pure step), a scikit-learn estimator
(`regressor.SymbolicRegressor`, with a PySR backend in `pysr_backend`), the AI Feynman
benchmark with SRBench's criteria (`feynman`), conserved quantities from simulated motion
(`conservation`, Schmidt & Lipson 2009), loop experiments (`experiments`) and the
reproductions (`reproduce`). Imports run one way: experiments -> regressor -> pysr_backend.

    frontier run configs/laws/feynman.py
    frontier reproduce laws/feynman
    frontier reproduce laws/conservation
"""

from research.laws import experiments, reproduce  # noqa: F401  (registers)
from research.laws.regressor import SymbolicRegressor

__all__ = ["SymbolicRegressor"]
