"""classic: what a machine learns, on scikit-learn's bundled 8x8 handwritten digits.

Nearest neighbours, linear classifiers trained by gradient descent with the multiclass SVM
hinge loss and with softmax cross-entropy, and an MLP: the baseline every module stands on.

    frontier run configs/classic/digits_softmax.py --seeds 5
    frontier reproduce classic/digits      # the accuracy table and the weight templates
"""

from research.classic import experiments, reproduce  # noqa: F401  (registers)
