"""The training/search loop shared by every module.

`train(config, workdir)` runs the registered experiment `config.experiment`:
- seeds `config.seed, ..., config.seed + config.seeds - 1` run vmapped in one compiled
  program (or one after another in `workdir/seeds/<seed>/` if the experiment says
  `vmap_seeds = False`);
- the step is jitted once, with the state's buffers donated; keys are
  `fold_in(fold_in(key(seed), purpose), step)`, so a resumed run draws the same keys;
- each batch is split over a data-parallel mesh of all devices;
- metrics go to `metrics.jsonl`, TensorBoard `events/` and a progress bar; a NaN or Inf in
  any metric stops the run naming the step and metric, and the last checkpoint (always taken
  after its metrics were checked) stays the last good one;
- checkpoints every `train.checkpoint_every` steps and at the end; SIGTERM saves and exits;
- re-running on the same workdir resumes from the newest checkpoint that restores (a damaged
  one is moved aside with a warning), refusing if the config changed (naming the keys) unless
  `allow_config_change=True`;
- the workdir is locked (`workdir/LOCK`) while the run goes on: a second run on it refuses.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import json
import signal
import threading
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from frontier import registry, sharding
from frontier.checkpoint import Checkpointer, abstract_like
from frontier.config import ConfigError, config_diff, to_json, write_atomic
from frontier.experiment import HEALTH_METRICS
from frontier.metrics import MetricWriter
from frontier.workdir import ensure_dir, lock

TRAIN_KEY, EVAL_KEY, INIT_KEY = 1, 2, 3

# Number of times each jitted function has been traced, by name; tests use it to check that
# nothing recompiles inside the loop.
trace_counts: dict[str, int] = {}


class NonFiniteError(FloatingPointError):
    """A metric became NaN or Inf; the message names the step, the metric and the seed."""


class Preempted(SystemExit):
    """SIGTERM arrived; the state was checkpointed before exiting (exit code 143)."""


@dataclasses.dataclass
class RunResult:
    run_dir: Path
    seeds: list[int]
    state: object  # stacked over seeds on the leading axis
    final: dict[str, np.ndarray]  # evaluation metric -> [num_seeds]
    steps: int


def _count_trace(name: str) -> None:
    trace_counts[name] = trace_counts.get(name, 0) + 1


def _keys(seeds: list[int], purpose: int) -> jax.Array:
    base = jax.vmap(jax.random.key)(jnp.asarray(seeds, dtype=jnp.uint32))
    return jax.vmap(lambda k: jax.random.fold_in(k, purpose))(base)


def check_steps_per_call(tc) -> None:
    """`train.steps_per_call` must divide the step count and every period."""
    n = int(tc.get("steps_per_call", 1))
    if n < 1:
        raise ConfigError(f"train.steps_per_call must be >= 1, got {n}")
    for name in ("steps", "log_every", "eval_every", "checkpoint_every"):
        if int(tc[name]) % n:
            raise ConfigError(
                f"train.{name}={tc[name]} is not a multiple of train.steps_per_call={n}; "
                "make it one, or lower steps_per_call"
            )


def _over_seeds(fn, num_seeds: int, in_axes=0, state_in: int | None = None, out: str = "all"):
    """`jax.vmap(fn)` over the leading seed axis; with one seed, no seed axis at all.

    A vmap of size one turns every matmul into a batched one, which XLA:CPU runs several times
    slower; and a state carried with a size-one axis is copied at every step (the squeeze and
    the re-stack defeat buffer donation). So a one-seed run keeps its state unstacked: argument
    `state_in` is passed as it is, the other arguments lose their seed axis, and the outputs
    named by `out` ("all", "metrics": the second of (state, metrics), or "none") get one.
    """
    if num_seeds > 1:
        return jax.vmap(fn, in_axes=in_axes)
    axes = in_axes if isinstance(in_axes, tuple) else None

    def add_axis(tree):
        return jax.tree.map(lambda x: x[None], tree)

    def single(*args):
        squeezed = [
            a
            if i == state_in or (axes is not None and axes[i] is None)
            else jax.tree.map(lambda x: x[0], a)
            for i, a in enumerate(args)
        ]
        result = fn(*squeezed)
        if out == "metrics":
            return result[0], add_axis(result[1])
        return add_axis(result) if out == "all" else result

    return single


def _stack(trees):
    return jax.tree.map(lambda *xs: np.stack([np.asarray(x) for x in xs]), *trees)


def _check_finite(step: int, split: str, values: dict[str, np.ndarray], seeds: list[int]):
    for name, v in values.items():
        v = np.asarray(v, dtype=np.float64)
        bad = ~np.isfinite(v)
        if bad.any():
            s = seeds[int(np.flatnonzero(bad.reshape(-1))[0]) % len(seeds)]
            raise NonFiniteError(
                f"{split} metric {name!r} is {v.reshape(-1)[bad.reshape(-1)][0]} at step {step} "
                f"(seed {s}); the run stopped and the last good checkpoint was kept. Lower the "
                "learning rate or check the data."
            )


class _Progress:
    """A rich progress bar with ETA and the key metrics (quiet when disabled)."""

    def __init__(self, enabled: bool, total: int, start: int, title: str):
        self.enabled = enabled and total > 0
        if not self.enabled:
            return
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self._p = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[metrics]}"),
        )
        self._p.start()
        self._task = self._p.add_task(title, total=total, completed=start, metrics="")

    def update(self, step: int, metrics: dict[str, float] | None = None):
        if not self.enabled:
            return
        fields = {}
        if metrics is not None:
            fields["metrics"] = " ".join(f"{k}={v:.4g}" for k, v in metrics.items())
        self._p.update(self._task, completed=step, **fields)

    def close(self):
        if self.enabled:
            self._p.stop()


def _sub_config(config, **changes) -> ml_collections.ConfigDict:
    cfg = ml_collections.ConfigDict(config.to_dict())
    for k, v in changes.items():
        cfg[k] = v
    cfg.lock()
    return cfg


def train(
    config,
    workdir: str | Path,
    *,
    allow_config_change: bool = False,
    progress: bool = True,
    experiment=None,
) -> RunResult:
    """Run (or resume) `config` in `workdir`; returns the final evaluation per seed."""
    sharding.initialize_distributed()
    exp_cls = registry.get_experiment(config.experiment).obj
    workdir = ensure_dir(workdir)
    with lock(workdir):  # a second run on this workdir refuses while this one holds it
        exp = experiment if experiment is not None else exp_cls(config)
        seeds = [int(config.seed) + i for i in range(int(config.seeds))]
        if len(seeds) > 1 and not exp.vmap_seeds:
            return _train_sequential_seeds(config, workdir, seeds, allow_config_change, progress)
        return _train(config, exp, workdir, seeds, allow_config_change, progress)


def _train_sequential_seeds(config, workdir, seeds, allow_config_change, progress) -> RunResult:
    results = []
    for s in seeds:
        cfg = _sub_config(config, seed=s, seeds=1)
        results.append(
            train(
                cfg,
                workdir / "seeds" / str(s),
                allow_config_change=allow_config_change,
                progress=progress,
            )
        )
    if sharding.is_main_process():
        write_atomic(workdir / "config.json", to_json(config))
    final = {k: np.concatenate([r.final[k] for r in results]) for k in results[0].final}
    state = _stack([jax.tree.map(lambda x: np.asarray(x)[0], r.state) for r in results])
    from frontier import report

    if sharding.is_main_process():
        report.write_run_report(workdir)
    return RunResult(workdir, seeds, state, final, results[0].steps)


def _prepare_run_dir(config, run_dir: Path, ckpt: Checkpointer, allow_config_change: bool):
    config_path = run_dir / "config.json"
    if ckpt.latest_step() is not None and config_path.exists():
        old = json.loads(config_path.read_text())
        diff = config_diff(old, config.to_dict())
        if diff and not allow_config_change:
            details = ", ".join(
                f"{k} (was {_lookup(old, k)!r}, now {_lookup(config.to_dict(), k)!r})" for k in diff
            )
            raise ConfigError(
                f"{run_dir} holds a run with a different config: {details}. Use another "
                "--workdir, or pass --allow-config-change to resume with the new values."
            )
    if sharding.is_main_process():
        write_atomic(config_path, to_json(config))


def _lookup(d: dict, dotted: str):
    for part in dotted.split("."):
        if not isinstance(d, dict) or part not in d:
            return "<absent>"
        d = d[part]
    return d


def _train(config, exp, workdir: Path, seeds: list[int], allow_config_change, progress):
    main = sharding.is_main_process()
    run_dir = workdir
    run_dir.mkdir(parents=True, exist_ok=True)
    tc = config.train
    total = int(tc.steps)
    ckpt = Checkpointer(run_dir / "checkpoints", keep=int(tc.keep_checkpoints))
    _prepare_run_dir(config, run_dir, ckpt, allow_config_change)

    mesh = sharding.make_mesh()
    rep = sharding.replicated(mesh)
    # Made by a compiled program with a replicated output, so that on several processes every
    # one holds the same global array (a host value cannot be `device_put` on other hosts).
    make_keys = jax.jit(
        lambda: tuple(_keys(seeds, p) for p in (TRAIN_KEY, EVAL_KEY, INIT_KEY)), out_shardings=rep
    )
    train_keys, eval_keys, init_keys = make_keys()

    def init_fn(keys):
        _count_trace("init")
        return _over_seeds(exp.init, len(seeds), out="none")(keys)

    init = jax.jit(init_fn, out_shardings=rep)
    abstract_state = abstract_like(jax.eval_shape(init_fn, init_keys), rep)

    start, state = ckpt.restore_newest_good(abstract_state)
    resumed = start is not None
    if start is None:
        state = init(init_keys)
        start = 0
    writer = MetricWriter(run_dir, enabled=main)
    writer.truncate_after(start)

    probe = exp.batch(0, seeds[0])
    batch_in_axes = None if probe is None else 0

    n = int(tc.get("steps_per_call", 1))
    check_steps_per_call(tc)

    health = bool(tc.get("health_metrics", True))

    def step_fn(state, batch, step, keys):
        step_keys = jax.vmap(lambda k: jax.random.fold_in(k, step))(keys)
        step = _over_seeds(exp.step, len(seeds), (0, batch_in_axes, 0), state_in=0, out="metrics")
        state, metrics = step(state, batch, step_keys)
        if not health:  # unused outputs: XLA drops their computation
            metrics = {k: v for k, v in metrics.items() if k not in HEALTH_METRICS}
        return state, metrics

    def chunk_fn(state, batches, t0, keys):
        """`n` steps in one compiled call (lax.scan); metrics get a leading [n] axis."""
        _count_trace("step")
        if n == 1:
            state, metrics = step_fn(state, batches, t0, keys)
            return state, jax.tree.map(lambda m: m[None], metrics)

        def body(state, xs):
            i, batch = xs
            return step_fn(state, batch, t0 + i, keys)

        return jax.lax.scan(body, state, (jnp.arange(n, dtype=jnp.int32), batches))

    def eval_fn(state, step, keys):
        _count_trace("evaluate")
        step_keys = jax.vmap(lambda k: jax.random.fold_in(k, step))(keys)
        return _over_seeds(exp.evaluate, len(seeds), state_in=0)(state, step_keys)

    train_chunk = jax.jit(chunk_fn, donate_argnums=0, out_shardings=(rep, rep))
    evaluate = jax.jit(eval_fn, out_shardings=rep)
    # Batch leaves are [seeds, (steps of a chunk,) examples...]: split the examples axis.
    axis = exp.batch_axis + (1 if n == 1 else 2)

    def host_batch(t: int):
        if probe is None:
            return None
        per_step = [_stack([exp.batch(t + i, s) for s in seeds]) for i in range(n)]
        stacked = per_step[0] if n == 1 else _stack(per_step)
        local = sharding.process_local_batch(stacked, axis)
        return sharding.shard_batch(local, mesh, axis)

    pending: list[tuple[int, dict]] = []
    final: dict[str, np.ndarray] = {}

    def flush(upto: int):
        if not pending:
            return
        # One concatenation per metric on the device, then one transfer: fetching every
        # step's scalars separately costs a sync each and dominated small steps.
        names = list(pending[-1][1])
        host = jax.device_get({k: jnp.concatenate([m[k] for _, m in pending]) for k in names})
        steps = [t0 + i for t0, _ in pending for i in range(n)]  # rows of host[k]: [steps, S]
        if not all(np.isfinite(v).all() for v in host.values()):
            for row, t in enumerate(steps):
                _check_finite(t, "train", {k: v[row] for k, v in host.items()}, seeds)
        window = {k: np.mean(v, 0) for k, v in host.items()}
        writer.write(upto, "train", window, seeds)
        pending.clear()
        bar.update(upto, {k: float(np.mean(window[k])) for k in exp.key_metrics if k in window})

    def run_eval(t: int):
        m = jax.device_get(evaluate(state, jnp.int32(t), eval_keys))
        _check_finite(t, "eval", m, seeds)
        writer.write(t, "eval", m, seeds)
        return {k: np.asarray(v) for k, v in m.items()}

    stop = threading.Event()
    previous_handler = None
    if threading.current_thread() is threading.main_thread():
        previous_handler = signal.signal(signal.SIGTERM, lambda *_: stop.set())

    bar = _Progress(progress and main, total, start, config.experiment)
    feeder = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="frontier-batches")
    started = time.perf_counter()
    try:
        upcoming = feeder.submit(host_batch, start) if start < total else None
        for t in range(start, total, n):
            batch = upcoming.result()
            done = t + n
            # A worker thread builds and places the next batch while this step runs (the call
            # below holds no lock while XLA computes); `batch(step, seed)` is a pure function
            # of its arguments, so the order of the data is the same as without the thread.
            upcoming = feeder.submit(host_batch, done) if done < total else None
            state, metrics = train_chunk(state, batch, np.int32(t), train_keys)
            pending.append((t, metrics))
            if done % tc.log_every == 0 or done == total:
                flush(done)
            if done % tc.eval_every == 0 or done == total:
                final = run_eval(done)
            saved = done % tc.checkpoint_every == 0 or done == total
            if saved:
                flush(done)  # never checkpoint a state whose metrics were not checked
                ckpt.save(done, state, force=True)
            if stop.is_set():
                flush(done)
                if not saved:  # a SIGTERM just after a periodic save: that one is this state
                    ckpt.save(done, state, force=True)
                ckpt.wait()
                raise Preempted(143)
        if resumed and start >= total:  # a finished run: its rows are already written
            final = _evaluate_quietly(evaluate, state, total, eval_keys)
        elif total == 0:  # nothing to train (e.g. nearest neighbours): evaluate and save
            final = run_eval(0)
            ckpt.save(0, state, force=True)
        ckpt.wait()
    except (NonFiniteError, Preempted):
        ckpt.wait()
        raise
    finally:
        feeder.shutdown(wait=True, cancel_futures=True)
        bar.close()
        writer.close()
        ckpt.close()
        if previous_handler is not None:
            signal.signal(signal.SIGTERM, previous_handler)
    elapsed = time.perf_counter() - started
    host_state = jax.device_get(state)
    if len(seeds) == 1:  # results are stacked over seeds, whatever the run's layout
        host_state = jax.tree.map(lambda x: np.asarray(x)[None], host_state)
    if main:
        exp.finalize(host_state, run_dir, seeds)
        from frontier import report

        report.write_run_report(run_dir, wall_time=elapsed if start < total else None)
    return RunResult(run_dir, seeds, host_state, final, total)


def _evaluate_quietly(evaluate, state, step, keys) -> dict[str, np.ndarray]:
    m = jax.device_get(evaluate(state, jnp.int32(step), keys))
    return {k: np.asarray(v) for k, v in m.items()}


def run_config(
    spec: str,
    workdir: str | Path,
    overrides: list[str] | tuple[str, ...] = (),
    *,
    seeds: int | None = None,
    **kwargs,
) -> RunResult:
    """Load a config file (`path.py[:variant]`), apply overrides and train it in `workdir`."""
    from frontier.config import load_config

    overrides = list(overrides) + ([f"seeds={seeds}"] if seeds is not None else [])
    return train(load_config(spec, overrides), workdir, **kwargs)
