"""Operon (pyoperon) as a baseline: model-string translation and a tiny fit (bench/dev extra)."""

import numpy as np
import pytest
import sympy as sp

from research.laws.baselines import operon_to_sympy


def test_model_string_translation_names_constants_and_powers():
    # No pyoperon needed: the string is in the form get_model_string prints.
    names = ["lambda", "m", "q", "a", "b", "c", "d", "e", "f", "r"]
    s = (
        "((-0.000021238620) + (1.500000000000 * (((2.000000000000 * X1) * "
        "((-0.250000000000) * X10)) + (sqrt((1.000000000000 * X2)) ^ 2))))"
    )
    expr = operon_to_sympy(s, names)
    lam, m, r = sp.symbols("lambda m r")
    assert expr.free_symbols == {lam, m, r}
    assert sp.simplify(expr - (-0.75 * lam * r + 1.5 * m - 0.000021238620)) == 0
    assert operon_to_sympy("(nan + (1.0 * X1))", ["x"]).has(sp.nan)
    assert operon_to_sympy("exp(((-1e-3) * X2)) - log(X1)", ["u", "v"]) == sp.exp(
        -0.001 * sp.Symbol("v")
    ) - sp.log(sp.Symbol("u"))


def test_operon_fits_a_product_and_its_sympy_model_evaluates_to_y():
    pytest.importorskip("pyoperon")
    from research.laws.baselines import fit_operon

    rng = np.random.default_rng(0)
    X = rng.uniform(1, 5, size=(200, 2))
    y = X[:, 0] * X[:, 1]
    names = ["x0", "x1"]
    expr, model = fit_operon(X, y, names, time_limit=3, population_size=200, return_model=True)
    f = sp.lambdify(sp.symbols(names), expr, "numpy")
    pred = np.broadcast_to(f(X[:, 0], X[:, 1]), y.shape)
    assert np.max(np.abs(pred - y)) < 1e-2 * np.max(np.abs(y)), expr
    # the sympy model is the regressor's own model (float32 in Operon)
    assert np.allclose(pred, model.predict(X), rtol=1e-4, atol=1e-3)
    assert {str(s) for s in expr.free_symbols} == set(names)


def test_fit_operon_checks_the_names():
    pytest.importorskip("pyoperon")
    from research.laws.baselines import fit_operon

    with pytest.raises(ValueError, match="expected"):
        fit_operon(np.ones((10, 2)), np.ones(10), ["a"], time_limit=1)


def _fake_result(name, operon):
    r = {"equation": name, "formula": "x*y", "ours_seconds": 1.0, "ours_r2": 1.0}
    r.update(ours_symbolic=True, ours_accuracy=True)
    if operon:
        r.update(operon_seconds=2.0, operon_r2=0.5, operon_symbolic=False, operon_accuracy=False)
    return r


def test_feynman_tables_have_an_operon_column_or_say_it_is_missing():
    from frontier.config import configs_root, load_config
    from research.laws.reproduce import feynman_tables

    config = load_config(str(configs_root() / "laws" / "feynman.py") + ":smoke")
    results = [_fake_result("I.12.1", True), _fake_result("I.12.2", True)]
    rates, times = feynman_tables(results, config, 10.0, False, True)
    operon = [r for r in rates.rows if r.method.startswith("Operon")]
    assert len(operon) == 2 and operon[0].values == [0.0, 0.0]
    assert "Operon S=n" in times.rows[0].note
    rates, _ = feynman_tables([_fake_result("I.12.1", False)], config, 1.0, False, False)
    assert not [r for r in rates.rows if r.method.startswith("Operon")]
    assert any("Operon (pyoperon) is NOT installed" in n for n in rates.notes)


def test_reproduce_set_overrides_reach_only_reproductions_that_take_them(tmp_path, capsys):
    import inspect

    from frontier import cli, registry

    for name in ("laws/feynman", "laws/conservation"):
        fn = registry.get_reproduction(name).obj
        assert "overrides" in inspect.signature(fn).parameters
    argv = ["reproduce", "classic/digits", "--set", "train.steps=1", "--workdir", str(tmp_path)]
    assert cli.main(argv) == 2
    assert "takes no --set overrides" in capsys.readouterr().err
