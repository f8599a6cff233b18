"""`frontier reproduce classic/digits`: the accuracy table and the learned weight templates.

Each method runs through `frontier.loop` with its config in configs/classic/ and `seeds`
seeds (vmapped in one program). The reference column is scikit-learn's own estimator of the
same kind, fitted on the same split: a measured peer, not a number from a paper.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

import frontier
from frontier.config import configs_root
from frontier.loop import run_config
from frontier.report import Row, Table
from research.classic.experiments import digits, plot_templates

METHODS = {
    # name: (config file, scikit-learn reference)
    "KNN (k=3)": ("digits_knn.py", "knn"),
    "linear, SVM hinge loss": ("digits_svm.py", "linear_svm"),
    "linear, softmax loss": ("digits_softmax.py", "logistic"),
    "MLP (128 ReLU)": ("digits_mlp.py", "mlp"),
}


def sklearn_reference(kind: str, split_seed: int = 0, test_fraction: float = 0.25) -> float:
    """Test accuracy of scikit-learn's estimator of the same kind on the same split."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.neural_network import MLPClassifier
    from sklearn.svm import LinearSVC

    xtr, ytr, xte, yte = digits(test_fraction, split_seed)
    model = {
        "knn": lambda: KNeighborsClassifier(n_neighbors=3),
        "linear_svm": lambda: LinearSVC(C=1.0, max_iter=20000, random_state=0),
        "logistic": lambda: LogisticRegression(max_iter=5000),
        "mlp": lambda: MLPClassifier((128,), max_iter=1000, random_state=0),
    }[kind]()
    return float(model.fit(xtr, ytr).score(xte, yte))


@frontier.reproduction("classic/digits", "Digits accuracy: KNN, SVM-loss and softmax linear, MLP")
def reproduce_digits(workdir: Path, *, smoke: bool = False, seeds: int | None = None) -> Table:
    seeds = seeds or (2 if smoke else 5)
    root = configs_root() / "classic"
    rows, templates = [], {}
    for method, (config, ref_kind) in METHODS.items():
        spec = str(root / config) + (":smoke" if smoke else "")
        result = run_config(spec, workdir / Path(config).stem, seeds=seeds, progress=False)
        acc = np.asarray(result.final["accuracy"])
        rows.append(Row(method, f"{seeds} seeds", acc.tolist(), sklearn_reference(ref_kind)))
        if "W" in getattr(result.state, "params", {}):
            templates[method] = np.asarray(result.state.params["W"][0])
    plot_templates(templates, workdir / "plots" / "templates.png")
    return Table(
        "scikit-learn digits (8x8), test accuracy",
        rows,
        reference_name="scikit-learn",
        metric="test accuracy on a fixed stratified 25% split (1797 images; 450 test)",
        notes=[
            "Reference: scikit-learn's KNeighborsClassifier(3), LinearSVC, LogisticRegression "
            "and MLPClassifier((128,)) fitted on the same split (one deterministic fit each).",
            "Seeds vary initialisation and minibatch order; the split is fixed, so KNN has no "
            "spread.",
            "Templates: plots/templates.png (weights of seed 0, one 8x8 image per class).",
        ]
        + (["SMOKE RUN: 20 steps; numbers are not meaningful."] if smoke else []),
    )
