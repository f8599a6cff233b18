"""`frontier reproduce rl/cartpole` and `rl/acrobot`: learning curves over vmapped seeds.

Each method is one config in configs/rl/ run through `frontier.loop` with all its seeds
vmapped in one compiled program. From the run's `metrics.jsonl` we read the training return
(`episode_return`: mean return of the episodes that ended in the last rollout, averaged over
the log window) against environment steps, and report per method:
- the final evaluation return (stochastic policy for PPO/REINFORCE, epsilon 0.01 for DQN, on
  `env.eval_envs` fresh episodes) with its 95% t interval over seeds;
- the environment steps at which the mean training curve over seeds first reaches the
  threshold (CartPole-v1: 475, Acrobot-v1: -100, the `reward_threshold`s gymnasium registers);
- how many seeds ever reach it, and the median of their first steps there.
The plot shows mean return vs environment steps with 95% bands.
"""

from __future__ import annotations

import dataclasses
import math
from collections import defaultdict
from pathlib import Path

import jax
import numpy as np

import frontier
from frontier.config import configs_root, write_atomic
from frontier.loop import run_config
from frontier.metrics import format_ci, mean_ci95, read_metrics
from research.rl import policies

CARTPOLE = {
    # method: (config file, reference figure and its source, or "")
    "PPO, 64x64 tanh actor": (
        "cartpole_ppo.py",
        "PureJaxRL (Lu et al. 2022), same settings: return near 500 within its 5e5-step "
        "budget, roughly 1e5-5e5 steps (read off its learning curve; approximate)",
    ),
    "DQN, 120-84 ReLU Q-network": ("cartpole_dqn.py", ""),
    "REINFORCE + value baseline": ("cartpole_reinforce.py", ""),
    "PPO, quantum policy (4 qubits, 5 layers)": (
        "cartpole_quantum.py",
        "Jerbi et al. 2021 / Skolik et al. 2022 report learning curves in episodes "
        "(REINFORCE / Q-learning), not in PPO env steps; no number is quoted here",
    ),
    "PPO, classical actor of similar size (4-10-2)": ("cartpole_small_mlp.py", ""),
}

ACROBOT = {
    "PPO, 64x64 tanh actor": ("acrobot_ppo.py", ""),
    "DQN, 120-84 ReLU Q-network": ("acrobot_dqn.py", ""),
}


@dataclasses.dataclass
class MethodResult:
    method: str
    config: str
    seeds: int
    env_steps: np.ndarray  # [points] env steps at each logged training point
    returns: np.ndarray  # [seeds, points] training return
    final_eval: np.ndarray  # [seeds]
    actor_params: int
    reference: str = ""


def _actor_params(state) -> int:
    params = state.params["actor"] if "actor" in getattr(state, "params", {}) else state.params
    return int(sum(np.asarray(x)[0].size for x in jax.tree.leaves(params)))


def training_curve(run_dir: Path, seeds: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """(env_steps [points], episode_return [seeds, points], nan before any episode ended)."""
    by_step: dict[int, dict[int, dict]] = defaultdict(dict)
    for r in read_metrics(run_dir):
        if r["split"] == "train" and r.get("episode_return") is not None:
            by_step[r["step"]][r["seed"]] = r
    steps = sorted(s for s, rows in by_step.items() if all(x in rows for x in seeds))
    env_steps = np.array([by_step[s][seeds[0]]["env_steps"] for s in steps], dtype=np.float64)

    # Before the first episode ends the logged return is a placeholder 0: a log window is
    # shown only if an episode had ended at each of its steps (`return_defined` averages 1).
    def value(row):
        return row["episode_return"] if row.get("return_defined", 1.0) >= 1.0 else np.nan

    returns = np.array([[value(by_step[s][x]) for s in steps] for x in seeds])
    return env_steps, returns


def first_crossing(env_steps: np.ndarray, curve: np.ndarray, threshold: float) -> float:
    """The first env-step count at which `curve` reaches `threshold` (nan if never)."""
    hit = np.flatnonzero(curve >= threshold)
    return float(env_steps[hit[0]]) if hit.size else math.nan


@dataclasses.dataclass
class CurveTable:
    """Steps to a return threshold and final returns, one row per method."""

    title: str
    threshold: float
    results: list[MethodResult]
    notes: list[str]

    def to_markdown(self) -> str:
        t = self.threshold
        lines = [
            f"## {self.title}",
            "",
            "| method | actor params | env steps | final eval return (95% CI) | final train "
            f"return | steps to mean train return {t:g} | seeds reaching {t:g} (median steps) "
            "| reference |",
            "|---" * 8 + "|",
        ]
        for r in self.results:
            m, h = mean_ci95(r.final_eval)
            last = max(1, r.returns.shape[1] // 10)  # the last 10% of the logged points
            window = r.returns[:, -last:]
            ok = np.isfinite(window)
            per_seed_final = np.where(ok, window, 0).sum(1) / np.maximum(ok.sum(1), 1)
            train_final = format_ci(*mean_ci95(per_seed_final), 1) if ok.all() else "—"
            mean_cross = first_crossing(r.env_steps, r.returns.mean(0), t)
            per_seed = [first_crossing(r.env_steps, c, t) for c in r.returns]
            reached = [s for s in per_seed if not math.isnan(s)]
            seed_text = f"{len(reached)}/{r.seeds}" + (
                f" ({np.median(reached):,.0f})" if reached else ""
            )
            cross = "not reached" if math.isnan(mean_cross) else f"{mean_cross:,.0f}"
            lines.append(
                f"| {r.method} | {r.actor_params} | {r.env_steps[-1]:,.0f} | "
                f"{format_ci(m, h, 1)} | {train_final} | {cross} | {seed_text} | "
                f"{r.reference or '—'} |"
            )
        lines += [""] + [f"- {n}" for n in self.notes]
        return "\n".join(lines) + "\n"


def plot_curves(results: list[MethodResult], threshold: float, title: str, path: Path) -> Path:
    """Mean training return vs env steps with 95% t bands over seeds, one line per method."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    for r in results:
        stats = [mean_ci95(r.returns[:, i]) for i in range(r.returns.shape[1])]
        mean = np.array([m for m, _ in stats])
        half = np.nan_to_num(np.array([h for _, h in stats]))
        ax.plot(r.env_steps, mean, lw=1.4, label=f"{r.method} ({r.seeds} seeds)")
        ax.fill_between(r.env_steps, mean - half, mean + half, alpha=0.2)
    ax.axhline(threshold, color="k", ls="--", lw=0.8, label=f"threshold {threshold:g}")
    ax.set_xlabel("environment steps")
    ax.set_ylabel("training episode return")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def run_methods(
    methods: dict[str, tuple[str, str]],
    workdir: Path,
    *,
    smoke: bool,
    seeds: int,
    overrides: dict[str, list[str]] | None = None,
) -> list[MethodResult]:
    """Run every method's config with `seeds` vmapped seeds; curves and final returns."""
    out = []
    for method, (config, reference) in methods.items():
        spec = str(configs_root() / "rl" / config) + (":smoke" if smoke else "")
        extra = (overrides or {}).get(config, [])
        result = run_config(spec, workdir / Path(config).stem, extra, seeds=seeds, progress=False)
        env_steps, returns = training_curve(result.run_dir, result.seeds)
        out.append(
            MethodResult(
                method,
                config,
                len(result.seeds),
                env_steps,
                returns,
                np.asarray(result.final["return"], dtype=np.float64),
                _actor_params(result.state),
                reference,
            )
        )
    return out


def _reproduce(
    name, methods, threshold, title, workdir, smoke, seeds, notes, overrides=None
) -> CurveTable:
    seeds = seeds or (2 if smoke else 8)
    results = run_methods(methods, workdir, smoke=smoke, seeds=seeds, overrides=overrides)
    plot = plot_curves(results, threshold, title, workdir / "plots" / f"{name}_return.png")
    notes = notes + [f"Plot: plots/{plot.name} (mean training return, 95% t bands over seeds)."]
    if smoke:
        notes.append("SMOKE RUN: a few updates; numbers are not meaningful.")
    table = CurveTable(title, threshold, results, notes)
    for r in results:  # the raw curves, for plots made elsewhere
        rows = [f"{s:.0f}," + ",".join(f"{v:.2f}" for v in r.returns[:, i]) for i, s in
                enumerate(r.env_steps)]  # fmt: skip
        write_atomic(workdir / f"{Path(r.config).stem}_curve.csv", "\n".join(rows) + "\n")
    return table


@frontier.reproduction("rl/cartpole", "CartPole-v1: PPO, DQN, REINFORCE, quantum vs small policy")
def reproduce_cartpole(
    workdir: Path,
    *,
    smoke: bool = False,
    seeds: int | None = None,
    overrides: dict[str, list[str]] | None = None,
) -> CurveTable:
    quantum = policies.count_params(policies.quantum_policy(4, 5, 2, 4)[0](jax.random.key(0), 4))
    return _reproduce(
        "cartpole",
        CARTPOLE,
        475.0,
        "gymnax CartPole-v1: training return vs environment steps",
        workdir,
        smoke,
        seeds,
        [
            "Threshold 475: CartPole-v1's reward_threshold in gymnasium's registry "
            "(episodes are cut at 500 steps).",
            "Training return: the mean return of the episodes that ended in each rollout, "
            "averaged over the log window, as PureJaxRL logs it; short episodes end more often, "
            "so it reads lower than the evaluation return of the same policy.",
            f"The quantum actor has {quantum} parameters (angles, input and output scalings); "
            "the small classical actor 72. Both use the same 64x64 critic and PPO settings.",
        ],
        overrides,
    )


@frontier.reproduction("rl/acrobot", "Acrobot-v1: PPO and DQN learning curves")
def reproduce_acrobot(
    workdir: Path,
    *,
    smoke: bool = False,
    seeds: int | None = None,
    overrides: dict[str, list[str]] | None = None,
) -> CurveTable:
    return _reproduce(
        "acrobot",
        ACROBOT,
        -100.0,
        "gymnax Acrobot-v1: training return vs environment steps",
        workdir,
        smoke,
        seeds,
        [
            "Threshold -100: Acrobot-v1's reward_threshold in gymnasium's registry; a policy "
            "that never swings up scores -500 (episodes are cut at 500 steps).",
        ],
        overrides,
    )
