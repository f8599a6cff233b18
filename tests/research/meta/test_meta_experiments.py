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
    for r in table.rows:  # one seed: 20 smoke test tasks, the interval over tasks
        assert len(r.values) == 20 and all(0.0 <= v <= 1.0 for v in r.values)
        assert r.ci == "normal"


def test_task_map_loop_equals_vmap():
    import jax
    import jax.numpy as jnp

    from research.meta import algorithms as alg
    from research.meta.models import Conv4

    net = Conv4(num_classes=3, num_filters=2, num_blocks=1, pool_padding="SAME")
    params = net.init(jax.random.key(0), jnp.zeros((1, 8, 8, 1)))["params"]
    rng = np.random.default_rng(0)
    tasks = {
        "support_x": rng.random((4, 3, 8, 8, 1), dtype=np.float32),
        "support_y": np.tile(np.arange(3, dtype=np.int32), (4, 1)),
        "query_x": rng.random((4, 6, 8, 8, 1), dtype=np.float32),
        "query_y": np.tile(np.arange(3, dtype=np.int32).repeat(2), (4, 1)),
    }

    def loss(p, task_map):
        return alg.maml_meta_batch_loss(
            p,
            tasks,
            apply_fn=lambda q, x: net.apply({"params": q}, x),
            loss_fn=alg.cross_entropy_loss,
            num_steps=2,
            inner_lr=0.3,
            task_map=task_map,
        )[0]

    grads = {m: jax.grad(loss)(params, m) for m in ("vmap", "map")}
    for a, b in zip(jax.tree.leaves(grads["vmap"]), jax.tree.leaves(grads["map"]), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
    with pytest.raises(ValueError, match="task_map must be one of"):
        loss(params, "pmap")


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
