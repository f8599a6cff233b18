"""The neural guide: AUC, the encoder, training through the loop, the smoke reproduction."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from frontier import cli
from frontier.loop import run_config
from research.synthesis.data import build_corpus, encode_tasks
from research.synthesis.experiments import DeepCoderEncoder, roc_auc

SMOKE = "configs/synthesis/deepcoder_t3.py:smoke"


def test_roc_auc_matches_sklearn():
    rng = np.random.default_rng(0)
    labels = (rng.random((60, 3)) < 0.4).astype(np.float32)
    scores = rng.normal(size=(60, 3)) + labels
    scores[:5, 0] = scores[5, 0]  # ties
    ours = np.asarray(roc_auc(jnp.asarray(scores), jnp.asarray(labels)))
    for j in range(3):
        assert ours[j] == pytest.approx(roc_auc_score(labels[:, j], scores[:, j]), abs=1e-6)


def test_encoder_shape_and_example_pooling():
    tasks = list(build_corpus(2, 64, 8).test[:3])
    x = encode_tasks(tasks)
    net = DeepCoderEncoder(embed_dim=4, hidden=(16, 16))
    params = net.init(jax.random.key(0), x["types"], x["values"])
    logits = net.apply(params, x["types"], x["values"])
    assert logits.shape == (3, 34)
    perm = np.array([4, 2, 0, 1, 3])  # the order of the examples does not matter
    permuted = net.apply(params, x["types"][:, perm], x["values"][:, perm])
    np.testing.assert_allclose(permuted, logits, atol=1e-5)


def test_guide_learns_above_chance(tmp_path):
    r = run_config(
        SMOKE,
        tmp_path / "g",
        ["train.steps=300", "train.eval_every=300", "data.num_train=1024"],
        progress=False,
    )
    assert r.final["mean_auc"][0] > 0.58  # chance is 0.5; T=2 after 300 steps: about 0.62
    assert r.final["accuracy"][0] > 0.85
    assert (tmp_path / "g" / "plots" / "attribute_auc.png").exists()


def test_bad_config_values_are_named(tmp_path):
    with pytest.raises(ValueError, match="optim.batch_size must be between 1 and the 256"):
        run_config(SMOKE, tmp_path / "a", ["optim.batch_size=1000"])
    with pytest.raises(ValueError, match="unknown variant 'big'"):
        run_config("configs/synthesis/deepcoder_t3.py:big", tmp_path / "b")


def test_reproduce_smoke_through_the_cli(tmp_path, capsys):
    assert (
        cli.main(["reproduce", "synthesis/deepcoder_t3", "--smoke", "--workdir", str(tmp_path)])
        == 0
    )
    out = capsys.readouterr().out
    assert "DeepCoder searches, no paper number at this length (T = 2)" in out
    assert "SMOKE RUN" in out
    md = (tmp_path / "table.md").read_text()
    for name in ("DFS, baseline", "sort-and-add, guided", "DFS speedup (time)", "genetic"):
        assert name in md
    for plot in ("solve_rate_vs_time.png", "solve_rate_vs_nodes.png", "attribute_auc.png"):
        assert (tmp_path / "plots" / plot).exists()
    assert (tmp_path / "search_results.json").exists()


def test_reproduce_t5_smoke(tmp_path):
    import json

    from research.synthesis.reproduce import reproduce_deepcoder_t5

    tables = reproduce_deepcoder_t5(tmp_path, smoke=True)
    titles = [t.title for t in tables]
    assert "DeepCoder Table 1 (T = 3): time to solve a fraction of the test tasks" in titles
    results = json.loads((tmp_path / "search_results.json").read_text())
    # the smoke variant trains on T=2 programs and searches 6 tasks of length 3
    assert len(results["DFS, guided"]["solved"]) == 6
    assert len(results["DFS, guided"]["held_out"]) == 6
    for rec in results.values():
        assert all(s or not h for s, h in zip(rec["solved"], rec["held_out"], strict=True))
    assert (tmp_path / "plots" / "solve_rate_vs_time.png").exists()


def test_synthetic_guides_order_by_signal_and_the_sweep_runs(tmp_path):

    from research.synthesis.guide_quality import mean_auc, synthetic_guide

    rng = np.random.default_rng(0)
    targets = (rng.random((300, 34)) < 0.2).astype(np.float32)
    aucs = [mean_auc(synthetic_guide(targets, s, rng), targets) for s in (0.0, 0.5, 2.0, 5.0)]
    assert abs(aucs[0] - 0.5) < 0.03
    assert aucs[0] < aucs[1] < aucs[2] < aucs[3] and aucs[3] > 0.999
    with pytest.raises(ValueError, match="signals must be >= 0"):
        synthetic_guide(targets, -1.0, rng)


def test_guide_quality_smoke(tmp_path):
    import json

    from research.synthesis.guide_quality import reproduce_guide_quality

    tables = reproduce_guide_quality(tmp_path, smoke=True)  # trains guide_quality.py:smoke
    assert [t.title for t in tables] == [
        "Guided DFS time / sort-and-add time, by guide quality",
        "Time to solve a fraction of the tasks, by guide quality",
    ]
    saved = json.loads((tmp_path / "guide_quality.json").read_text())
    assert set(saved["auc"]) == {"synthetic, signal 0", "synthetic, signal 2.5", "trained guide"}
    assert saved["auc"]["synthetic, signal 2.5"] > saved["auc"]["synthetic, signal 0"]
    for rec in saved["results"].values():
        for search in ("DFS", "sort-and-add"):
            assert len(rec[search]["seconds"]) == 8 and len(rec[search]["nodes"]) == 8
    assert (tmp_path / "plots" / "time_vs_guide_auc.png").stat().st_size > 1000
    with pytest.raises(ValueError, match="quality.tasks must be >= 1"):
        reproduce_guide_quality(tmp_path / "b", smoke=True, overrides=["quality.tasks=0"])
