"""Tests for research.meta.models."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from research.meta.models import NORMS, Conv4, SinusoidMLP


def _num_params(params) -> int:
    return sum(int(np.prod(p.shape)) for p in jax.tree.leaves(params))


def init_apply(model, x, *xs, method=None):
    """Init ``model`` on ``x`` and apply it to ``x`` and each of ``xs``, in one compiled call."""

    @jax.jit
    def run(x, *xs):
        params = model.init(jax.random.key(0), x)
        return params, [model.apply(params, v, method=method) for v in (x, *xs)]

    params, outs = run(x, *xs)
    return params, outs


def test_sinusoid_mlp_default_and_custom():
    m = SinusoidMLP()
    p, (a, b) = init_apply(m, jnp.zeros((5, 1)), jnp.zeros((3, 5, 1)))
    assert _num_params(p) == (1 * 40 + 40) + (40 * 40 + 40) + (40 + 1)
    assert a.shape == (5, 1) and b.shape == (3, 5, 1)
    m2 = SinusoidMLP(hidden_sizes=(8, 8, 8), out_dim=2)
    p2, (c,) = init_apply(m2, jnp.ones((4, 1)))
    assert sorted(p2["params"]) == ["hidden_0", "hidden_1", "hidden_2", "out"]
    assert c.shape == (4, 2)
    assert p2["params"]["hidden_0"]["kernel"].shape == (1, 8)


def test_conv4_shapes_omniglot():
    m = Conv4(num_classes=5, num_filters=16)
    x = jnp.zeros((3, 28, 28, 1))
    # shapes only: trace, do not compile
    p = jax.eval_shape(m.init, jax.random.key(0), x)
    assert jax.eval_shape(m.apply, p, x).shape == (3, 5)
    # 28 -> 14 -> 7 -> 3 -> 1 with VALID pooling: embedding = num_filters
    assert jax.eval_shape(lambda p, x: m.apply(p, x, method="embed"), p, x).shape == (3, 16)
    assert p["params"]["conv_0"]["kernel"].shape == (3, 3, 1, 16)
    assert "bias" not in p["params"]["conv_0"]  # redundant before a norm
    expected = {f"conv_{i}" for i in range(4)} | {f"norm_{i}" for i in range(4)} | {"head"}
    assert set(p["params"]) == expected
    assert p["params"]["head"]["kernel"].shape == (16, 5)


def test_conv4_small_images_need_same_pooling():
    x = jnp.zeros((2, 8, 8, 1))
    with pytest.raises(ValueError, match=r"spatial size \(1, 1\) before max-pool of block 3"):
        jax.eval_shape(Conv4(num_classes=5, num_filters=4).init, jax.random.key(0), x)
    m = Conv4(num_classes=5, num_filters=4, pool_padding="SAME")
    shapes = jax.eval_shape(lambda: m.apply(m.init(jax.random.key(0), x), x, method="embed"))
    assert shapes.shape == (2, 4)


@pytest.mark.parametrize("norm", NORMS)
def test_conv4_norm_options(norm):
    m = Conv4(num_classes=3, num_filters=8, num_blocks=2, norm=norm, num_groups=4)
    x = jax.random.uniform(jax.random.key(1), (6, 12, 12, 1))
    p, (out, out_scaled, out_first) = init_apply(m, x, 3.0 * x, x[:1])
    assert out.shape == (6, 3) and bool(jnp.all(jnp.isfinite(out)))
    assert set(p) == {"params"}  # stateless: no batch_stats collection
    assert ("bias" in p["params"]["conv_0"]) == (norm == "none")
    if norm == "batch":
        # per-batch statistics: invariant to rescaling the whole batch (the first conv's bias is
        # dropped) ...
        np.testing.assert_allclose(out_scaled, out, rtol=1e-3, atol=1e-4)
        # ... and transductive: an example's output depends on the rest of the batch
        assert not np.allclose(out[:1], out_first, atol=1e-4)
    else:
        # layer / group / no norm: each example is processed independently
        np.testing.assert_allclose(out[:1], out_first, rtol=1e-5, atol=1e-5)
    if norm == "none":
        assert not np.allclose(out_scaled, out, atol=1e-3)


def test_conv4_errors():
    x = jnp.zeros((1, 28, 28, 1))
    init = lambda m, x=x: jax.eval_shape(m.init, jax.random.key(0), x)
    with pytest.raises(ValueError, match="norm must be one of"):
        init(Conv4(num_classes=2, norm="batchnorm"))
    with pytest.raises(ValueError, match="num_groups=5 must divide num_filters=64"):
        init(Conv4(num_classes=2, norm="group", num_groups=5))
    with pytest.raises(ValueError, match="pool_padding must be 'VALID' or 'SAME'"):
        init(Conv4(num_classes=2, pool_padding="same"))
    with pytest.raises(ValueError, match=r"expects images of shape \[B, H, W, C\]"):
        init(Conv4(num_classes=2), jnp.zeros((28, 28, 1)))
