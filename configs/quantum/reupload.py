"""Data re-uploading classifier (Perez-Salinas et al. 2020): 1 qubit, 3 layers, circle data.

Run:      frontier run configs/quantum/reupload.py --seeds 5
Expect:   points uniform in [-1, 1]^2, +1 inside the circle of radius sqrt(2/pi); 200
          training and 1000 test points; layer l is Rot(theta_l + w_l * (x1, x2, 0)); no bias,
          so the square loss on <Z> is 4 (1 - fidelity)^2; Adam (0.05), batch 32, 600 steps.
          Test accuracy about 0.9. About 30 s.
Smoke:    1 layer, 6 steps.
"""

from research.quantum.configs import classifier_config


def get_config(arg=None):
    return classifier_config(
        arg,
        steps=600,
        **{
            "circuit.kind": "reupload",
            "circuit.qubits": 1,
            "circuit.layers": 3,
            "circuit.init_scale": 1.0,
            "data.name": "circle",
            "data.num_train": 200,
            "data.num_test": 1000,
            "model.bias": False,
            "optim.batch_size": 32,
        },
    )
