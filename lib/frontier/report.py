"""Markdown tables and matplotlib plots from run directories, and paper-comparison tables."""

from __future__ import annotations

import dataclasses
import math
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from frontier.config import write_atomic
from frontier.metrics import format_ci, mean_ci95, read_metrics


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _run_rows(run_dir: Path) -> list[dict]:
    """Rows of a run, including those of sequential seeds in `seeds/<seed>/`."""
    rows = read_metrics(run_dir / "metrics.jsonl")
    seeds_dir = run_dir / "seeds"
    if seeds_dir.is_dir():
        for sub in sorted(seeds_dir.iterdir()):
            rows += read_metrics(sub / "metrics.jsonl")
    return rows


def summarize(rows: list[dict], split: str) -> tuple[int | None, dict[str, list[float]]]:
    """The last step of `split` and, per metric, its values over seeds at that step."""
    rows = [r for r in rows if r["split"] == split]
    if not rows:
        return None, {}
    last = max(r["step"] for r in rows)
    per_metric: dict[str, list[float]] = defaultdict(list)
    for r in rows:
        if r["step"] == last:
            for k, v in r.items():
                if k not in ("step", "split", "seed"):
                    per_metric[k].append(float("nan") if v is None else v)
    return last, dict(per_metric)


def curves(rows: list[dict], split: str) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """metric -> (steps, mean over seeds, 95% half-width over seeds)."""
    by = defaultdict(lambda: defaultdict(list))
    for r in rows:
        if r["split"] != split:
            continue
        for k, v in r.items():
            if k not in ("step", "split", "seed") and v is not None:
                by[k][r["step"]].append(v)
    out = {}
    for k, steps in by.items():
        xs = np.array(sorted(steps))
        stats = [mean_ci95(steps[s]) for s in xs]
        out[k] = (xs, np.array([m for m, _ in stats]), np.array([h for _, h in stats]))
    return out


def metric_table(values: dict[str, list[float]]) -> str:
    lines = ["| metric | mean ± 95% CI | seeds |", "|---|---|---|"]
    for k, v in sorted(values.items()):
        m, h = mean_ci95(v)
        lines.append(f"| {k} | {format_ci(m, h, 4)} | {len(v)} |")
    return "\n".join(lines)


def plot_curves(rows: list[dict], plots_dir: Path) -> list[Path]:
    """One PNG per split with a panel per metric (mean over seeds, shaded 95% interval)."""
    plt = _pyplot()
    written = []
    for split in ("train", "eval"):
        c = curves(rows, split)
        if not c or all(len(xs) < 2 for xs, _, _ in c.values()):
            continue
        names = sorted(c)
        cols = min(3, len(names))
        nrows = math.ceil(len(names) / cols)
        fig, axes = plt.subplots(nrows, cols, figsize=(4.2 * cols, 3.0 * nrows), squeeze=False)
        for ax, name in zip(axes.ravel(), names, strict=False):
            xs, mean, half = c[name]
            ax.plot(xs, mean, lw=1.5)
            if np.isfinite(half).any():
                ax.fill_between(xs, mean - half, mean + half, alpha=0.25)
            ax.set_title(name, fontsize=9)
            ax.set_xlabel("step", fontsize=8)
            ax.tick_params(labelsize=7)
        for ax in axes.ravel()[len(names) :]:
            ax.axis("off")
        fig.tight_layout()
        plots_dir.mkdir(parents=True, exist_ok=True)
        path = plots_dir / f"{split}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(path)
    return written


def write_run_report(run_dir: str | Path, wall_time: float | None = None) -> Path:
    """`report.md` and `plots/*.png` for a run directory; returns the report's path."""
    run_dir = Path(run_dir)
    rows = _run_rows(run_dir)
    if not rows:
        raise FileNotFoundError(
            f"{run_dir} has no metrics.jsonl: is it a run directory written by `frontier run`?"
        )
    parts = [f"# Report: {run_dir}", ""]
    config = run_dir / "config.json"
    if config.exists():
        import json

        parts += [f"Experiment: `{json.loads(config.read_text()).get('experiment', '?')}`", ""]
    if wall_time is not None:
        parts += [f"Wall time of the last session: {wall_time:.1f} s", ""]
    for split in ("eval", "train"):
        step, values = summarize(rows, split)
        if step is not None:
            parts += [f"## {split} metrics at step {step}", "", metric_table(values), ""]
    plots = plot_curves(rows, run_dir / "plots")
    for p in plots:
        parts += [f"![{p.stem}](plots/{p.name})", ""]
    existing = sorted((run_dir / "plots").glob("*.png")) if (run_dir / "plots").is_dir() else []
    extra = [p for p in existing if p not in plots]
    for p in extra:
        parts += [f"![{p.stem}](plots/{p.name})", ""]
    path = run_dir / "report.md"
    write_atomic(path, "\n".join(parts))
    return path


@dataclasses.dataclass
class Row:
    """One line of a comparison table: our values (per seed or task) beside a reference."""

    method: str
    setting: str
    values: Sequence[float]
    reference: float | None = None
    ci: str = "t"  # "t" over a few seeds, "normal" (1.96 sem) over many tasks
    note: str = ""
    # An interval computed elsewhere (e.g. a bootstrap), used instead of one from `values`.
    interval: tuple[float, float] | None = None

    def stats(self) -> tuple[float, float]:
        return mean_ci95(self.values, self.ci)


@dataclasses.dataclass
class Table:
    """A reproduction's table: ours (mean ± 95% CI) beside the paper's (or a peer's) number."""

    title: str
    rows: list[Row]
    reference_name: str = "paper"
    metric: str = "value"
    # True/False: the verdict says better/worse; None: no direction is better ("differs").
    lower_is_better: bool | None = False
    notes: list[str] = dataclasses.field(default_factory=list)
    digits: int = 3

    def verdict(self, row: Row) -> str:
        if row.reference is None:
            return "no reference"
        m, h = row.stats()
        if math.isnan(m):
            return "not measured"
        if row.interval is not None and row.interval[0] <= row.reference <= row.interval[1]:
            return "matches (within CI)"
        if abs(m - row.reference) <= (h if math.isfinite(h) else 0.0) + 1e-6:
            return "matches (within CI)"
        if self.lower_is_better is None:
            return "differs"
        better = (m < row.reference) == self.lower_is_better
        return "better" if better else "worse"

    def to_markdown(self) -> str:
        d = self.digits
        head = (
            f"| method | setting | {self.reference_name} | ours (95% CI) | gap (ours - "
            f"{self.reference_name}) | verdict | n |"
        )
        lines = [f"## {self.title}", "", f"Metric: {self.metric}", "", head, "|---" * 7 + "|"]
        for r in self.rows:
            m, h = r.stats()
            ref = "—" if r.reference is None else f"{r.reference:.{d}f}"
            gap = "—" if r.reference is None else f"{m - r.reference:+.{d}f}"
            verdict = self.verdict(r) + (f"; {r.note}" if r.note else "")
            lines.append(
                f"| {r.method} | {r.setting} | {ref} | {format_ci(m, h, d)} | {gap} | "
                f"{verdict} | {len(r.values)} |"
            )
        if self.notes:
            lines += [""] + [f"- {n}" for n in self.notes]
        return "\n".join(lines) + "\n"

    def write(self, path: str | Path) -> Path:
        path = Path(path)
        write_atomic(path, self.to_markdown())
        return path
