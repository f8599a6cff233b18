"""Damaged checkpoints, run-directory errors and locks, and refused seed counts."""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from frontier import loop, workdir
from frontier.checkpoint import CheckpointError
from frontier.config import load_config
from frontier.metrics import read_metrics
from tests.conftest import TOY_CONFIG, run_cli


def _train(path, overrides=(), **kw):
    return loop.train(load_config(TOY_CONFIG, list(overrides)), path, progress=False, **kw)


def _damage(step_dir: Path) -> int:
    """Truncate every data file of a checkpoint step, as a full disk or a bad copy would."""
    files = [p for p in step_dir.rglob("*") if p.is_file() and p.parent.name == "d"]
    for p in files:
        with open(p, "r+b") as f:
            f.truncate(p.stat().st_size // 3)
    return len(files)


def _dirs(path: Path) -> list[str]:
    return sorted(p.name for p in path.iterdir())


def test_damaged_newest_checkpoint_falls_back_to_an_older_one(tmp_path):
    full = _train(tmp_path / "full")
    run = tmp_path / "run"
    _train(run)
    assert _dirs(run / "checkpoints") == ["40", "60"]
    assert _damage(run / "checkpoints" / "60") > 0
    with pytest.warns(RuntimeWarning) as caught:
        resumed = _train(run)
    [message] = [str(w.message) for w in caught if "does not restore" in str(w.message)]
    assert "checkpoint step 60" in message and str(run / "checkpoints") in message
    assert "moved it to 60.corrupt-1 and resumed from step 40" in message
    assert "Error" in message  # the restore error itself is named
    # The damaged step is kept aside, and step 60 was trained and written again.
    assert _dirs(run / "checkpoints") == ["40", "60", "60.corrupt-1"]
    np.testing.assert_array_equal(full.state.params["w"], resumed.state.params["w"])
    np.testing.assert_array_equal(full.final["mse"], resumed.final["mse"])
    assert read_metrics(full.run_dir) == read_metrics(run)
    # A second damage of the same step goes to the next free name.
    _damage(run / "checkpoints" / "60")
    with pytest.warns(RuntimeWarning, match="moved it to 60.corrupt-2"):
        _train(run)
    assert _dirs(run / "checkpoints") == ["40", "60", "60.corrupt-1", "60.corrupt-2"]


def test_a_damaged_checkpoint_is_reported_in_one_line_on_the_command_line(tmp_path):
    run = tmp_path / "run"
    _train(run)
    [data] = [p for p in (run / "checkpoints" / "60").rglob("*") if p.name == "_METADATA"][:1]
    data.write_text('{"tree_metadata": ')  # cut short, as by a full disk
    proc = run_cli("run", TOY_CONFIG, "--workdir", str(run), "--no-progress")
    warning = [line for line in proc.stderr.splitlines() if "does not restore" in line]
    assert len(warning) == 1 and "checkpoint step 60" in warning[0]
    assert "resumed from step 40" in warning[0]
    # Reads still in flight when orbax gives up on the step are not reported as tracebacks.
    assert "Traceback" not in proc.stderr and "Event loop is closed" not in proc.stderr


def test_the_warning_names_the_damaged_array_file(tmp_path):
    run = tmp_path / "run"
    _train(run)
    _damage(run / "checkpoints" / "60")
    with pytest.warns(RuntimeWarning, match="does not restore") as caught:
        _train(run)
    [message] = [str(w.message) for w in caught if "does not restore" in str(w.message)]
    # The innermost error (TensorStore's status and the file) rather than orbax's spec dump.
    assert "See full TensorStore details" not in message and len(message) < 800
    assert str(run / "checkpoints" / "60") in message


def test_no_checkpoint_restores_is_a_clear_error(tmp_path):
    run = tmp_path / "run"
    _train(run)
    for step in ("40", "60"):
        _damage(run / "checkpoints" / step)
    with pytest.raises(CheckpointError) as err:
        _train(run)
    text = str(err.value)
    assert f"no checkpoint in {run / 'checkpoints'} restores" in text
    assert "step 60:" in text and "step 40:" in text
    assert _dirs(run / "checkpoints") == ["40", "60"]  # nothing moved when nothing restores
    assert not (run / workdir.LOCK_NAME).exists()
    proc = run_cli("run", TOY_CONFIG, "--workdir", str(run), "--no-progress", check=False)
    assert proc.returncode == 2 and "frontier: error: no checkpoint in" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("seeds", ["0", "-1", "two"])
def test_bad_seed_counts_are_refused(tmp_path, seeds, capsys):
    from frontier import cli

    for command in (["run", TOY_CONFIG, "--workdir", str(tmp_path / "w")], ["reproduce", "x"]):
        with pytest.raises(SystemExit) as exit_:
            cli.main([*command, "--seeds", seeds])
        assert exit_.value.code == 2
        err = capsys.readouterr().err
        assert "argument --seeds" in err
        assert ("must be at least 1" if seeds != "two" else "whole number") in err
    assert not (tmp_path / "w").exists()
    if seeds != "0":
        return
    assert loop.run_config(TOY_CONFIG, tmp_path / "one", seeds=1, progress=False).seeds == [0]
    with pytest.raises(ValueError, match="seeds must be >= 1, got 0"):
        loop.run_config(TOY_CONFIG, tmp_path / "zero", seeds=0, progress=False)


def test_workdir_that_is_a_file_is_a_clear_error(tmp_path):
    f = tmp_path / "taken"
    f.write_text("not a run")
    with pytest.raises(workdir.WorkdirError, match=f"workdir {f} is an existing file"):
        _train(f)
    with pytest.raises(workdir.WorkdirError, match=f"{f} is a file, not a directory"):
        _train(f / "below")
    for command in (["run", TOY_CONFIG], ["reproduce", "classic/digits"]):
        proc = run_cli(*command, "--workdir", str(f), check=False)
        assert proc.returncode == 2, proc.stderr
        assert f"frontier: error: workdir {f} is an existing file" in proc.stderr
        assert "Traceback" not in proc.stderr
    assert f.read_text() == "not a run"


def test_a_second_run_on_a_locked_workdir_refuses(tmp_path):
    run = tmp_path / "run"
    with workdir.lock(workdir.ensure_dir(run)) as held:
        holder = json.loads(held.read_text())
        assert holder["pid"] == os.getpid() and holder["host"] == socket.gethostname()
        proc = run_cli("run", TOY_CONFIG, "--workdir", str(run), "--no-progress", check=False)
        assert proc.returncode == 2
        assert f"workdir {run} is in use by another run (pid {os.getpid()} on host" in proc.stderr
        assert socket.gethostname() in proc.stderr
        with pytest.raises(workdir.WorkdirError, match="in use by another run"):
            _train(run)  # the same process, too
        assert not (run / "metrics.jsonl").exists()  # the refused runs wrote nothing
    assert not held.exists()
    _train(run)
    assert not (run / workdir.LOCK_NAME).exists()  # released at the end of a run


def test_a_lock_from_another_host_is_not_taken_over(tmp_path):
    run = workdir.ensure_dir(tmp_path / "run")
    lock = run / workdir.LOCK_NAME
    lock.write_text(json.dumps({"pid": 1, "host": "elsewhere.example", "started": 0}))
    with pytest.raises(workdir.WorkdirError, match="pid 1 on host elsewhere.example"):
        _train(run)
    assert lock.exists()


def test_a_stale_lock_is_taken_over_with_a_warning(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    run = workdir.ensure_dir(tmp_path / "run")
    lock = run / workdir.LOCK_NAME
    lock.write_text(json.dumps({"pid": dead.pid, "host": socket.gethostname(), "started": 0}))
    with pytest.warns(RuntimeWarning, match=f"left by pid {dead.pid} on host .* no longer running"):
        result = _train(run)
    assert result.final["mse"].shape == (1,)
    assert not lock.exists()


def test_the_lock_is_released_when_the_run_fails(tmp_path, monkeypatch):
    from toymod import ToyRegression

    def failing(self, step, seed):
        raise ValueError("no data")

    monkeypatch.setattr(ToyRegression, "batch", failing)
    with pytest.raises(ValueError, match="no data"):
        _train(tmp_path / "run")
    assert (tmp_path / "run").is_dir() and not (tmp_path / "run" / workdir.LOCK_NAME).exists()
