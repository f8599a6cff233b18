"""Barren plateaus (McClean et al. 2018): variance of the gradient of random circuits.

Run:      frontier run configs/quantum/barren.py --set circuit.qubits=8 --seeds 3
Expect:   no training (steps = 0): 200 random circuits of 50 layers of random Pauli rotations
          and a CZ ladder; grad_variance of d<Z_0 Z_1>/d(first angle). At depths that make the
          circuits 2-designs the variance falls about 2x per added qubit: `frontier reproduce
          quantum/barren` sweeps 2..11 qubits at 15 layers per qubit and at a fixed 50 layers
          and fits the slopes: -1.006 ± 0.035 at 15 layers per qubit, -0.59 at 50 layers
          (11 min for the sweep on 2 loaded cores).
          Pure-JAX backend by default (circuit.backend=pennylane gives the same numbers).
Smoke:    4 qubits, 5 layers, 20 circuits.
"""

from research.quantum.configs import circuit_base


def get_config(arg=None):
    import ml_collections

    cfg, smoke = circuit_base("quantum/barren", arg, steps=0, smoke_steps=0)
    cfg.train.log_every = cfg.train.eval_every = cfg.train.checkpoint_every = 1
    cfg.circuit.backend = "jax"
    cfg.circuit.qubits = 4
    cfg.circuit.layers = 5 if smoke else 50
    cfg.barren = ml_collections.ConfigDict({"samples": 20 if smoke else 200})
    return cfg
