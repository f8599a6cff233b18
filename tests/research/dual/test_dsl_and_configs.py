import functools
import itertools

import jax
import jax.numpy as jnp
import numpy as np
import optax
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
    cfg.dsl.marginal = "separate"
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


@functools.cache
def _smoke_state():
    """One initial state of the smoke config with random non-zero weights everywhere, so that
    every class gives the generator a different output (the state's shape does not depend on
    `dsl.marginal`)."""
    cfg = load_config("configs/dual/digits_dsl.py:smoke")
    state = jax.jit(DigitsDSL(cfg).init)(jax.random.key(0))
    params = jax.tree.map(
        lambda w: 0.3 * jax.random.normal(jax.random.key(w.size), w.shape), state.params
    )
    return state.replace(params=params)


def _smoke_experiment(marginal: str, weight: float = 1.0) -> DigitsDSL:
    cfg = load_config("configs/dual/digits_dsl.py:smoke")
    cfg.dsl.weight = weight
    cfg.dsl.marginal = marginal
    return DigitsDSL(cfg)


def test_mixture_marginal_is_logsumexp_of_generator_and_prior():
    exp, params = _smoke_experiment("mixture"), _smoke_state().params
    x, y = jnp.asarray(exp.x_test[:5]), jnp.asarray(exp.y_test[:5])
    got, (_, log_py_x, _, gap) = jax.jit(lambda p: (exp.log_marginal(p, x), exp.terms(p, x, y)))(
        params
    )
    per_class = jax.jit(
        jax.vmap(lambda c: exp.generator.apply({"params": params["gen"]}, x, jnp.full(5, c)))
    )(jnp.arange(10))
    joint = np.asarray(per_class).T + np.log(np.bincount(exp.y_train) / len(exp.y_train))
    top = joint.max(1)
    np.testing.assert_allclose(got, top + np.log(np.exp(joint - top[:, None]).sum(1)), rtol=1e-5)
    # with that marginal the duality gap is log P(y|x) minus the generator's posterior
    gen_post = joint[np.arange(5), np.asarray(y)] - np.asarray(got)
    np.testing.assert_allclose(np.asarray(gap), np.asarray(log_py_x) - gen_post, atol=1e-4)
    # the separate marginal is another model: not the mixture
    sep = jax.jit(_smoke_experiment("separate").log_marginal)(params, x)
    assert np.max(np.abs(np.asarray(sep) - np.asarray(got))) > 1e-2


@pytest.mark.parametrize("marginal", ["separate", "mixture"])
def test_duality_regulariser_reaches_both_models(marginal):
    exp, base, params = (
        _smoke_experiment(marginal),
        _smoke_experiment(marginal, 0.0),
        _smoke_state().params,
    )
    batch = {"x": jnp.asarray(exp.x_train[:16]), "y": jnp.asarray(exp.y_train[:16])}

    @jax.jit
    def grads(p):
        reg = jax.grad(lambda p: jnp.mean(exp.terms(p, batch["x"], batch["y"])[3] ** 2))(p)
        with_dsl = jax.grad(lambda p: exp.loss(p, batch, None)[0])(p)
        without = jax.grad(lambda p: base.loss(p, batch, None)[0])(p)
        return reg, jax.tree.map(lambda a, b: a - b, with_dsl, without)

    reg, diff = grads(params)
    for g in (reg, diff):  # the DSL term, and what it adds to the training loss's gradient
        assert float(optax.global_norm(g["cls"])) > 1e-3
        assert float(optax.global_norm(g["gen"])) > 1e-3
        assert float(optax.global_norm(g["marginal"])) == 0.0  # P^(x) is a fixed estimate


def test_mixture_marginal_skips_pretraining_and_keeps_the_state_shape():
    cfg = load_config("configs/dual/digits_dsl.py:smoke")
    cfg.marginal_steps = 3
    cfg.dsl.marginal = "separate"
    separate = jax.eval_shape(DigitsDSL(cfg).init, jax.random.key(0))
    cfg.dsl.marginal = "mixture"
    mixture = jax.jit(DigitsDSL(cfg).init)(jax.random.key(0))
    same = jax.tree.map(lambda a, b: a.shape == b.shape, separate, mixture)
    assert all(jax.tree.leaves(same))
    cfg.marginal_steps = 0
    untrained = jax.jit(DigitsDSL(cfg).init)(jax.random.key(0))
    for a, b in zip(jax.tree.leaves(mixture), jax.tree.leaves(untrained), strict=True):
        np.testing.assert_array_equal(a, b)


def test_evaluation_measures_the_marginal_and_the_generative_classifier():
    exp, state = _smoke_experiment("separate"), _smoke_state()
    ev = jax.jit(exp.evaluate)(state, jax.random.key(0))
    x, y, params = jnp.asarray(exp.x_test), np.asarray(exp.y_test), state.params
    joint = np.asarray(jax.jit(exp.class_log_joint)(params["gen"], x))
    assert float(ev["gen_error_rate"]) == pytest.approx(np.mean(joint.argmax(1) != y))
    log_sep = np.asarray(jax.jit(exp.marginal.apply)({"params": params["marginal"]}, x))
    log_mix = np.asarray(jax.nn.logsumexp(joint, 1))
    assert float(ev["marginal_inconsistency"]) == pytest.approx(
        np.mean(np.abs(log_sep - log_mix)), rel=1e-4
    )
    assert float(ev["mixture_nll"]) == pytest.approx(-np.mean(log_mix), rel=1e-5)
    g_reg, g_ce = jax.jit(
        lambda p: (
            jax.grad(lambda p: jnp.mean(exp.terms(p, x, jnp.asarray(y))[3] ** 2))(p)["cls"],
            jax.grad(lambda p: -jnp.mean(exp.terms(p, x, jnp.asarray(y))[1]))(p)["cls"],
        )
    )(params)
    a = np.concatenate([np.ravel(v) for v in jax.tree.leaves(g_reg)])
    b = np.concatenate([np.ravel(v) for v in jax.tree.leaves(g_ce)])
    cos = a @ b / np.linalg.norm(a) / np.linalg.norm(b)
    assert float(ev["reg_ce_grad_cosine"]) == pytest.approx(cos, abs=1e-4)
    ev_mix = jax.jit(_smoke_experiment("mixture").evaluate)(state, jax.random.key(0))
    assert "marginal_inconsistency" not in ev_mix
    # with the consistent marginal the whole gap is the disagreement between the posteriors
    assert float(ev_mix["abs_duality_gap"]) == pytest.approx(
        float(ev_mix["abs_posterior_gap"]), rel=1e-4
    )


def test_unknown_marginal_is_a_config_error():
    cfg = load_config("configs/dual/digits_dsl.py:smoke")
    cfg.dsl.marginal = "foo"
    with pytest.raises(ConfigError, match=r"dsl.marginal must be one of .*'foo'"):
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


def test_digits_tables_pair_each_marginal_with_its_own_baseline():
    from research.dual.reproduce import DSL_DIAGNOSTICS, DSL_MARGINALS, digits_tables

    rng = np.random.default_rng(0)
    metrics = ["error_rate", "ce", "gen_nll", "abs_duality_gap", "gen_error_rate"]
    shared = {m: rng.random(3) for m in metrics}

    def final(marginal):
        out = {m: rng.random(3) for m in metrics + ["mixture_nll"]}
        if marginal == "separate":
            out["marginal_inconsistency"] = rng.random(3)
        return out

    finals = {(m, w): final(m) for w in (0.0, 0.5) for m in DSL_MARGINALS}
    for m in DSL_MARGINALS:  # lambda = 0: one run, only the gap depends on the marginal
        finals[(m, 0.0)].update({k: v for k, v in shared.items() if k != "abs_duality_gap"})
    main, diagnostics = digits_tables(finals, seeds=3)
    rows = {(r.method, r.setting): r for r in main.rows}
    err, gap = "test error rate", "mean abs duality gap (nats)"
    assert ("lambda = 0 (no DSL)", err) in rows  # one baseline row where the marginals agree
    assert ("lambda = 0 (no DSL), mixture marginal", gap) in rows
    for m, name in DSL_MARGINALS.items():
        for metric, label in (("error_rate", err), ("abs_duality_gap", gap)):
            paired = rows[(f"{name}, lambda = 0.5 minus lambda = 0 (paired)", label)]
            want = finals[(m, 0.5)][metric] - finals[(m, 0.0)][metric]
            np.testing.assert_allclose(paired.values, want)
            assert paired.reference == 0.0
    mix_vs_sep = rows[("mixture minus separate, lambda = 0.5 (paired)", err)]
    want = finals[("mixture", 0.5)]["error_rate"] - finals[("separate", 0.5)]["error_rate"]
    np.testing.assert_allclose(mix_vs_sep.values, want)
    inconsistency = dict(DSL_DIAGNOSTICS)["marginal_inconsistency"]
    diag = {(r.method, r.setting) for r in diagnostics.rows}
    assert ("lambda = 0 (no DSL), separate marginal", inconsistency) in diag
    assert ("separate marginal, lambda = 0.5", inconsistency) in diag
    assert not any("mixture" in m and s == inconsistency for m, s in diag)
    for table in (main, diagnostics):  # every markdown row has the table's seven cells
        for line in table.to_markdown().splitlines():
            if line.startswith("| "):
                assert line.count("|") == 8, line
