"""Tests for research.meta.tasks: sinusoid tasks, FewShotSampler, digits split."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from research.meta.tasks import FewShotSampler, digits_fewshot_split, sample_sinusoid_tasks

# ------------------------------------------------------------------------------ sinusoids


def test_sinusoid_shapes_and_targets():
    t = sample_sinusoid_tasks(jax.random.key(0), 7, 10, 13)
    assert t["support_x"].shape == (7, 10, 1)
    assert t["support_y"].shape == (7, 10, 1)
    assert t["query_x"].shape == (7, 13, 1)
    assert t["query_y"].shape == (7, 13, 1)
    assert t["amplitude"].shape == (7,)
    assert t["phase"].shape == (7,)
    a = np.asarray(t["amplitude"])[:, None, None]
    ph = np.asarray(t["phase"])[:, None, None]
    for split in ("support", "query"):
        x = np.asarray(t[f"{split}_x"])
        np.testing.assert_allclose(t[f"{split}_y"], a * np.sin(x - ph), rtol=1e-5, atol=1e-5)


def test_sinusoid_ranges():
    t = sample_sinusoid_tasks(
        jax.random.key(1),
        200,
        5,
        5,
        amp_range=(1.0, 2.0),
        phase_range=(0.5, 0.6),
        x_range=(-1.0, 3.0),
    )
    assert np.all((t["amplitude"] >= 1.0) & (t["amplitude"] <= 2.0))
    assert np.all((t["phase"] >= 0.5) & (t["phase"] <= 0.6))
    xs = np.concatenate([np.ravel(t["support_x"]), np.ravel(t["query_x"])])
    assert xs.min() >= -1.0 and xs.max() <= 3.0
    # defaults: amplitude in [0.1, 5], phase in [0, pi]
    d = sample_sinusoid_tasks(jax.random.key(2), 500, 1, 1)
    assert 0.1 <= float(d["amplitude"].min()) and float(d["amplitude"].max()) <= 5.0
    assert 0.0 <= float(d["phase"].min()) and float(d["phase"].max()) <= np.pi


def test_sinusoid_deterministic_and_jittable():
    sample = jax.jit(
        functools.partial(sample_sinusoid_tasks, num_tasks=3, num_support=4, num_query=5)
    )
    a = sample(jax.random.key(3))
    b = sample_sinusoid_tasks(jax.random.key(3), 3, 4, 5)
    c = sample(jax.random.key(4))
    for k in a:
        np.testing.assert_allclose(a[k], b[k], rtol=1e-6)
    assert not np.allclose(a["amplitude"], c["amplitude"])
    # support and query inputs are drawn independently
    assert not np.allclose(a["support_x"][:, :4], a["query_x"][:, :4])


def test_sinusoid_errors():
    with pytest.raises(ValueError, match="num_tasks must be >= 1"):
        sample_sinusoid_tasks(jax.random.key(0), 0, 5, 5)
    with pytest.raises(ValueError, match="num_query must be a Python int"):
        sample_sinusoid_tasks(jax.random.key(0), 2, 5, 2.5)
    with pytest.raises(ValueError, match=r"amp_range must satisfy low <= high"):
        sample_sinusoid_tasks(jax.random.key(0), 2, 5, 5, amp_range=(5.0, 1.0))
    with pytest.raises(ValueError, match="single typed PRNG key"):
        sample_sinusoid_tasks(jax.random.split(jax.random.key(0), 3), 2, 5, 5)


# ------------------------------------------------------------------------------ sampler


def _index_dataset(class_sizes):
    """Images whose every pixel equals the image index, so examples can be traced back."""
    labels = np.concatenate([np.full(n, c * 10) for c, n in enumerate(class_sizes)])
    n = len(labels)
    images = np.broadcast_to(np.arange(n, dtype=np.float32)[:, None, None, None], (n, 3, 2, 1))
    return np.array(images), labels


def test_sampler_shapes_and_labels():
    images, labels = _index_dataset([6, 7, 8, 9, 10])
    s = FewShotSampler(images, labels, num_ways=3, num_shots=2, num_queries=4, seed=5)
    b = s.sample(0, 4, with_classes=True)
    assert b["support_x"].shape == (4, 6, 3, 2, 1) and b["support_x"].dtype == np.float32
    assert b["query_x"].shape == (4, 12, 3, 2, 1)
    assert b["support_y"].shape == (4, 6) and b["query_y"].shape == (4, 12)
    np.testing.assert_array_equal(b["support_y"][0], [0, 0, 1, 1, 2, 2])
    np.testing.assert_array_equal(b["query_y"][0], np.repeat([0, 1, 2], 4))
    for t in range(4):
        assert len(set(b["classes"][t])) == 3
        s_idx = b["support_x"][t, :, 0, 0, 0].astype(int)
        q_idx = b["query_x"][t, :, 0, 0, 0].astype(int)
        # every example belongs to the class its relabelled id points at
        np.testing.assert_array_equal(labels[s_idx], b["classes"][t][b["support_y"][t]])
        np.testing.assert_array_equal(labels[q_idx], b["classes"][t][b["query_y"][t]])
        # support and query never share an example; no example is repeated
        assert len(set(s_idx) | set(q_idx)) == len(s_idx) + len(q_idx)


def test_sampler_determinism():
    images, labels = _index_dataset([8] * 6)
    s1 = FewShotSampler(images, labels, 4, 1, 3, seed=11)
    s2 = FewShotSampler(images, labels, 4, 1, 3, seed=11)
    s1.sample(5, 2)  # an earlier call must not change later results
    a, b = s1.sample(7, 3), s2.sample(7, 3)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
    c = s1.sample(8, 3)
    d = FewShotSampler(images, labels, 4, 1, 3, seed=12).sample(7, 3)
    assert not np.array_equal(a["support_x"], c["support_x"])
    assert not np.array_equal(a["support_x"], d["support_x"])


def test_sampler_covers_all_classes():
    images, labels = _index_dataset([5] * 8)
    s = FewShotSampler(images, labels, 2, 1, 1, seed=0)
    seen = set(np.ravel(s.sample(0, 100, with_classes=True)["classes"]))
    assert seen == set(np.unique(labels))


def test_sampler_errors():
    images, labels = _index_dataset([6, 7, 2, 9])
    with pytest.raises(
        ValueError, match=r"num_ways=5 exceeds the number of classes in labels \(4\)"
    ):
        FewShotSampler(images, labels, num_ways=5, num_shots=1, num_queries=1)
    with pytest.raises(ValueError, match=r"smallest class: class 20 has only 2 examples"):
        FewShotSampler(images, labels, num_ways=2, num_shots=1, num_queries=2)
    with pytest.raises(ValueError, match=r"images must have shape \[N_img, H, W, C\]"):
        FewShotSampler(images[..., 0], labels, 2, 1, 1)
    with pytest.raises(ValueError, match=r"labels must have shape \[N_img\]"):
        FewShotSampler(images, labels[:-1], 2, 1, 1)
    with pytest.raises(ValueError, match="num_shots must be >= 1"):
        FewShotSampler(images, labels, 2, 0, 1)
    s = FewShotSampler(images, labels, 2, 1, 1)
    with pytest.raises(ValueError, match="index must be >= 0"):
        s.sample(-1, 2)


# ------------------------------------------------------------------------------ digits


def test_digits_split_disjoint_and_rotated():
    tr_x, tr_y, te_x, te_y = digits_fewshot_split(seed=0)
    assert tr_x.shape[1:] == (8, 8, 1) and te_x.shape[1:] == (8, 8, 1)
    assert tr_x.dtype == np.float32 and 0.0 <= tr_x.min() and tr_x.max() <= 1.0
    assert len(tr_x) == len(tr_y) and len(te_x) == len(te_y)
    assert set(np.unique(tr_y)) == {4 * d + k for d in range(6) for k in range(4)}
    assert set(np.unique(te_y)) == {4 * d + k for d in range(6, 10) for k in range(4)}
    assert not set(tr_y) & set(te_y)
    assert len(tr_x) + len(te_x) == 4 * 1797
    # the class (d, k=1) holds exactly the rot90 of the images of class (d, k=0)
    base = tr_x[tr_y == 8]  # digit 2, k=0
    rot = tr_x[tr_y == 9]  # digit 2, k=1
    key = lambda a: sorted(map(bytes, a))
    assert key(np.rot90(base, 1, axes=(1, 2))) == key(rot)
    # smallest class is large enough for 20-shot episodes
    assert np.bincount(te_y).max() >= 170 and min(np.bincount(tr_y)[np.unique(tr_y)]) >= 170


def test_digits_split_seed_and_options():
    a = digits_fewshot_split(seed=0)
    b = digits_fewshot_split(seed=0)
    c = digits_fewshot_split(seed=1)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a[1], c[1])
    assert sorted(a[1]) == sorted(c[1])  # same examples, different order
    tr_x, tr_y, te_x, te_y = digits_fewshot_split(test_digits=(0, 1), rotations=False)
    assert set(te_y) == {0, 1} and set(tr_y) == set(range(2, 10))
    with pytest.raises(ValueError, match="test_digits must be a non-empty proper subset"):
        digits_fewshot_split(test_digits=())


def test_digits_with_sampler():
    tr_x, tr_y, te_x, te_y = digits_fewshot_split()
    s = FewShotSampler(tr_x, tr_y, num_ways=5, num_shots=1, num_queries=15, seed=0)
    b = s.sample(0, 2)
    assert b["support_x"].shape == (2, 5, 8, 8, 1)
    with pytest.raises(ValueError, match="num_ways=17 exceeds the number of classes"):
        FewShotSampler(te_x, te_y, num_ways=17, num_shots=1, num_queries=1)
    assert jnp.asarray(b["query_y"]).dtype == jnp.int32
