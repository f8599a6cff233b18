"""The meta experiments through the shared loop: errors, reproductions, devices."""

import json

import numpy as np
import pytest

from frontier.loop import run_config
from frontier.metrics import read_metrics
from research.meta import reproduce
from tests.conftest import frontier_env, run_cli


def test_sinusoid_config_errors(tmp_path):
    with pytest.raises(ValueError, match="meta.algorithm must be one of"):
        run_config("configs/meta/sinusoid_maml.py:smoke", tmp_path, ["meta.algorithm=mam"])
    with pytest.raises(ValueError, match="meta.meta_batch must be >= 1"):
        run_config("configs/meta/sinusoid_maml.py:smoke", tmp_path, ["meta.meta_batch=0"])


def test_fewshot_bad_input_is_named(tmp_path):
    cfg = "configs/meta/fewshot_digits_protonet.py:smoke"
    with pytest.raises(ValueError, match=r"num_ways=30 exceeds the number of classes"):
        run_config(cfg, tmp_path / "a", ["meta.ways=30"])
    with pytest.raises(ValueError, match=r"smallest class"):
        run_config(cfg, tmp_path / "b", ["meta.shots=100", "meta.queries=100"])
    with pytest.raises(ValueError, match="data.root is empty"):
        run_config("configs/meta/omniglot_maml.py:smoke", tmp_path / "c")
    with pytest.raises(ValueError, match="images_background"):
        run_config(
            "configs/meta/omniglot_maml.py:smoke", tmp_path / "d", [f"data.root={str(tmp_path)!r}"]
        )


def test_sinusoid_reproduction_smoke(tmp_path, monkeypatch):
    keep = ("MAML", "pretrained on all tasks")
    monkeypatch.setattr(reproduce, "SINUSOID_RUNS", {k: reproduce.SINUSOID_RUNS[k] for k in keep})
    table = reproduce.reproduce_sinusoid(tmp_path, smoke=True)
    assert [r.method for r in table.rows] == [keep[0]] * 3 + [keep[1]] * 3
    assert [r.reference for r in table.rows] == [0.67, 0.38, 0.35, 2.41, 2.23, 2.19]
    assert all(len(r.values) == 50 and np.isfinite(r.values).all() for r in table.rows)
    md = table.to_markdown()
    assert "| MAML | 5-shot, 1 step | 0.670 |" in md
    for plot in ("figure2.png", "mse_vs_steps.png"):
        assert (tmp_path / "plots" / plot).stat().st_size > 10_000
    steps_table = (tmp_path / "mse_vs_steps.md").read_text()
    assert steps_table.count("| MAML | ") == 3  # K = 5, 10, 20


def test_fewshot_reproduction_smoke(tmp_path, monkeypatch):
    keep = ("MAML", "Prototypical Networks")
    monkeypatch.setattr(reproduce, "FEWSHOT_RUNS", {k: reproduce.FEWSHOT_RUNS[k] for k in keep})
    table = reproduce.reproduce_fewshot_digits(tmp_path, smoke=True)
    assert [(r.method, r.setting) for r in table.rows] == [
        ("MAML", "5-way 1-shot"),
        ("Prototypical Networks", "5-way 1-shot"),
        ("MAML", "5-way 5-shot"),
        ("Prototypical Networks", "5-way 5-shot"),
    ]
    for r in table.rows:
        assert 0.0 <= r.values[0] <= 1.0


def test_meta_batch_sharded_over_eight_devices_matches_one(tmp_path):
    args = [
        "run",
        "configs/meta/sinusoid_maml.py:smoke",
        "--no-progress",
        "--set",
        "meta.meta_batch=24",
        "--set",
        "eval.num_tasks=8",
    ]
    out = {}
    for n in (1, 8):
        env = frontier_env(XLA_FLAGS=f"--xla_force_host_platform_device_count={n}")
        run_cli(*args, "--workdir", str(tmp_path / f"d{n}"), env=env)
        out[n] = read_metrics(tmp_path / f"d{n}")
    assert json.loads((tmp_path / "d8" / "config.json").read_text())["meta"]["meta_batch"] == 24
    for a, b in zip(out[1], out[8], strict=True):
        for k, v in a.items():
            if isinstance(v, float):
                np.testing.assert_allclose(v, b[k], rtol=1e-4, atol=1e-6, err_msg=k)
