"""Variational classifier on two Iris classes (setosa vs versicolor; scikit-learn's Iris).

Run:      frontier run configs/quantum/iris.py --seeds 5
Expect:   the 4 features amplitude-embedded on 2 qubits, 4 strongly entangling layers, bias,
          square loss, Adam (0.05), batch 8, 150 steps on a stratified 75/25 split: test
          accuracy near 1.0 (the two classes are linearly separable). About 20 s.
Smoke:    1 layer, 6 steps.
"""

from research.quantum.configs import classifier_config


def get_config(arg=None):
    return classifier_config(
        arg,
        steps=150,
        **{
            "circuit.qubits": 2,
            "circuit.layers": 4,
            "circuit.embedding": "amplitude",
            "circuit.init_scale": 0.5,
            "data.name": "iris",
            "data.train_fraction": 0.75,
            "optim.batch_size": 8,
        },
    )
