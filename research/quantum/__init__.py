"""quantum: PennyLane circuits trained with the shared JAX loop, and a quantum Boltzmann machine.

Circuits (`circuits.py`) are PennyLane QNodes with the JAX interface, or the same gates in
pure JAX (`statevector.py`); experiments (`experiments.py`): variational classifiers on
parity and Iris, the data re-uploading classifier, a trained quantum embedding kernel and
barren plateaus. `qbm.py`: the quantum Boltzmann machine by exact diagonalisation.

    frontier run configs/quantum/parity.py --seeds 5
    frontier reproduce quantum/qbm
"""

from research.quantum import experiments, qbm, reproduce, reproduce_qbm  # noqa: F401  (registers)
