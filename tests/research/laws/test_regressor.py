"""The estimator: search quality on an easy law, determinism, outputs, resume, bad input."""

import jax
import numpy as np
import pytest
import sympy as sp
from sklearn.exceptions import NotFittedError

from frontier.config import ConfigError
from frontier.loop import train
from research.laws import SymbolicRegressor
from research.laws.experiments import SymbolicRegressionExperiment
from research.laws.regressor import loop_config

TINY = dict(
    population_size=64,
    populations=2,
    generations=12,
    tournament_size=4,
    binary_operators=("+", "-", "*", "/"),
    unary_operators=(),
    maxsize=10,
    init_max_size=6,
    optimize_top=2,
    optimizer_iterations=3,
    migrants=2,
    max_rows=200,
    rational_degree=0,  # the search alone (rational fits: their own tests)
)


def _data(n=300, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(1, 3, size=(n, 3))
    return X, 3.0 * X[:, 0] * X[:, 1] + 0.5


@pytest.fixture(scope="module")
def fitted():
    X, y = _data()
    return SymbolicRegressor(**TINY, random_state=0).fit(X, y, ["m", "v", "h"]), X, y


def test_finds_an_easy_law_exactly(fitted):
    model, X, y = fitted
    assert model.score(X, y) > 0.999999
    e = model.sympy()
    m, v = sp.symbols("m v")
    assert sp.simplify(e - (3 * m * v + 0.5)).is_number
    assert abs(float(sp.simplify(e - (3 * m * v + 0.5)))) < 1e-3


def test_outputs_agree(fitted):
    model, X, y = fitted
    pred = model.predict(X)
    assert pred.shape == (len(X),)
    np.testing.assert_allclose(np.asarray(model.jax()(X)), pred, rtol=1e-5, atol=1e-4)
    f = sp.lambdify(sp.symbols("m v h"), model.sympy(), "numpy")
    np.testing.assert_allclose(f(*X.T) * np.ones(len(X)), pred, rtol=1e-3)
    assert "m" in model.latex()
    front = model.pareto_front
    assert len(front) >= 2
    sizes = [r["complexity"] for r in front]
    losses = [r["loss"] for r in front]
    assert sizes == sorted(sizes) and len(set(sizes)) == len(sizes)
    assert losses[-1] <= min(losses) + 1e-9 and losses[0] > losses[-1] + 0.1
    assert {"complexity", "loss", "score", "equation", "sympy", "latex"} <= set(front[0])


def test_same_seed_same_result_other_seed_other_search(fitted):
    model, X, y = fitted
    again = SymbolicRegressor(**TINY, random_state=0).fit(X, y, ["m", "v", "h"])
    for k in ("tokens", "consts", "loss", "hof_tokens", "hof_consts"):
        np.testing.assert_array_equal(again.state_[k], model.state_[k])
    other = SymbolicRegressor(**TINY, random_state=1).fit(X, y, ["m", "v", "h"])
    assert not np.array_equal(other.state_["tokens"], model.state_["tokens"])


def test_search_resumes_through_the_loop(tmp_path):
    """Interrupted after 2 generations and resumed to 4: the same state as 4 uninterrupted."""
    X, y = _data(120)
    est = SymbolicRegressor(**{**TINY, "generations": 4}, random_state=0)
    params = est.search_params(3)
    full = loop_config(est, params, 0)
    half = loop_config(SymbolicRegressor(**{**TINY, "generations": 2}), params, 0)
    exp = SymbolicRegressionExperiment(full, (X, y))
    whole = train(full, tmp_path / "a", progress=False, experiment=exp)
    train(half, tmp_path / "b", progress=False, experiment=exp)
    with pytest.raises(ConfigError, match="different config"):
        train(full, tmp_path / "b", progress=False, experiment=exp)
    resumed = train(full, tmp_path / "b", progress=False, experiment=exp, allow_config_change=True)
    for k in ("tokens", "consts", "hof_loss", "generation"):
        np.testing.assert_array_equal(
            np.asarray(resumed.state[k]), np.asarray(whole.state[k]), err_msg=k
        )
    assert int(np.asarray(whole.state["generation"])[0]) == 4
    assert (tmp_path / "a" / "pareto.md").read_text().count("|") > 6
    # the estimator reaches the same loop experiment by its registered name
    via_estimator = est.set_params(workdir=str(tmp_path / "c")).fit(X, y)
    np.testing.assert_array_equal(via_estimator.state_["tokens"], whole.state["tokens"][0])
    assert (tmp_path / "c" / "pareto.md").exists()


@pytest.mark.parametrize(
    "X, y, match",
    [
        (np.ones((5, 2)), np.ones(4), "inconsistent numbers of samples: \\[5, 4\\]"),
        (np.ones(5), np.ones(5), "Expected 2D array, got 1D array"),
        (np.array([[1.0, np.nan], [2.0, 3.0], [1, 1]]), np.ones(3), "Input X contains NaN"),
        (np.ones((3, 2)), np.array([1.0, np.inf, 2.0]), "Input y contains infinity"),
    ],
)
def test_bad_data_is_rejected_clearly(X, y, match):
    with pytest.raises(ValueError, match=match):
        SymbolicRegressor(**TINY).fit(X, y)


def test_bad_settings_are_rejected_clearly():
    X, y = _data(20)
    with pytest.raises(ValueError, match="generations must be an integer >= 1.*budget of zero"):
        SymbolicRegressor(**{**TINY, "generations": 0}).fit(X, y)
    with pytest.raises(ValueError, match="population_size must be an integer >= 1"):
        SymbolicRegressor(**{**TINY, "population_size": 0}).fit(X, y)
    with pytest.raises(ValueError, match="unknown operator 'tan'.*available operators"):
        SymbolicRegressor(**{**TINY, "unary_operators": ("tan",)}).fit(X, y)
    with pytest.raises(ValueError, match="unknown backend"):
        SymbolicRegressor(backend="julia").fit(X, y)
    with pytest.raises(ValueError, match="3 features"):
        SymbolicRegressor(**TINY).fit(X, y, ["a"])
    with pytest.raises(ValueError, match="p_add_term must be a probability in"):
        SymbolicRegressor(**{**TINY, "p_add_term": 1.5}).fit(X, y)
    with pytest.raises(ValueError, match="operator probabilities must be >= 0 and sum to <= 1"):
        SymbolicRegressor(**{**TINY, "p_add_term": 0.2}).fit(X, y)  # 0.9 + 0.2 > 1
    with pytest.raises(NotFittedError, match="not fitted"):
        SymbolicRegressor().predict(X)


def test_predict_checks_the_feature_count(fitted):
    model, X, _ = fitted
    with pytest.raises(ValueError, match="expecting 3 features"):
        model.predict(X[:, :2])
    assert jax.numpy.asarray(model.predict(X[:3])).shape == (3,)


def test_polish_constants_recovers_exact_constants_in_float64():
    import sympy as sp

    from research.laws import expr as E
    from research.laws.regressor import polish_constants

    spec = E.Spec(("add", "mul", "exp"), 1, 12)
    t = sp.Symbol("t")
    tokens, consts = E.from_sympy(spec, 0.4 * sp.exp(-0.5016 * t * t), ["t"])
    rng = np.random.default_rng(0)
    X = rng.uniform(-2, 2, (500, 1))
    y = 0.39894228 * np.exp(-0.5 * X[:, 0] ** 2) + 1.5
    for scaled in (True, False):
        target = y if scaled else y - 1.5  # without scaling the offset cannot be fitted
        out = polish_constants(spec, tokens, consts, X, target, linear_scaling=scaled)
        k = out[tokens == E.CONST]
        assert np.abs(k).max() == pytest.approx(0.5, abs=1e-5)  # the exponent's constant
        if not scaled:
            assert np.abs(k).min() == pytest.approx(0.39894228, abs=1e-5)
    # nothing to polish: unchanged
    t2, c2 = E.from_sympy(spec, t * t, ["t"])
    np.testing.assert_array_equal(polish_constants(spec, t2, c2, X, y), c2)


def test_term_weights_fit_a_sum_of_terms_by_least_squares():
    import jax.numpy as jnp
    import sympy as sp

    from research.laws import expr as E
    from research.laws.regressor import RegressionObjective

    rng = np.random.default_rng(0)
    x = rng.uniform(1, 3, (256, 4)).astype(np.float32)
    y = x[:, 0] * x[:, 1] + 3.0 * x[:, 2] - 0.5 * x[:, 3] ** 2
    spec = E.Spec(("add", "sub", "mul", "square"), 4, 24)
    names = ["a", "b", "c", "d"]
    enc = [E.from_sympy(spec, sp.sympify(t), names) for t in ("a*b + c + d**2", "a*b")]
    t = jnp.asarray(np.stack([e[0] for e in enc]))
    c = jnp.asarray(np.stack([e[1] for e in enc]))
    data = {"x": jnp.asarray(x), "y": jnp.asarray(y)}
    obj = RegressionObjective(spec, max_terms=6)
    nt, nc, changed = jax.jit(obj.refine)(t, c, data)
    assert changed.tolist() == [True, False]
    loss = jax.jit(obj)
    before, after = np.asarray(loss(t, c, data))[0], np.asarray(loss(nt, nc, data))[0]
    assert after < 1e-8 < before, (before, after)
    np.testing.assert_array_equal(np.asarray(nt[1]), np.asarray(t[1]))
    off = RegressionObjective(spec, max_terms=6, linear_scaling=False)
    assert not bool(jax.jit(off.refine)(t, c, data)[2].any())
    with pytest.raises(ValueError, match="term_weights must be an integer >= 0"):
        SymbolicRegressor(term_weights=-1).fit(x, y)


def test_term_weights_reach_a_sum_under_a_product_or_over_a_divisor():
    import jax.numpy as jnp
    import sympy as sp

    from research.laws import expr as E
    from research.laws.regressor import RegressionObjective

    rng = np.random.default_rng(1)
    x = rng.uniform(1, 3, (300, 3)).astype(np.float32)
    a, b, c = x.T
    spec = E.Spec(("add", "sub", "mul", "div", "sin"), 3, 30)
    names = ["a", "b", "c"]
    cases = [  # (candidate structure, target with other term weights)
        ("a*(b + c)", a * (b + 3.0 * c)),
        ("(b + c)*sin(a)", (b - 0.5 * c) * np.sin(a)),
        ("(a*b + b*c)/(a + c)", (a * b + 2.0 * b * c) / (a + c)),
        ("sin(a)", np.sin(a)),  # no sum: unchanged
    ]
    enc = [E.from_sympy(spec, sp.sympify(e), names) for e, _ in cases]
    t = jnp.asarray(np.stack([e[0] for e in enc]))
    k = jnp.asarray(np.stack([e[1] for e in enc]))
    obj = RegressionObjective(spec, max_terms=6)
    refine, loss = jax.jit(obj.refine), jax.jit(obj)  # compiled once for the four targets
    for i, (_, y) in enumerate(cases):
        data = {"x": jnp.asarray(x), "y": jnp.asarray(y, jnp.float32)}
        nt, nc, changed = refine(t, k, data)
        after = float(np.asarray(loss(nt, nc, data))[i])
        if i < 3:
            assert bool(changed[i]) and after < 1e-8, (cases[i][0], after)
            assert float(np.asarray(loss(t, k, data))[i]) > 1e-3
        else:
            assert not bool(changed[i])
            np.testing.assert_array_equal(np.asarray(nt[i]), np.asarray(t[i]))
    # the sum's position: root, first or second child of a product, a quotient's numerator
    pos = [int(E.weighted_sum_position(spec, t[i])) for i in range(4)]
    assert pos[0] > 0 and pos[1] > 0 and pos[2] == 1 and pos[3] == 0
    # splicing a subtree back in gives the same expression
    at, n = pos[0], int(E.sizes(t[0])) - pos[0]
    seg_t, seg_c = E.take_segment(t[0], k[0], at, n)
    st, sc, size = E.splice(t[0], k[0], at, n, seg_t, seg_c, n)
    np.testing.assert_array_equal(np.asarray(st), np.asarray(t[0]))
    assert int(size) == int(E.sizes(t[0]))


def test_term_weights_reach_a_sum_under_a_divisor_or_a_square_root():
    """(sum) / (sum), P / sqrt(sum), sqrt(sum), P sqrt(sum): the weights of the sum's terms
    (a constant term included) come from the linear equation f S = P, f^2 S = P^2 or
    f^2 = P^2 S, exactly when the structure is right."""
    import jax.numpy as jnp
    import sympy as sp

    from research.laws import expr as E
    from research.laws.regressor import RegressionObjective

    rng = np.random.default_rng(2)
    x = rng.uniform(0.5, 2.5, (400, 3)).astype(np.float32)
    a, b, c = x.T
    spec = E.Spec(("add", "sub", "mul", "div", "sqrt", "cos"), 3, 30)
    names = ["a", "b", "c"]
    cases = [  # (candidate structure, target with other weights in the sum, kind)
        ("(a + b)/(a*b + 1)", (a + b) / (1.0 + a * b / 9.0), E.POWER_INVERSE),
        ("a/sqrt(10 - b**2)", a / np.sqrt(9.0 - b**2 / 2.0), E.POWER_INVERSE_HALF),
        (
            "sqrt(a**2 + b**2 + a*b*cos(c))",
            np.sqrt(a**2 + b**2 - 2.0 * a * b * np.cos(c)),
            E.POWER_HALF,
        ),
        ("c*sqrt(a + b)", c * np.sqrt(a + 0.25 * b), E.POWER_HALF),
        ("a*b", a * b * 2.0, E.POWER_NONE),  # no such sum: unchanged
    ]
    enc = [E.from_sympy(spec, sp.sympify(e), names) for e, _, _ in cases]
    t = jnp.asarray(np.stack([e[0] for e in enc]))
    k = jnp.asarray(np.stack([e[1] for e in enc]))
    kinds = [int(E.power_sum_position(spec, t[i])[1]) for i in range(len(cases))]
    assert kinds == [kind for _, _, kind in cases]
    obj = RegressionObjective(spec, max_terms=6)
    refine, loss = jax.jit(obj.refine), jax.jit(obj)
    for i, (expr, y, kind) in enumerate(cases):
        data = {"x": jnp.asarray(x), "y": jnp.asarray(y, jnp.float32)}
        before = float(np.asarray(loss(t, k, data))[i])
        nt, nc, changed = refine(t, k, data)
        after = float(np.asarray(loss(nt, nc, data))[i])
        if kind != E.POWER_NONE:
            assert before > 1e-4 and bool(changed[i]) and after < 1e-9, (expr, before, after)
        else:
            assert before < 1e-9 and not bool(changed[i])
            np.testing.assert_array_equal(np.asarray(nt[i]), np.asarray(t[i]))


def test_exact_rational_fits_join_the_front():
    # a sum over a sum and a radical of a ratio, noise-free: the front receives the exact
    # ratio, and the selected model is it; with noise no rational fit is offered
    import sympy as sp

    from research.laws import rational

    rng = np.random.default_rng(0)
    X = rng.uniform(1, 5, (300, 4))
    m1, m2, r1, r2 = X.T
    y = (m1 * r1 + m2 * r2) / (m1 + m2)
    names = ["m1", "m2", "r1", "r2"]
    cands = rational.rational_candidates(X, y, degree=2)
    s = sp.symbols(names)
    want = (s[0] * s[2] + s[1] * s[3]) / (s[0] + s[1])
    assert cands and sp.simplify(rational.to_sympy(cands[0], names) - want) == 0
    assert cands[0]["nmse"] < 1e-10 and cands[0]["power"] == 1
    noisy = y + rng.normal(0, 0.01, len(y))
    assert rational.rational_candidates(X, noisy, degree=2) == []
    V = np.stack([rng.uniform(1, 5, 300), rng.uniform(1, 2, 300), rng.uniform(3, 10, 300)], 1)
    m0, v, c = V.T
    radical = rational.rational_candidates(V, m0 / np.sqrt(1 - v**2 / c**2), degree=4)
    assert radical and radical[0]["power"] == 2
    est = SymbolicRegressor(**{**TINY, "generations": 1, "maxsize": 20, "rational_degree": 2})
    est.fit(X, y, names)
    assert est.equations_[est.best_index_]["loss"] < 1e-10
    assert sp.simplify(est.sympy() - want) == 0
    with pytest.raises(ValueError, match="rational_degree must be an integer >= 0"):
        SymbolicRegressor(**{**TINY, "rational_degree": -1}).fit(X, y)
    with pytest.raises(ValueError, match="rational_candidates needs X"):
        rational.rational_candidates(X, y[:-1])
