"""Reproductions of the circuit experiments: `frontier reproduce quantum/<name>`.

parity, iris, reupload (test accuracy), kernel (alignment and SVC accuracy before and after
training), barren (gradient variance vs qubits, semilog plot and fitted slope).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

import frontier
from frontier.config import configs_root, load_config
from frontier.loop import run_config
from frontier.report import Row, Table
from research.quantum.experiments import EmbeddingKernel, iris_data, svc_accuracy


def _spec(name: str, smoke: bool) -> str:
    return str(configs_root() / "quantum" / f"{name}.py") + (":smoke" if smoke else "")


def _smoke_note(smoke: bool) -> list[str]:
    return ["SMOKE RUN: a few steps; numbers are not meaningful."] if smoke else []


def _accuracy_table(name, title, workdir, smoke, seeds, reference, ref_name, notes) -> Table:
    seeds = seeds or (2 if smoke else 5)
    r = run_config(_spec(name, smoke), workdir / name, seeds=seeds, progress=False)
    rows = [
        Row("test accuracy", f"{seeds} seeds", r.final["accuracy"].tolist(), reference),
        Row("train accuracy", f"{seeds} seeds", r.final["train_accuracy"].tolist()),
    ]
    return Table(
        title, rows, reference_name=ref_name, metric="accuracy", notes=notes + _smoke_note(smoke)
    )


@frontier.reproduction("quantum/parity", "Variational classifier on 4-bit parity (PennyLane demo)")
def reproduce_parity(workdir: Path, *, smoke: bool = False, seeds: int | None = None) -> Table:
    return _accuracy_table(
        "parity",
        "4-bit parity, variational classifier (10 train / 6 test bit strings)",
        workdir,
        smoke,
        seeds,
        1.0,
        "PennyLane demo",
        [
            "Reference: PennyLane's variational-classifier demo reports 100% test accuracy.",
            "Seeds vary the initial weights and the minibatch order; the split is fixed.",
        ],
    )


@frontier.reproduction("quantum/iris", "Variational classifier on Iris setosa vs versicolor")
def reproduce_iris(workdir: Path, *, smoke: bool = False, seeds: int | None = None) -> Table:
    from sklearn.linear_model import LogisticRegression

    cfg = load_config(_spec("iris", smoke))
    xtr, ytr, xte, yte = iris_data(cfg.data.train_fraction, cfg.data.split_seed)
    peer = float(LogisticRegression(max_iter=2000).fit(xtr, ytr).score(xte, yte))
    return _accuracy_table(
        "iris",
        "Iris setosa vs versicolor, amplitude embedding on 2 qubits",
        workdir,
        smoke,
        seeds,
        peer,
        "scikit-learn",
        ["Reference: scikit-learn LogisticRegression on the same split (a measured peer)."],
    )


@frontier.reproduction("quantum/reupload", "Data re-uploading classifier, 1 qubit, circle data")
def reproduce_reupload(workdir: Path, *, smoke: bool = False, seeds: int | None = None) -> Table:
    return _accuracy_table(
        "reupload",
        "Data re-uploading (Perez-Salinas et al. 2020), 1 qubit, 3 layers, circle",
        workdir,
        smoke,
        seeds,
        None,
        "paper",
        [
            "No reference number is recorded in PAPERS.md; the paper's claim is that one qubit "
            "with re-uploading classifies the circle well above chance (0.5)."
        ],
    )


@frontier.reproduction("quantum/kernel", "Quantum embedding kernel: alignment and SVC accuracy")
def reproduce_kernel(workdir: Path, *, smoke: bool = False, seeds: int | None = None) -> Table:
    seeds = seeds or (2 if smoke else 3)
    spec = _spec("kernel", smoke)
    before = run_config(spec, workdir / "untrained", ["train.steps=0"], seeds=seeds, progress=False)
    after = run_config(spec, workdir / "trained", seeds=seeds, progress=False)
    exp = EmbeddingKernel(load_config(spec))
    data = (exp.x_train, exp.y_train, exp.x_test, exp.y_test)

    def accuracies(state):
        return [svc_accuracy(exp.kernel, np.asarray(w), data) for w in state.params["weights"]]

    rows = [
        Row("alignment, untrained kernel", "train set", before.final["alignment"].tolist()),
        Row("alignment, trained kernel", "train set", after.final["alignment"].tolist()),
        Row("SVC test accuracy, untrained kernel", "test set", accuracies(before.state)),
        Row("SVC test accuracy, trained kernel", "test set", accuracies(after.state)),
    ]
    gain = np.subtract(rows[3].values, rows[2].values)
    rows.append(Row("SVC accuracy gain from training", "paired by seed", gain.tolist()))
    c = load_config(spec).circuit
    return Table(
        f"Quantum embedding kernel ({c.qubits} qubits, {c.layers} layers) on double-cake data",
        rows,
        metric="kernel-target alignment / SVC test accuracy",
        notes=[
            "Claim to check (kernel-alignment demo): training raises the alignment and the "
            "SVC accuracy. Seeds vary the initial kernel parameters and the subsets.",
        ]
        + _smoke_note(smoke),
    )


@frontier.reproduction("quantum/barren", "Barren plateaus: gradient variance vs number of qubits")
def reproduce_barren(workdir: Path, *, smoke: bool = False, seeds: int | None = None) -> Table:
    seeds = seeds or (2 if smoke else 3)
    qubits = [2, 3, 4] if smoke else list(range(2, 12))
    # Two depths: 15 layers per qubit (deep enough that every size reaches the 2-design
    # regime; the depth that takes grows with n) and the fixed 50 layers, whose gradient
    # variance levels off once the circuits are too shallow for their width.
    depths = {"deep": (lambda n: 3 * n) if smoke else (lambda n: 15 * n), "fixed": lambda n: 5}
    if not smoke:
        depths["fixed"] = lambda n: 50
    var = {}
    for name, depth in depths.items():
        runs = []
        for n in qubits:
            r = run_config(
                _spec("barren", smoke),
                workdir / f"{name}_q{n}",
                [f"circuit.qubits={n}", f"circuit.layers={depth(n)}"],
                seeds=seeds,
                progress=False,
            )
            runs.append(np.asarray(r.final["grad_variance"], np.float64))
        var[name] = np.stack(runs)  # [qubits, seeds]

    def slopes(v):
        return [float(np.polyfit(qubits, np.log2(v[:, s]), 1)[0]) for s in range(seeds)]

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    labels = {
        "deep": f"{depths['deep'](1)} layers per qubit",
        "fixed": f"{depths['fixed'](1)} layers",
    }
    for name, marker in (("deep", "o-"), ("fixed", "s:")):
        v = var[name].mean(1)
        fit = np.polyfit(qubits, np.log2(v), 1)
        ax.semilogy(qubits, v, marker, label=f"{labels[name]} (slope {fit[0]:.2f})")
    ax.semilogy(qubits, 2.0 ** -np.asarray(qubits, float), "k--", lw=0.8, label="2^-n")
    ax.set_xlabel("qubits")
    ax.set_ylabel("Var[d<Z0 Z1>/d theta_1]")
    ax.legend(fontsize=8)
    fig.tight_layout()
    (workdir / "plots").mkdir(parents=True, exist_ok=True)
    fig.savefig(workdir / "plots" / "barren_plateau.png", dpi=110)
    plt.close(fig)
    rows = [
        Row(f"Var of gradient, {n} qubits", f"{depths['deep'](n)} layers", var["deep"][i].tolist())
        for i, n in enumerate(qubits)
    ]
    rows.append(
        Row("fitted slope of log2 Var per qubit", labels["deep"], slopes(var["deep"]), -1.0)
    )
    rows.append(
        Row(
            "fitted slope of log2 Var per qubit",
            labels["fixed"],
            slopes(var["fixed"]),
            -1.0,
            note="fixed depth, for comparison",
        )
    )
    return Table(
        "Barren plateaus (McClean et al. 2018): random circuits, variance vs qubits",
        rows,
        reference_name="2-design theory",
        metric="gradient variance; slope in log2 units",
        lower_is_better=None,  # a slope is not better or worse than theory, only different
        digits=5,
        notes=[
            "Reference for the slope: a unitary 2-design gives Var ~ 2^-n, a slope of -1 per "
            "qubit in log2; the paper shows the exponential decay as a plot.",
            "Each seed draws its own 200 random circuits. Plot: plots/barren_plateau.png. "
            "The exponential decay needs circuits deep enough to be 2-designs, a depth that "
            "grows with the width (McClean et al.); at a fixed 50 layers the larger sizes are "
            "not there yet, so that slope is flatter.",
        ]
        + _smoke_note(smoke),
    )
