import jax.numpy as jnp
import numpy as np
import pytest

from frontier.data import load_mnist, minibatch_indices, read_idx, write_idx
from frontier.loop import run_config
from research.classic.experiments import knn_predict, multiclass_hinge
from research.classic.reproduce import reproduce_digits


def test_multiclass_hinge_by_hand():
    scores = jnp.array([[3.0, 1.0, 2.5], [0.0, 2.0, 0.5]])
    labels = jnp.array([0, 2])
    # row 0: max(0, 1-3+1)=0, max(0, 2.5-3+1)=0.5 ; row 1: max(0, 0-0.5+1)=0.5, max(0,2-0.5+1)=2.5
    assert float(multiclass_hinge(scores, labels)) == pytest.approx((0.5 + 3.0) / 2)


def test_knn_vote_and_tiebreak():
    x = jnp.array([[0.0], [1.0], [10.0], [11.0]])
    y = jnp.array([0, 0, 1, 1])
    q = jnp.array([[0.2], [10.4], [5.0]])
    assert knn_predict(x, y, q, 1).tolist() == [0, 1, 0]
    assert knn_predict(x, y, q, 3).tolist() == [0, 1, 0]
    # k=2 at 10.4: neighbours 10 (class 1) and 11 (class 1)
    assert knn_predict(x, y, jnp.array([[5.6]]), 2).tolist() == [1]


def test_minibatches_are_deterministic_permutations():
    a = [minibatch_indices(10, 5, s, seed=3) for s in range(2)]
    assert sorted(np.concatenate(a).tolist()) == list(range(10))
    np.testing.assert_array_equal(minibatch_indices(10, 5, 1, 3), a[1])
    assert not np.array_equal(minibatch_indices(10, 5, 0, 4), a[0])
    with pytest.raises(ValueError, match="larger than the 10 training examples"):
        minibatch_indices(10, 11, 0, 0)


def test_mnist_idx_loader(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(7, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, size=7).astype(np.uint8)
    write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", images)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", labels)
    x, y = load_mnist(tmp_path, "test")
    assert x.shape == (7, 28, 28, 1) and x.dtype == np.float32
    np.testing.assert_allclose(x[..., 0] * 255.0, images, atol=1e-4)
    np.testing.assert_array_equal(y, labels)
    with pytest.raises(FileNotFoundError, match="has no train-images-idx3-ubyte"):
        load_mnist(tmp_path, "train")
    (tmp_path / "bad").write_bytes(b"\x00\x00\x08\x01\x00\x00\x00\x05abc")
    with pytest.raises(ValueError, match="truncated or not IDX"):
        read_idx(tmp_path / "bad")
    (tmp_path / "junk").write_bytes(b"PK\x03\x04")
    with pytest.raises(ValueError, match="is not an IDX file"):
        read_idx(tmp_path / "junk")


def test_bad_config_values_are_named(tmp_path):
    with pytest.raises(ValueError, match="model.loss must be one of"):
        run_config("configs/classic/digits_svm.py:smoke", tmp_path / "a", ["model.loss=hinj"])
    with pytest.raises(ValueError, match="optim.batch_size must be between 1 and the 1347"):
        run_config("configs/classic/digits_svm.py:smoke", tmp_path / "b", ["optim.batch_size=5000"])
    with pytest.raises(ValueError, match="unknown optimizer 'adagrad'"):
        run_config("configs/classic/digits_mlp.py:smoke", tmp_path / "c", ["optim.name=adagrad"])


def test_linear_learns_digits_quickly(tmp_path):
    r = run_config(
        "configs/classic/digits_softmax.py",
        tmp_path / "s",
        ["train.steps=300", "train.eval_every=300"],
        progress=False,
    )
    assert r.final["accuracy"][0] > 0.9


def test_reproduce_smoke_writes_table_and_templates(tmp_path):
    table = reproduce_digits(tmp_path, smoke=True, seeds=2)
    md = table.to_markdown()
    assert md.count("\n| ") == 5  # header + 4 methods
    for method in ("KNN (k=3)", "SVM hinge", "softmax", "MLP"):
        assert method in md
    knn = table.rows[0]
    assert knn.values[0] == pytest.approx(knn.reference, abs=1e-6)  # same algorithm, same split
    assert (tmp_path / "plots" / "templates.png").stat().st_size > 5000
