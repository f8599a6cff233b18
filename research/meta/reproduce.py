"""`frontier reproduce meta/sinusoid`: Finn et al. 2017, appendix Table 2 and Figure 2.

Trains MAML, first-order MAML, Meta-SGD, Reptile and the pretrained baseline with the paper's
protocol (configs/meta/sinusoid_*.py), plus MAML with alpha = 0.001 (the released code's
default), then adapts each to the same 600 held-out tasks. Intervals are over tasks
(1.96 std / sqrt(600), the paper's convention); medians show when a few tasks overshoot.
"""

from __future__ import annotations

from pathlib import Path

import jax
import numpy as np

import frontier
from frontier import registry
from frontier.config import configs_root, load_config, write_atomic
from frontier.loop import train
from frontier.report import Row, Table
from research.meta.sinusoid import plot_fits

# label: (config file, overrides, paper's 5-shot MSE after 1 / 5 / 10 steps or None)
SINUSOID_RUNS = {
    "MAML": ("sinusoid_maml.py", [], (0.67, 0.38, 0.35)),
    "MAML, alpha=0.001": (
        "sinusoid_maml.py",
        ["meta.inner_lr=0.001", "eval.inner_lr=0.001"],
        None,
    ),
    "first-order MAML": ("sinusoid_fomaml.py", [], None),
    "Meta-SGD": ("sinusoid_metasgd.py", [], None),
    "Reptile": ("sinusoid_reptile.py", [], None),
    "pretrained on all tasks": ("sinusoid_pretrained.py", [], (2.41, 2.23, 2.19)),
}
TABLE_STEPS = (1, 5, 10)


def per_task_curves(config, state, shots):
    """(experiment, seed-0 params, {K: query MSE `[tasks, max_steps + 1]`}) for K in `shots`."""
    exp = registry.get_experiment(config.experiment).obj(config)
    params = jax.tree.map(lambda x: x[0], state.params)
    fn = jax.jit(exp.per_task_mse, static_argnums=1)
    return exp, params, {k: np.asarray(fn(params, k)) for k in shots}


def plot_steps(curves: dict[str, dict[int, np.ndarray]], path: Path) -> Path:
    """MSE (mean, 95% interval over tasks) vs. number of gradient steps, one panel per K."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shots = sorted(next(iter(curves.values())))
    fig, axes = plt.subplots(1, len(shots), figsize=(4.4 * len(shots), 3.4), squeeze=False)
    for ax, k in zip(axes[0], shots, strict=True):
        for label, per_k in curves.items():
            mse = np.where(np.isfinite(per_k[k]), per_k[k], np.nan)  # diverged tasks left out
            mean = np.nanmean(mse, 0)
            half = 1.96 * np.nanstd(mse, 0, ddof=1) / np.sqrt(np.sum(np.isfinite(mse), 0))
            steps = np.arange(len(mean))
            ax.plot(steps, mean, marker="o", ms=3, label=label)
            ax.fill_between(steps, mean - half, mean + half, alpha=0.2)
        ax.set_yscale("log")
        ax.set_title(f"K = {k} support points")
        ax.set_xlabel("gradient steps at test time")
        ax.set_ylabel("query MSE (600 tasks)")
    axes[0, 0].legend(fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


@frontier.reproduction("meta/sinusoid", "MAML sinusoid regression: Table 2 and Figure 2")
def reproduce_sinusoid(workdir: Path, *, smoke: bool = False, seeds: int | None = None):
    root = configs_root() / "meta"
    curves, fits, rows, medians = {}, {}, [], []
    for label, (file, overrides, paper) in SINUSOID_RUNS.items():
        spec = str(root / file) + (":smoke" if smoke else "")
        config = load_config(spec, overrides + [f"seeds={seeds or 1}"])
        run_dir = workdir / label.replace(" ", "_").replace(",", "").replace("=", "")
        result = train(config, run_dir, progress=not smoke)
        exp, params, per_k = per_task_curves(config, result.state, tuple(config.eval.shots))
        curves[label] = per_k
        if label in ("MAML", "pretrained on all tasks"):
            fits[label] = (exp, params)
        five = per_k[5]
        for i, s in enumerate(TABLE_STEPS):
            values = five[:, s]
            finite = values[np.isfinite(values)]
            diverged = len(values) - len(finite)
            note = f"median {np.median(values):.3f}" + (
                f"; {diverged} task(s) diverged to Inf/NaN, excluded from the mean"
                if diverged
                else ""
            )
            rows.append(
                Row(
                    label,
                    f"5-shot, {s} step{'s' if s > 1 else ''}",
                    finite.tolist(),
                    None if paper is None else paper[i],
                    ci="normal",
                    note=note,
                )
            )
        medians.append(
            f"{label}: largest finite task MSE after 10 steps "
            f"{np.nanmax(np.where(np.isfinite(five[:, 10]), five[:, 10], np.nan)):.2f}"
        )
    plot_steps(curves, workdir / "plots" / "mse_vs_steps.png")
    plot_fits(fits, workdir / "plots" / "figure2.png")
    lines = ["| method | K | " + " | ".join(f"{s} steps" for s in range(11)) + " |"]
    lines.append("|---" * 13 + "|")
    for label, per_k in curves.items():
        for k, mse in sorted(per_k.items()):
            mean = np.nanmean(np.where(np.isfinite(mse), mse, np.nan), 0)
            lines.append(f"| {label} | {k} | " + " | ".join(f"{v:.3f}" for v in mean) + " |")
    write_atomic(workdir / "mse_vs_steps.md", "\n".join(lines) + "\n")
    n_tasks = len(next(iter(curves.values()))[5])
    return Table(
        "MAML sinusoid regression (Finn et al. 2017, appendix Table 2)",
        rows,
        reference_name="paper",
        metric=f"query MSE after adapting to 5 points, mean over {n_tasks} held-out tasks",
        lower_is_better=True,
        notes=[
            "Training: K=10 support + 10 query points, meta-batch 25, Adam 1e-3, one inner SGD "
            "step (Reptile: 5), alpha=0.01 unless stated; "
            f"{config.train.steps} meta-iterations.",
            "The paper's rows exist for MAML and the pretrained baseline only.",
            "Intervals: 1.96 std / sqrt(tasks) over tasks (one trained model per method).",
            "All K and step counts: mse_vs_steps.md and plots/mse_vs_steps.png; Figure 2: "
            "plots/figure2.png.",
        ]
        + medians
        + (["SMOKE RUN: 20 meta-iterations; numbers are not meaningful."] if smoke else []),
    )


FEWSHOT_RUNS = {
    "MAML": "fewshot_digits_maml.py",
    "first-order MAML": "fewshot_digits_fomaml.py",
    "Meta-SGD": "fewshot_digits_metasgd.py",
    "Reptile": "fewshot_digits_reptile.py",
    "Prototypical Networks": "fewshot_digits_protonet.py",
}


@frontier.reproduction(
    "meta/fewshot_digits", "5-way 1- and 5-shot digits (disjoint classes): MAML, ProtoNets, ..."
)
def reproduce_fewshot_digits(workdir: Path, *, smoke: bool = False, seeds: int | None = None):
    """Few-shot classification that runs offline: scikit-learn's digits, disjoint classes.

    No paper reports these tasks, so there is no reference column; the Omniglot configs
    (configs/meta/omniglot_*.py) are the ones to compare with the papers, given the data.
    """
    from research.meta.fewshot import per_task_accuracy

    root = configs_root() / "meta"
    seeds = seeds or 1
    rows = []
    for shots in (1, 5):
        for label, file in FEWSHOT_RUNS.items():
            spec = str(root / file) + (":smoke" if smoke else "")
            config = load_config(spec, [f"meta.shots={shots}", f"seeds={seeds}"])
            result = train(config, workdir / f"{shots}shot" / Path(file).stem, progress=not smoke)
            exp = registry.get_experiment(config.experiment).obj(config)
            acc = per_task_accuracy(exp, result.state)  # [seeds, tasks]
            if seeds == 1:  # one model: the interval is over test tasks
                rows.append(Row(label, f"5-way {shots}-shot", acc[0].tolist(), ci="normal"))
            else:
                rows.append(Row(label, f"5-way {shots}-shot", acc.mean(1).tolist(), ci="t"))
    return Table(
        "Few-shot classification on scikit-learn digits (classes disjoint between train and test)",
        rows,
        reference_name="paper",
        metric=(
            f"query accuracy on {config.eval.num_tasks} fixed test tasks (digits 6-9 x 4 "
            "rotations); with one seed the interval is over tasks (1.96 sem), with several "
            "it is over the seeds' mean accuracies (Student t)"
        ),
        notes=[
            f"{config.train.steps} meta-iterations, meta-batch {config.meta.meta_batch}, Conv-4 "
            f"with {config.model.filters} filters and per-batch normalisation; MAML-family "
            "methods adapt with 10 SGD steps at test time (training: see the configs).",
            "No paper reports this task: the numbers are ours only. Chance is 0.2.",
            "For the papers' Omniglot numbers (MAML 98.7 ± 0.4, ProtoNets 98.8 5-way 1-shot), "
            "run configs/meta/omniglot_*.py with --set data.root=ROOT on a local copy.",
        ]
        + (["SMOKE RUN: 10 meta-iterations; numbers are not meaningful."] if smoke else []),
    )
