import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from frontier.config import ConfigError, load_config
from research.dual.dsl import AutoregressiveBinary, DigitsDSL, duality_gap
from research.dual.translation import Translation


def test_autoregressive_model_is_normalised_per_class():
    x = jnp.array(list(itertools.product([0.0, 1.0], repeat=4)))  # all 16 images of 4 pixels
    model = AutoregressiveBinary(hidden=8, classes=3)
    params = jax.jit(model.init)(jax.random.key(0), x, jnp.zeros(16, jnp.int32))["params"]
    # random non-zero weights everywhere, so that a leak of the future would show
    params = jax.tree.map(lambda w: jax.random.normal(jax.random.key(1), w.shape), params)
    ys = jnp.arange(3)[:, None] * jnp.ones((1, 16), jnp.int32)
    logp = jax.jit(jax.vmap(lambda y: model.apply({"params": params}, x, y)))(ys)
    np.testing.assert_allclose(jnp.sum(jnp.exp(logp), 1), 1.0, atol=1e-4)


def test_duality_gap_formula():
    gap = duality_gap(jnp.array(-3.0), jnp.array(-0.5), jnp.array(-2.3), jnp.array(-1.0))
    assert float(gap) == pytest.approx(-3.0 - 0.5 + 2.3 + 1.0)


def test_dsl_loss_adds_lambda_times_the_squared_gap():
    cfg = load_config("configs/dual/digits_dsl.py:smoke")
    cfg.dsl.weight = 0.5
    cfg.marginal_steps = 3
    exp = DigitsDSL(cfg)
    state = jax.jit(exp.init)(jax.random.key(0))
    batch = {"x": jnp.asarray(exp.x_train[:32]), "y": jnp.asarray(exp.y_train[:32])}
    _, m = jax.jit(exp.step)(state, batch, jax.random.key(1))
    expected = m["ce"] + m["gen_nll"] + 0.5 * m["duality_gap_sq"]
    assert float(m["loss"]) == pytest.approx(float(expected), rel=1e-5)
    assert float(m["duality_gap_sq"]) > 0
    # the marginal P^(x) was pretrained in init: better than the untrained generator
    ev = jax.jit(exp.evaluate)(state, jax.random.key(0))
    assert float(ev["marginal_nll"]) < float(ev["gen_nll"])
    cfg.dsl.weight = -1.0
    with pytest.raises(ConfigError, match="dsl.weight"):
        DigitsDSL(cfg)


@pytest.mark.parametrize(
    "key, value, match",
    [
        ("dual.alpha", 1.5, r"dual.alpha must be in \[0, 1\]"),
        ("dual.alpha", -0.1, r"dual.alpha must be in \[0, 1\]"),
        ("dual.k", 0, "dual.k"),
        ("method", "unsupervised", "method must be one of"),
        ("dual.generate", "nucleus", "dual.generate"),
        ("model.max_len", 1, "model.max_len"),
    ],
)
def test_inconsistent_translation_configs_fail(key, value, match):
    cfg = load_config("configs/dual/translation.py:smoke")
    section, _, leaf = key.rpartition(".")
    (cfg[section] if section else cfg)[leaf] = value
    with pytest.raises(ConfigError, match=match):
        Translation(cfg)


def test_too_short_max_len_for_the_data_is_named():
    from research.dual.language import VocabularyError, build_corpora

    with pytest.raises(VocabularyError, match="raise model.max_len"):
        build_corpora(200, 0.1, 20, 5, 0)
    assert np.all(build_corpora(200, 0.1, 20, 10, 0).test_a[:, 0] > 2)
