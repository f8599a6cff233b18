"""The loop: determinism, resume, kill-and-resume, NaN stop, SIGTERM, sharding, no recompiles."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from frontier import loop
from frontier.config import ConfigError, load_config
from frontier.metrics import read_metrics
from tests.conftest import ROOT, TOY_CONFIG, frontier_env, run_cli


def _train(tmp_path, name, overrides=(), **kw):
    return loop.train(
        load_config(TOY_CONFIG, list(overrides)), tmp_path / name, progress=False, **kw
    )


def test_run_directory_layout_and_values(tmp_path):
    result = _train(tmp_path, "a", ["seeds=2"])
    run = result.run_dir
    for name in ("config.json", "metrics.jsonl", "report.md"):
        assert (run / name).is_file(), name
    assert any((run / "events").iterdir())
    assert sorted(int(p.name) for p in (run / "checkpoints").iterdir()) == [40, 60]  # keep 2
    assert (run / "plots" / "train.png").stat().st_size > 1000
    assert json.loads((run / "config.json").read_text())["train"]["steps"] == 60
    rows = read_metrics(run)
    train_rows = [r for r in rows if r["split"] == "train"]
    assert [r["step"] for r in train_rows if r["seed"] == 0] == [10, 20, 30, 40, 50, 60]
    assert {"loss", "l2_grads", "l2_params", "l2_updates"} <= set(train_rows[0])
    # Two seeds start from different parameters and both learn.
    first = [r["loss"] for r in train_rows if r["step"] == 10]
    last = [r["loss"] for r in train_rows if r["step"] == 60]
    assert first[0] != first[1]
    assert max(last) < 0.5 * min(first)
    assert result.final["mse"].shape == (2,)
    assert "mean ± 95% CI" in (run / "report.md").read_text()


def test_deterministic(tmp_path):
    a = _train(tmp_path, "a")
    b = _train(tmp_path, "b")
    np.testing.assert_array_equal(a.state.params["w"], b.state.params["w"])
    assert read_metrics(a.run_dir) == read_metrics(b.run_dir)


def test_no_recompilation_inside_the_loop(tmp_path):
    loop.trace_counts.clear()
    _train(tmp_path, "a", ["train.steps=50"])
    assert loop.trace_counts == {"init": 1, "step": 1, "evaluate": 1}


def test_health_metrics_can_be_switched_off(tmp_path):
    on = _train(tmp_path, "on")
    off = _train(tmp_path, "off", ["train.health_metrics=False"])
    rows = [r for r in read_metrics(off.run_dir) if r["split"] == "train"]
    assert rows and not {"l2_grads", "l2_params", "l2_updates"} & set(rows[0])
    # the same training either way: only the logging differs
    np.testing.assert_array_equal(on.state.params["w"], off.state.params["w"])


def test_batch_errors_surface_from_the_batch_thread(tmp_path, monkeypatch):
    import threading

    from toymod import ToyRegression

    original = ToyRegression.batch

    def failing(self, step, seed):
        if step == 7:
            raise ValueError("no data for step 7")
        return original(self, step, seed)

    monkeypatch.setattr(ToyRegression, "batch", failing)
    with pytest.raises(ValueError, match="no data for step 7"):
        _train(tmp_path, "a")
    assert not [t for t in threading.enumerate() if t.name.startswith("frontier-batches")]


def test_resume_equals_uninterrupted(tmp_path):
    full = _train(tmp_path, "full")
    _train(tmp_path, "split", ["train.steps=40"])
    with pytest.raises(ConfigError, match=r"train.steps \(was 40, now 60\)"):
        _train(tmp_path, "split")
    resumed = _train(tmp_path, "split", allow_config_change=True)
    np.testing.assert_array_equal(full.state.params["w"], resumed.state.params["w"])
    # The shorter run also evaluated at its end (step 40); every other row is identical.
    extra = [r for r in read_metrics(resumed.run_dir) if r["split"] == "eval" and r["step"] == 40]
    assert len(extra) == 1
    assert read_metrics(full.run_dir) == [
        r for r in read_metrics(resumed.run_dir) if r not in extra
    ]


def test_finished_run_resumes_without_rerunning(tmp_path):
    a = _train(tmp_path, "a")
    n = len(read_metrics(a.run_dir))
    b = _train(tmp_path, "a")
    assert len(read_metrics(a.run_dir)) == n
    np.testing.assert_allclose(a.final["mse"], b.final["mse"])


def test_nan_stops_and_keeps_last_good_checkpoint(tmp_path):
    with pytest.raises(loop.NonFiniteError, match=r"train metric '\w+' is (nan|inf) at step \d+"):
        _train(tmp_path, "nan", ["optim.learning_rate=3.0", "train.steps=400"])
    ckpts = sorted(int(p.name) for p in (tmp_path / "nan" / "checkpoints").iterdir())
    rows = read_metrics(tmp_path / "nan")
    assert all(r["loss"] is not None for r in rows if r["split"] == "train")
    assert ckpts and max(ckpts) <= max(r["step"] for r in rows)


def test_sequential_seeds(tmp_path):
    cfg = load_config(TOY_CONFIG, ["experiment=toy/sequential", "seeds=2"])
    r = loop.train(cfg, tmp_path / "seq", progress=False)
    assert (tmp_path / "seq" / "seeds" / "0" / "metrics.jsonl").exists()
    assert (tmp_path / "seq" / "seeds" / "1" / "metrics.jsonl").exists()
    vm = _train(tmp_path, "vm", ["seeds=2"])
    np.testing.assert_allclose(r.final["mse"], vm.final["mse"], rtol=1e-3)


def _cli_args(workdir, *extra):
    return ["run", TOY_CONFIG, "--workdir", str(workdir), "--no-progress", *extra]


def _wait_for_checkpoint(workdir, step, proc, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        ck = workdir / "checkpoints"
        if ck.is_dir() and any(p.name.isdigit() and int(p.name) >= step for p in ck.iterdir()):
            return
        if proc.poll() is not None:
            raise AssertionError(f"run ended early: {proc.stderr.read()}")
        time.sleep(0.05)
    raise AssertionError("no checkpoint appeared")


SLOW = ["--set", "train.steps=200", "--set", "data.slow=0.01"]


def _start_slow_run(work):
    """A slow toy run in a background process, to be interrupted by the test."""
    return subprocess.Popen(
        [sys.executable, "-m", "frontier.cli", *_cli_args(work, *SLOW)],
        cwd=ROOT,
        env=frontier_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_sigkill_and_resume_matches_uninterrupted(tmp_path):
    run_cli(*_cli_args(tmp_path / "full", *SLOW))
    work = tmp_path / "killed"
    proc = _start_slow_run(work)
    _wait_for_checkpoint(work, 60, proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    steps = [r["step"] for r in read_metrics(work)]
    assert max(steps) < 200  # it really was killed mid-way
    run_cli(*_cli_args(work, *SLOW))
    np.testing.assert_array_equal(
        np.load(tmp_path / "full" / "params.npy"), np.load(work / "params.npy")
    )
    assert read_metrics(tmp_path / "full") == read_metrics(work)


def test_sigterm_saves_before_exit(tmp_path):
    work = tmp_path / "term"
    proc = _start_slow_run(work)
    _wait_for_checkpoint(work, 20, proc)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err
    assert "checkpoint saved" in err
    saved = max(int(p.name) for p in (work / "checkpoints").iterdir() if p.name.isdigit())
    assert saved % 20 != 0 or saved > 20  # a save at the signal, not only the periodic ones
    assert saved < 200


def test_sigterm_right_after_a_periodic_save_exits_cleanly(tmp_path):
    # With a checkpoint at every step the signal always lands on a step just saved: the
    # state is not saved a second time (orbax refuses an existing step).
    work = tmp_path / "term"
    proc = subprocess.Popen(
        [sys.executable, "-m", "frontier.cli", *_cli_args(work, *SLOW)]
        + ["--set", "train.checkpoint_every=1", "--set", "train.log_every=1"],
        cwd=ROOT,
        env=frontier_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _wait_for_checkpoint(work, 5, proc)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err
    assert "already exists" not in err and "checkpoint saved" in err


def test_one_and_eight_devices_match(tmp_path):
    outs = {}
    for n in (1, 8):
        env = frontier_env(XLA_FLAGS=f"--xla_force_host_platform_device_count={n}")
        run_cli(*_cli_args(tmp_path / f"d{n}", "--seeds", "2"), env=env)
        outs[n] = read_metrics(tmp_path / f"d{n}")
    probe = subprocess.run(
        [sys.executable, "-c", "import jax; print(jax.device_count())"],
        env=frontier_env(XLA_FLAGS="--xla_force_host_platform_device_count=8"),
        capture_output=True,
        text=True,
        check=True,
    )
    assert probe.stdout.strip() == "8"
    assert len(outs[1]) == len(outs[8])
    for a, b in zip(outs[1], outs[8], strict=True):
        assert (a["step"], a["split"], a["seed"]) == (b["step"], b["split"], b["seed"])
        for k in a:
            if isinstance(a[k], float):
                np.testing.assert_allclose(a[k], b[k], rtol=2e-5, atol=1e-7, err_msg=k)


def test_cli_errors_are_clear(tmp_path):
    proc = run_cli("run", TOY_CONFIG, "--set", "optim.learnin_rate=0.1", check=False)
    assert proc.returncode == 2
    assert "did you mean optim.learning_rate" in proc.stderr
    proc = run_cli("run", str(tmp_path / "missing.py"), check=False)
    assert proc.returncode == 2 and "does not exist" in proc.stderr
    proc = run_cli("reproduce", "no/such", check=False)
    assert proc.returncode == 2 and "no reproduction named 'no/such'" in proc.stderr


def test_report_command(tmp_path):
    _train(tmp_path, "a", ["seeds=3"])
    os.remove(tmp_path / "a" / "report.md")
    out = run_cli("report", str(tmp_path / "a")).stdout
    assert "eval metrics at step 60" in out and "| mse |" in out
    assert (tmp_path / "a" / "report.md").exists()
    proc = run_cli("report", str(tmp_path / "nothing"), check=False)
    assert proc.returncode == 2 and "has no metrics.jsonl" in proc.stderr


def test_steps_per_call_matches_one_step_per_call(tmp_path):
    loop.trace_counts.clear()
    chunked = _train(tmp_path, "chunked", ["train.steps_per_call=10", "seeds=2"])
    assert loop.trace_counts["step"] == 1
    single = _train(tmp_path, "single", ["seeds=2"])
    np.testing.assert_allclose(chunked.state.params["w"], single.state.params["w"], rtol=1e-5)
    a, b = read_metrics(chunked.run_dir), read_metrics(single.run_dir)
    assert [(r["step"], r["split"], r["seed"]) for r in a] == [
        (r["step"], r["split"], r["seed"]) for r in b
    ]
    for ra, rb in zip(a, b, strict=True):
        for k, v in ra.items():
            if isinstance(v, float):
                np.testing.assert_allclose(v, rb[k], rtol=1e-4, err_msg=k)
    with pytest.raises(ConfigError, match="train.log_every=10 is not a multiple of"):
        _train(tmp_path, "bad", ["train.steps_per_call=4"])
