"""Metric writers (JSON lines and TensorBoard) and intervals over seeds or tasks.

`metrics.jsonl` holds one row per (step, split, seed):
    {"step": 200, "split": "train", "seed": 0, "loss": 0.31, "l2_grads": 1.2}
so that a run with several seeds can be summarised by grouping rows.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
from scipy import stats


class MetricWriter:
    """Appends rows to `metrics.jsonl` and scalars to TensorBoard event files in `events/`."""

    def __init__(self, run_dir: str | os.PathLike, enabled: bool = True):
        self.run_dir = Path(run_dir)
        self.enabled = enabled
        self._tb = None
        if enabled:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            self._jsonl = open(self.run_dir / "metrics.jsonl", "a")  # noqa: SIM115

    def _tensorboard(self):
        if self._tb is None:
            from tensorboardX import SummaryWriter

            self._tb = SummaryWriter(str(self.run_dir / "events"), flush_secs=30)
        return self._tb

    def write(self, step: int, split: str, per_seed: Mapping[str, Iterable[float]], seeds) -> None:
        """`per_seed[name]` holds one value per seed, in the order of `seeds`."""
        if not self.enabled:
            return
        names = list(per_seed)
        for i, seed in enumerate(seeds):
            row = {"step": int(step), "split": split, "seed": int(seed)}
            row.update({n: _json_float(per_seed[n][i]) for n in names})
            self._jsonl.write(json.dumps(row) + "\n")
        self._jsonl.flush()
        tb = self._tensorboard()
        for n in names:
            values = np.asarray(per_seed[n], dtype=np.float64)
            tb.add_scalar(f"{split}/{n}", float(np.mean(values)), int(step))

    def truncate_after(self, step: int) -> None:
        """Drop rows past `step` (written after the checkpoint a resumed run restarts from)."""
        path = self.run_dir / "metrics.jsonl"
        if not self.enabled or not path.exists():
            return
        self._jsonl.close()
        rows = [r for r in read_metrics(path) if r["step"] <= step]
        tmp = path.with_suffix(".jsonl.tmp")
        tmp.write_text("".join(json.dumps(r) + "\n" for r in rows))
        os.replace(tmp, path)
        self._jsonl = open(path, "a")  # noqa: SIM115

    def close(self) -> None:
        if not self.enabled:
            return
        self._jsonl.close()
        if self._tb is not None:
            self._tb.close()


def _json_float(x) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None  # JSON has no NaN/Inf; the loop stops on them


def read_metrics(path: str | os.PathLike) -> list[dict]:
    """Rows of a `metrics.jsonl` (a missing file or a torn last line is tolerated)."""
    path = Path(path)
    if path.is_dir():
        path = path / "metrics.jsonl"
    rows = []
    if not path.exists():
        return rows
    for line in path.read_text().splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            continue  # the last line of a killed run may be torn
    return rows


def mean_ci95(values, method: str = "t") -> tuple[float, float]:
    """Mean and the half-width of its 95% interval.

    `method="t"`: Student t with n-1 degrees of freedom (right for a handful of seeds);
    `method="normal"`: 1.96 * std / sqrt(n), the convention of the MAML paper (600 tasks).
    The standard deviation is the sample one (ddof=1); a single value has no interval (nan).
    """
    v = np.asarray(values, dtype=np.float64).ravel()
    if v.size == 0:
        raise ValueError("mean_ci95 of an empty set of values")
    mean = float(np.mean(v))
    if v.size == 1:
        return mean, float("nan")
    sem = float(np.std(v, ddof=1) / np.sqrt(v.size))
    if method == "normal":
        return mean, 1.96 * sem
    if method == "t":
        return mean, float(stats.t.ppf(0.975, v.size - 1) * sem)
    raise ValueError(f"method must be 't' or 'normal', got {method!r}")


def format_ci(mean: float, half: float, digits: int = 3) -> str:
    if math.isnan(half):
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ± {half:.{digits}f}"
