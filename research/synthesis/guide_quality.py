"""`frontier reproduce synthesis/guide_quality`: how good must the guide be for sort-and-add
to beat DFS?

DeepCoder (Balog et al. 2017) reports that with its neural guide sort-and-add enumeration
solves tasks several times faster than guided DFS. Whether it does depends on the guide:
sort-and-add bets on a small active set of attributes, which pays off only when the needed
attributes rank high. This reproduction measures both searches (fast engine, the configured
sort-and-add schedule) on the same test tasks under guides of controlled quality:

- synthetic guides: for task i and attribute a, probability sigmoid(s * (2 y_ia - 1) + e_ia),
  y_ia = 1 when the task's program uses the attribute, e_ia ~ N(0, 1); the signal s sweeps
  from 0 (no information, mean per-attribute AUC about 0.5) to an almost perfect ranking;
- the trained guide (configs/synthesis/guide_quality.py trains it as deepcoder_t3 does, or
  reuses `search.guide_checkpoint`), placed on the same AUC axis.

Tables: time to solve 20% / 40% / 60% of the tasks for each guide and search, and the DFS /
sort-and-add time ratio with a bootstrap 95% interval over tasks; plot: time to solve vs the
guide's AUC. No paper number is compared: the question is where the crossover lies.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import jax.numpy as jnp
import numpy as np

import frontier
from frontier.config import configs_root, load_config
from frontier.report import Row, Table
from research.synthesis.data import attribute_targets
from research.synthesis.experiments import roc_auc
from research.synthesis.reproduce import (
    LEVELS,
    _log,
    bootstrap_ratio,
    time_to_solve,
    train_guide,
)
from research.synthesis.search import dfs_search, sort_and_add_search

SEARCHES = ("DFS", "sort-and-add")


def synthetic_guide(targets: np.ndarray, signal: float, rng: np.random.Generator) -> np.ndarray:
    """Attribute probabilities `[n, 34]` whose logits are `signal * (2 y - 1)` plus standard
    normal noise (`targets` y in {0, 1}); signal 0 is an uninformative guide."""
    if signal < 0:
        raise ValueError(f"quality.signals must be >= 0, got {signal}")
    y = np.asarray(targets, np.float64)
    logits = signal * (2.0 * y - 1.0) + rng.standard_normal(y.shape)
    return 1.0 / (1.0 + np.exp(-logits))


def mean_auc(probs: np.ndarray, targets: np.ndarray) -> float:
    """Mean per-attribute ROC AUC over the attributes with both classes among the tasks."""
    return float(np.nanmean(np.asarray(roc_auc(jnp.asarray(probs), jnp.asarray(targets)))))


def run_guides(tasks, guides: dict[str, np.ndarray], config, length: int) -> dict:
    """Both searches under every guide: per guide and search, seconds and nodes per task
    (inf when unsolved within `search.time_budget`)."""
    s = config.search
    budget = float(s.time_budget)
    out = {}
    for name, probs in guides.items():
        rec = {}
        for search in SEARCHES:
            seconds, nodes = [], []
            for task, p in zip(tasks, probs, strict=True):
                if search == "DFS":
                    r = dfs_search(task, p, length, budget)
                else:
                    r = sort_and_add_search(
                        task,
                        p,
                        length,
                        budget,
                        initial=int(s.sort_add_initial),
                        step=int(s.sort_add_step),
                        unit=str(s.sort_add_unit),
                    )
                seconds.append(r.seconds if r.solved else float("inf"))
                nodes.append(r.nodes if r.solved else float("inf"))
            rec[search] = {"seconds": seconds, "nodes": nodes}
        out[name] = rec
        t60 = [1000 * time_to_solve(np.asarray(rec[k]["seconds"]), 0.6) for k in SEARCHES]
        _log(f"  {name}: 60% solved in {t60[0]:.1f} ms (DFS) / {t60[1]:.1f} ms (sort-and-add)")
    return out


def plot_quality(results: dict, aucs: dict[str, float], path: Path) -> Path:
    """Time to solve 20% / 40% / 60% vs the guide's mean AUC, one line per search and level;
    the trained guide as a marked point."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    synthetic = sorted((n for n in results if n != "trained guide"), key=lambda n: aucs[n])
    styles = {"DFS": "-", "sort-and-add": "--"}
    for level, color in zip(LEVELS, ("tab:blue", "tab:orange", "tab:green"), strict=True):
        for search in SEARCHES:
            x = [aucs[n] for n in synthetic]
            y = [1000 * time_to_solve(np.asarray(results[n][search]["seconds"]), level)
                 for n in synthetic]  # fmt: skip
            ax.plot(x, y, styles[search], color=color, marker="o", ms=3,
                    label=f"{search}, {int(level * 100)}% solved")  # fmt: skip
            if "trained guide" in results:
                t = 1000 * time_to_solve(
                    np.asarray(results["trained guide"][search]["seconds"]), level
                )
                ax.plot([aucs["trained guide"]], [t], "*" if search == "DFS" else "x",
                        color=color, ms=9)  # fmt: skip
    ax.set_yscale("log")
    ax.set_xlabel("guide: mean per-attribute AUC (stars / crosses: the trained guide)")
    ax.set_ylabel("ms until the fraction of tasks is solved")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


@frontier.reproduction(
    "synthesis/guide_quality",
    "Sort-and-add vs DFS as the guide's quality varies (synthetic guides and the trained one)",
)
def reproduce_guide_quality(
    workdir: Path, *, smoke: bool = False, seeds: int | None = None, overrides=None
) -> list[Table]:
    """`overrides`: e.g. `--set quality.tasks=50` or `--set search.guide_checkpoint=<run>`."""
    wall = time.perf_counter()
    workdir = Path(workdir)
    spec = str(configs_root() / "synthesis" / "guide_quality.py") + (":smoke" if smoke else "")
    config = load_config(spec, [f"seeds={seeds or 1}", *(overrides or [])])
    q = config.quality
    signals = [float(v) for v in q.signals]
    if not signals:
        raise ValueError("quality.signals is empty; give at least one signal, e.g. (0.0, 1.0)")
    if int(q.tasks) < 1:
        raise ValueError(f"quality.tasks must be >= 1, got {q.tasks}")
    exp, params, _, corpus_seconds, train_seconds = train_guide(config, workdir, "guide_quality.py")
    tasks = list(exp.corpus.test)[: int(q.tasks)]
    length = max(task.program.length for task in tasks)
    targets = attribute_targets(tasks)
    rng = np.random.default_rng(int(q.noise_seed))
    guides = {f"synthetic, signal {s:g}": synthetic_guide(targets, s, rng) for s in signals}
    guides["trained guide"] = exp.predict(params, tasks)
    aucs = {name: mean_auc(p, targets) for name, p in guides.items()}
    budget = float(config.search.time_budget)
    _log(f"[synthesis] {len(guides)} guides x {len(tasks)} tasks, T={length}, {budget:g} s each")
    search_started = time.perf_counter()
    results = run_guides(tasks, guides, config, length)
    search_seconds = time.perf_counter() - search_started
    (workdir / "guide_quality.json").write_text(
        json.dumps({"auc": aucs, "results": results}, indent=1)
    )
    plot_quality(results, aucs, workdir / "plots" / "time_vs_guide_auc.png")

    ratio_rows, time_rows = [], []
    for name in sorted(guides, key=lambda n: aucs[n]):
        rec = results[name]
        for level in LEVELS:
            setting = f"AUC {aucs[name]:.3f}, {int(level * 100)}% solved"
            dfs = np.asarray(rec["DFS"]["seconds"])
            sa = np.asarray(rec["sort-and-add"]["seconds"])
            td, ts = time_to_solve(dfs, level), time_to_solve(sa, level)
            for search, v in (("DFS", td), ("sort-and-add", ts)):
                note = "" if np.isfinite(v) else f"not reached within {budget:g} s"
                time_rows.append(Row(f"{name}: {search}", setting, [1000 * v], note=note))
            nd = time_to_solve(np.asarray(rec["DFS"]["nodes"]), level)
            ns = time_to_solve(np.asarray(rec["sort-and-add"]["nodes"]), level)
            if np.isfinite(td) and np.isfinite(ts):
                lo, hi = bootstrap_ratio(dfs, sa, level)
                ratio_rows.append(
                    Row(
                        name,
                        setting,
                        [td / ts],
                        interval=(lo, hi) if np.isfinite(lo) else None,
                        note=f"{1000 * td:.1f} ms / {1000 * ts:.1f} ms; nodes {nd:.0f} / {ns:.0f}",
                    )
                )
    smoke_note = ["SMOKE RUN: T=2, tiny corpus and budget; numbers are not meaningful."] * smoke
    notes = [
        f"T = {length}; the first {len(tasks)} test tasks of the guide's corpus; "
        f"{budget:g} s per task and search; sort-and-add starts with "
        f"{config.search.sort_add_initial} {config.search.sort_add_unit}s, +"
        f"{config.search.sort_add_step} per round (the deepcoder_t3 setting); fast engine.",
        f"Wall time: corpus {corpus_seconds:.0f} s, guide training {train_seconds:.0f} s, "
        f"searches {search_seconds:.0f} s, total {time.perf_counter() - wall:.0f} s.",
    ]
    tables = [
        Table(
            "Guided DFS time / sort-and-add time, by guide quality",
            ratio_rows,
            metric="DFS time / sort-and-add time at the same solve level (> 1: sort-and-add "
            "faster); interval: bootstrap 95% over tasks",
            digits=2,
            notes=notes + smoke_note,
        ),
        Table(
            "Time to solve a fraction of the tasks, by guide quality",
            time_rows,
            metric="milliseconds (lower is better)",
            lower_is_better=True,
            digits=1,
            notes=["One number per row (a quantile over tasks): no interval."] + smoke_note,
        ),
    ]
    return tables
