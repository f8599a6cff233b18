"""Two processes on one machine, joined by `jax.distributed`, run like one 8-device process.

Each process has 4 fake CPU devices; JAX's CPU backend does the cross-process collectives
with gloo (the default `jax_cpu_collectives_implementation` in the pinned JAX).
"""

import socket
import subprocess
import sys

import numpy as np

from frontier.metrics import read_metrics
from tests.conftest import ROOT, TOY_CONFIG, frontier_env, run_cli

TIMEOUT = 90  # seconds for one pair of processes; a hung collective fails the test


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run_pair(workdir, *extra):
    port = _free_port()
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "frontier.cli", "run", TOY_CONFIG, "--workdir", str(workdir)]
            + ["--no-progress", "--seeds", "2", *extra],
            cwd=ROOT,
            env=frontier_env(
                XLA_FLAGS="--xla_force_host_platform_device_count=4",
                FRONTIER_COORDINATOR=f"127.0.0.1:{port}",
                FRONTIER_NUM_PROCESSES="2",
                FRONTIER_PROCESS_ID=str(i),
            ),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]
    outs = []
    try:
        for p in procs:
            out, err = p.communicate(timeout=TIMEOUT)
            outs.append((p.returncode, out, err))
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    for i, (code, _, err) in enumerate(outs):
        assert code == 0, f"process {i} failed ({code}):\n{err[-3000:]}"
    return outs


def _assert_rows_close(a, b):
    assert [(r["step"], r["split"], r["seed"]) for r in a] == [
        (r["step"], r["split"], r["seed"]) for r in b
    ]
    for ra, rb in zip(a, b, strict=True):
        for k, v in ra.items():
            if isinstance(v, float):
                np.testing.assert_allclose(v, rb[k], rtol=1e-4, atol=1e-7, err_msg=k)


def test_two_processes_match_one_eight_device_process_and_resume(tmp_path):
    eight = frontier_env(XLA_FLAGS="--xla_force_host_platform_device_count=8")
    ref = tmp_path / "one_process"
    run_cli("run", TOY_CONFIG, "--workdir", str(ref), "--no-progress", "--seeds", "2", env=eight)
    ref_rows = read_metrics(ref)

    pair = tmp_path / "pair"
    outs = _run_pair(pair, "--set", "train.steps=40")
    for _code, out, _ in outs:  # both processes reach the end and report the final metrics
        assert "eval mse:" in out and "(2 seed(s))" in out
    rows = read_metrics(pair)
    # Process 0 alone writes logs: every (step, split, seed) once, one event file, one report.
    keys = [(r["step"], r["split"], r["seed"]) for r in rows]
    assert len(keys) == len(set(keys))
    assert len(list((pair / "events").rglob("*tfevents*"))) == 1
    assert (pair / "report.md").is_file() and not (pair / "LOCK").exists()
    # The same losses as one process with all 8 devices (up to step 40; then the pair's
    # shorter run adds its own final evaluation at step 40).
    _assert_rows_close(
        [r for r in rows if not (r["split"] == "eval" and r["step"] == 40)],
        [r for r in ref_rows if r["step"] <= 40],
    )
    assert sorted(p.name for p in (pair / "checkpoints").iterdir()) == ["20", "40"]

    # The pair's checkpoint resumes in one process to the end, as if never interrupted.
    run_cli(
        "run",
        TOY_CONFIG,
        "--workdir",
        str(pair),
        "--no-progress",
        "--seeds",
        "2",
        "--allow-config-change",
        env=eight,
    )
    resumed = [r for r in read_metrics(pair) if not (r["split"] == "eval" and r["step"] == 40)]
    _assert_rows_close(resumed, ref_rows)
    np.testing.assert_allclose(
        np.load(pair / "params.npy"), np.load(ref / "params.npy"), rtol=1e-4, atol=1e-6
    )
