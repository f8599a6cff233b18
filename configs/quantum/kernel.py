"""Quantum embedding kernel trained by kernel-target alignment on generated double-cake data.

Run:      frontier run configs/quantum/kernel.py --seeds 3
Expect:   2 qubits, 3 layers of (H, RZ(x_i), RY(theta)) + CRZ ring; 60 training and 60 test
          points in 12 alternating sectors of two rings; Adam (0.1) on the alignment of random
          8-point subsets, 150 steps. The training-set alignment rises; `frontier reproduce
          quantum/kernel` also fits scikit-learn's SVC on the kernel before and after. ~1 min.
          Smoke: 1 layer, 12 + 12 points, 3 steps.
"""

from research.quantum.configs import circuit_base


def get_config(arg=None):
    import ml_collections

    cfg, smoke = circuit_base("quantum/kernel", arg, steps=150, smoke_steps=3)
    cfg.circuit.qubits = 2
    cfg.circuit.layers = 1 if smoke else 3
    cfg.data = ml_collections.ConfigDict(
        {
            "name": "double_cake",
            "train_fraction": 0.5,
            "num_train": 12 if smoke else 60,
            "num_test": 0,
            "split_seed": 0,
        }
    )
    cfg.optim.learning_rate = 0.1
    cfg.optim.batch_size = 8
    return cfg
