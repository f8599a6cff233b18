"""Variational classifier on 4-bit parity (PennyLane's parity demo, bit strings generated).

Run:      frontier run configs/quantum/parity.py --seeds 5
Expect:   4 qubits, basis embedding, 2 layers of Rot + CNOT ring, bias, square loss,
          Nesterov momentum (step 0.5), batch 5, 100 steps; trained on 10 of the 16 bit
          strings, tested on the other 6. PennyLane's demo reaches 100% test accuracy.
          About 20 s on 2 CPU cores.
Smoke:    1 layer, 6 steps.
"""

from research.quantum.configs import classifier_config


def get_config(arg=None):
    return classifier_config(
        arg,
        **{
            "circuit.qubits": 4,
            "circuit.layers": 2,
            "circuit.embedding": "basis",
            "circuit.ansatz": "ring",
            "optim.name": "nesterov",
            "optim.learning_rate": 0.5,
            "optim.batch_size": 5,
        },
    )
