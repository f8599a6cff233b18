"""Sinusoid regression (Finn et al. 2017) as a `frontier.Experiment`: MAML, first-order MAML,
Meta-SGD, Reptile and the "pretrained on all tasks" baseline, selected by `meta.algorithm`.

Tasks: y = A sin(x - phase), A ~ U[0.1, 5], phase ~ U[0, pi], x ~ U[-5, 5]. Each training step
draws a meta-batch of tasks on the host (a function of (seed, step), so resumed runs see the
same tasks); the loop splits the meta-batch over devices. Evaluation adapts to 600 held-out
tasks (the same tasks for every method and seed) with K = 5, 10, 20 support points and up to
10 SGD steps, and reports the query MSE on 100 points per task.
"""

from __future__ import annotations

import functools
import math
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

import frontier
from frontier.experiment import TrainState
from research.meta import algorithms as alg
from research.meta.models import SinusoidMLP
from research.meta.training import MetaExperiment

ALGORITHMS = ("maml", "fomaml", "metasgd", "reptile", "pretrained")
AMP, PHASE, X = (0.1, 5.0), (0.0, math.pi), (-5.0, 5.0)
EVAL_QUERY = 100


def sinusoid_tasks_np(rng: np.random.Generator, num_tasks: int, num_support: int, num_query: int):
    """Host version of `research.meta.tasks.sample_sinusoid_tasks` (same distribution).

    Returns `support_x/support_y [T, K, 1]`, `query_x/query_y [T, Q, 1]`, `amplitude [T]`
    and `phase [T]`, float32.
    """
    amp = rng.uniform(*AMP, size=(num_tasks, 1, 1))
    phase = rng.uniform(*PHASE, size=(num_tasks, 1, 1))
    sx = rng.uniform(*X, size=(num_tasks, num_support, 1))
    qx = rng.uniform(*X, size=(num_tasks, num_query, 1))
    f32 = np.float32
    return {
        "support_x": sx.astype(f32),
        "support_y": (amp * np.sin(sx - phase)).astype(f32),
        "query_x": qx.astype(f32),
        "query_y": (amp * np.sin(qx - phase)).astype(f32),
        "amplitude": amp[:, 0, 0].astype(f32),
        "phase": phase[:, 0, 0].astype(f32),
    }


@functools.cache
def eval_tasks(num_tasks: int, max_shots: int, seed: int) -> dict[str, np.ndarray]:
    """The fixed held-out tasks: `max_shots` support and 100 query points per task."""
    return sinusoid_tasks_np(np.random.default_rng([seed, 7919]), num_tasks, max_shots, EVAL_QUERY)


def with_shots(tasks: dict, k: int) -> dict:
    """The same tasks with only the first `k` support points."""
    return {**tasks, "support_x": tasks["support_x"][:, :k], "support_y": tasks["support_y"][:, :k]}


@frontier.experiment(
    "meta/sinusoid", "Sinusoid regression: MAML, FOMAML, Meta-SGD, Reptile, pretrained"
)
class Sinusoid(MetaExperiment):
    key_metrics = ("loss",)

    def __init__(self, config):
        super().__init__(config)
        m = config.meta
        if m.algorithm not in ALGORITHMS:
            raise ValueError(f"meta.algorithm must be one of {ALGORITHMS}, got {m.algorithm!r}")
        for name in ("meta_batch", "num_support", "num_query"):
            if m[name] < 1:
                raise ValueError(f"meta.{name} must be >= 1, got {m[name]}")
        if m.inner_steps < 1 and m.algorithm != "pretrained":
            raise ValueError(
                f"meta.inner_steps must be >= 1 for {m.algorithm}, got {m.inner_steps}"
            )
        e = config.eval
        if max(e.shots) < 1 or min(e.shots) < 1:
            raise ValueError(f"eval.shots must be positive, got {tuple(e.shots)}")
        self.net = SinusoidMLP(tuple(config.model.hidden))
        self.optimizer = frontier.make_optimizer(config.optim.name, config.optim.learning_rate)
        self.eval_steps = tuple(range(0, e.max_steps + 1))
        self._eval_tasks = eval_tasks(e.num_tasks, max(e.shots), e.task_seed)

    # -- model -------------------------------------------------------------------------------
    def apply(self, params, x):
        return self.net.apply({"params": params}, x)

    def init(self, key):
        params = self.net.init(key, jnp.zeros((1, 1)))["params"]
        if self.config.meta.algorithm == "metasgd":
            params = alg.metasgd_init(params, self.config.meta.inner_lr)
        return TrainState(params, self.optimizer.init(params))

    def base_params(self, params):
        return params["params"] if self.config.meta.algorithm == "metasgd" else params

    def inner_lrs(self, params):
        """Step sizes used to adapt at evaluation: learned (Meta-SGD) or `eval.inner_lr`."""
        if self.config.meta.algorithm == "metasgd":
            return {"per_param_lr": alg.metasgd_lr(params)}
        return {"inner_lr": self.config.eval.inner_lr}

    # -- training ----------------------------------------------------------------------------
    def batch(self, step, seed):
        m = self.config.meta
        rng = np.random.default_rng([seed, step])
        tasks = sinusoid_tasks_np(rng, m.meta_batch, m.num_support, m.num_query)
        return {k: tasks[k] for k in alg.TASK_KEYS}

    def meta_loss(self, params, tasks):
        m = self.config.meta
        common = dict(
            apply_fn=self.apply, loss_fn=alg.mse_loss, num_steps=m.inner_steps, remat=m.remat
        )
        if m.algorithm == "metasgd":
            return alg.metasgd_meta_batch_loss(params, tasks, first_order=m.first_order, **common)
        if m.algorithm == "pretrained":  # one model regressing every task, no adaptation
            x = jnp.concatenate([tasks["support_x"], tasks["query_x"]], 1)
            y = jnp.concatenate([tasks["support_y"], tasks["query_y"]], 1)
            loss = alg.mse_loss(self.apply(params, x), y)
            return loss, {"query_loss": loss}
        first_order = m.first_order or m.algorithm == "fomaml"
        return alg.maml_meta_batch_loss(
            params, tasks, inner_lr=m.inner_lr, first_order=first_order, **common
        )

    # -- evaluation --------------------------------------------------------------------------
    def per_task_mse(self, params, shots: int) -> jax.Array:
        """Query MSE `[tasks, max_steps + 1]` of each held-out task after 0..max_steps steps."""
        out = alg.adapt_and_evaluate(
            self.base_params(params),
            with_shots(self._eval_tasks, shots),
            self.eval_steps,
            apply_fn=self.apply,
            loss_fn=alg.mse_loss,
            **self.inner_lrs(params),
        )
        return out["query_loss"]

    @functools.partial(jax.jit, static_argnums=(0, 5))
    def fit_trajectory(self, params, support_x, support_y, xs, steps: int) -> jax.Array:
        """Predictions `[steps + 1, len(xs), 1]` on `xs` after 0..steps adaptation steps."""
        lrs = self.inner_lrs(params)

        def one(p, _):
            p, _ = alg.inner_adapt(
                p,
                support_x,
                support_y,
                apply_fn=self.apply,
                loss_fn=alg.mse_loss,
                num_steps=1,
                **lrs,
            )
            return p, self.apply(p, xs)

        base = self.base_params(params)
        _, traj = jax.lax.scan(one, base, None, length=steps)
        return jnp.concatenate([self.apply(base, xs)[None], traj])

    def evaluate(self, state, key):
        """Mean query MSE over the held-out tasks whose adaptation stayed finite, and the
        fraction that diverged (at alpha = 0.01 a few tasks can overshoot to Inf/NaN after
        several steps; averaging them in would hide every other number)."""
        metrics = {}
        for k in self.config.eval.shots:
            mse = self.per_task_mse(state.params, k)
            finite = jnp.isfinite(mse)
            for s in (0, 1, 5, 10):
                if s <= self.config.eval.max_steps:
                    ok = finite[:, s]
                    total = jnp.sum(jnp.where(ok, mse[:, s], 0.0))
                    metrics[f"mse_k{k}_step{s}"] = total / jnp.maximum(jnp.sum(ok), 1)
            metrics[f"diverged_k{k}"] = jnp.mean(~finite[:, -1])
        return metrics

    def finalize(self, state, run_dir: Path, seeds):
        params = jax.tree.map(lambda x: x[0], state.params)
        plot_fits({self.config.meta.algorithm: (self, params)}, Path(run_dir) / "plots" / "fit.png")


def plot_fits(models: dict, path: Path, task_index: int = 0, shots: int = 5, steps: int = 10):
    """Figure 2 of the MAML paper: a held-out task, its K points, pre- and post-update fits.

    `models` maps a label to `(experiment, params)`.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(models), figsize=(4.5 * len(models), 3.4), squeeze=False)
    xs = np.linspace(-5, 5, 200, dtype=np.float32)[:, None]
    for ax, (label, (exp, params)) in zip(axes[0], models.items(), strict=True):
        tasks = with_shots(exp._eval_tasks, shots)
        task = {k: v[task_index : task_index + 1] for k, v in tasks.items()}
        amp, phase = tasks["amplitude"][task_index], tasks["phase"][task_index]
        ax.plot(xs, amp * np.sin(xs - phase), "k-", lw=1.5, label="true")
        ax.plot(
            task["support_x"][0, :, 0],
            task["support_y"][0, :, 0],
            "k^",
            ms=7,
            label=f"{shots} points",
        )
        preds = exp.fit_trajectory(params, task["support_x"][0], task["support_y"][0], xs, steps)
        for n, style in ((0, ":"), (1, "--"), (steps, "-")):
            label_n = "pre-update" if n == 0 else f"after {n} step{'s' if n > 1 else ''}"
            ax.plot(xs, preds[n], style, label=label_n)
        ax.set_title(label)
        ax.set_ylim(-6, 6)
        ax.legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
