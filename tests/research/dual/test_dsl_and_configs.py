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


@pytest.fixture(scope="module")
def smoke_translation():
    cfg = load_config("configs/dual/translation.py:smoke")
    exp = Translation(cfg)
    return exp, jax.jit(exp.init)(jax.random.key(0)).params


def test_translate_returns_target_language_text(smoke_translation):
    from research.dual.translation import translate

    exp, params = smoke_translation
    assert exp.pair.name == "en-de"
    out = translate(exp, params, ["twenty one", "one hundred"], beam=2)
    assert len(out) == 2
    german = set(exp.pair.b.tokens)
    assert all(tok in german for sentence in out for tok in sentence.split())
    # dual inference picks one of the beam's candidates; weight 1 keeps the beam's best
    assert translate(exp, params, ["twenty one"], beam=2, rerank_weight=1.0) == out[:1]
    back = translate(exp, params, ["ein und zwan zig"], direction="b2a", beam=1)
    assert all(tok in set(exp.pair.a.tokens) for tok in back[0].split())


@pytest.mark.parametrize(
    "sentences, kwargs, error, match",
    [
        (["twenty banana"], {}, "VocabularyError", r"sentence 0 \('twenty banana'\).*banana"),
        (["one", ""], {}, "VocabularyError", "sentence 1 .*empty sequence"),
        (["one " * 20], {}, "VocabularyError", "too long for max_len=14"),
        (["ein und zwan zig"], {}, "VocabularyError", "not in vocabulary 'words'"),
        (["one"], {"beam": 0}, "ValueError", "beam must be >= 1, got 0"),
        (["one"], {"rerank_weight": 1.5}, "ValueError", r"rerank_weight must be in \[0, 1\]"),
        (["one"], {"direction": "de2en"}, "ValueError", "direction must be 'a2b' or 'b2a'"),
        ("one", {}, "TypeError", "list of strings"),
    ],
)
def test_translate_names_bad_input(smoke_translation, sentences, kwargs, error, match):
    from research.dual import language
    from research.dual.translation import translate

    exp, params = smoke_translation
    exc = (
        getattr(language, error, None) or {"ValueError": ValueError, "TypeError": TypeError}[error]
    )
    with pytest.raises(exc, match=match):
        translate(exp, params, sentences, **kwargs)


def test_translation_config_names_unknown_pair_and_short_max_len():
    cfg = load_config("configs/dual/translation.py:smoke")
    cfg.data.pair = "en-fr"
    with pytest.raises(ConfigError, match="data.pair must be one of"):
        Translation(cfg)
    cfg = load_config("configs/dual/translation.py:smoke")
    cfg.model.max_len = 10
    with pytest.raises(ConfigError, match="model.max_len=10 is too short .*en-de.*>= 14"):
        Translation(cfg)
