"""Tests for research.meta.models."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from research.meta.models import NORMS, Conv4, SinusoidMLP


def _num_params(params) -> int:
    return sum(int(np.prod(p.shape)) for p in jax.tree.leaves(params))


def test_sinusoid_mlp_default_and_custom():
    m = SinusoidMLP()
    p = m.init(jax.random.key(0), jnp.zeros((1, 1)))
    assert _num_params(p) == (1 * 40 + 40) + (40 * 40 + 40) + (40 + 1)
    assert m.apply(p, jnp.zeros((5, 1))).shape == (5, 1)
    assert m.apply(p, jnp.zeros((3, 5, 1))).shape == (3, 5, 1)
    m2 = SinusoidMLP(hidden_sizes=(8, 8, 8), out_dim=2)
    p2 = m2.init(jax.random.key(0), jnp.zeros((1, 1)))
    assert sorted(p2["params"]) == ["hidden_0", "hidden_1", "hidden_2", "out"]
    assert m2.apply(p2, jnp.ones((4, 1))).shape == (4, 2)


def test_conv4_shapes_omniglot():
    m = Conv4(num_classes=5, num_filters=16)
    x = jnp.zeros((3, 28, 28, 1))
    p = m.init(jax.random.key(0), x)
    assert m.apply(p, x).shape == (3, 5)
    # 28 -> 14 -> 7 -> 3 -> 1 with VALID pooling: embedding = num_filters
    assert m.apply(p, x, method="embed").shape == (3, 16)
    assert p["params"]["conv_0"]["kernel"].shape == (3, 3, 1, 16)
    assert "bias" not in p["params"]["conv_0"]  # redundant before a norm


def test_conv4_small_images_need_same_pooling():
    x = jnp.zeros((2, 8, 8, 1))
    with pytest.raises(ValueError, match=r"spatial size \(1, 1\) before max-pool of block 3"):
        Conv4(num_classes=5, num_filters=4).init(jax.random.key(0), x)
    m = Conv4(num_classes=5, num_filters=4, pool_padding="SAME")
    p = m.init(jax.random.key(0), x)
    assert m.apply(p, x, method="embed").shape == (2, 4)


@pytest.mark.parametrize("norm", NORMS)
def test_conv4_norm_options_run(norm):
    m = Conv4(num_classes=3, num_filters=8, num_blocks=2, norm=norm, num_groups=4)
    x = jax.random.uniform(jax.random.key(1), (4, 12, 12, 1))
    p = m.init(jax.random.key(0), x)
    out = m.apply(p, x)
    assert out.shape == (4, 3) and bool(jnp.all(jnp.isfinite(out)))
    assert set(p) == {"params"}  # stateless: no batch_stats collection
    assert ("bias" in p["params"]["conv_0"]) == (norm == "none")


def test_batch_norm_uses_current_batch_statistics():
    x = jax.random.uniform(jax.random.key(1), (6, 12, 12, 1))
    bn = Conv4(num_classes=3, num_filters=8, num_blocks=2, norm="batch")
    p = bn.init(jax.random.key(0), x)
    # per-batch normalisation makes the output invariant to rescaling the whole batch
    np.testing.assert_allclose(bn.apply(p, 3.0 * x), bn.apply(p, x), rtol=1e-3, atol=1e-4)
    # ... and transductive: an example's output depends on the rest of the batch
    assert not np.allclose(bn.apply(p, x)[:1], bn.apply(p, x[:1]), atol=1e-4)

    ln = Conv4(num_classes=3, num_filters=8, num_blocks=2, norm="layer")
    pl = ln.init(jax.random.key(0), x)
    np.testing.assert_allclose(ln.apply(pl, x)[:1], ln.apply(pl, x[:1]), rtol=1e-5, atol=1e-5)

    nn_ = Conv4(num_classes=3, num_filters=8, num_blocks=2, norm="none")
    pn = nn_.init(jax.random.key(0), x)
    assert not np.allclose(nn_.apply(pn, 3.0 * x), nn_.apply(pn, x), atol=1e-3)


def test_conv4_errors():
    x = jnp.zeros((1, 28, 28, 1))
    with pytest.raises(ValueError, match="norm must be one of"):
        Conv4(num_classes=2, norm="batchnorm").init(jax.random.key(0), x)
    with pytest.raises(ValueError, match="num_groups=5 must divide num_filters=64"):
        Conv4(num_classes=2, norm="group", num_groups=5).init(jax.random.key(0), x)
    with pytest.raises(ValueError, match=r"expects images of shape \[B, H, W, C\]"):
        Conv4(num_classes=2).init(jax.random.key(0), jnp.zeros((28, 28, 1)))
