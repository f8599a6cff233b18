"""The PySR backend: fails fast offline, and its equation table translates without Julia."""

import importlib.util
import time

import numpy as np
import pytest
import sympy as sp

from research.laws import SymbolicRegressor
from research.laws import pysr_backend as P

x0, x1 = sp.symbols("x0 x1")


def _data():
    X = np.random.default_rng(0).uniform(1, 3, size=(50, 2))
    return X, 2.5 * X[:, 0] ** 2 / X[:, 1]


def test_missing_packages_fail_fast(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda n, *a: None if n in ("pysr", "juliacall") else real(n)
    )
    X, y = _data()
    t = time.perf_counter()
    with pytest.raises(P.PySRUnavailable, match="pip install -e '.\\[pysr\\]'.*backend='jax'"):
        SymbolicRegressor(backend="pysr").fit(X, y)
    assert time.perf_counter() - t < 2.0


def test_missing_julia_fails_fast_without_importing_pysr(monkeypatch):
    import sys

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda n, *a: object() if n in ("pysr", "juliacall") else real(n),
    )
    monkeypatch.setattr(P, "find_julia", lambda: None)
    with pytest.raises(P.PySRUnavailable, match="needs Julia.*PYTHON_JULIACALL_EXE"):
        P.check_pysr()
    assert "pysr" not in sys.modules


def test_find_julia_reads_the_environment(monkeypatch, tmp_path):
    exe = tmp_path / "julia"
    exe.write_text("")
    monkeypatch.setenv("PYTHON_JULIACALL_EXE", str(exe))
    assert P.find_julia() == str(exe)


def _check_adopted(est, X, y):
    assert [r["complexity"] for r in est.equations_] == [1, 3, 5]
    assert est.equations_[2]["equation"] == "div(mul(2.5, square(x0)), x1)"
    assert sp.simplify(est.sympy() - 2.5 * x0**2 / x1) == 0  # "best": simplest exact
    np.testing.assert_allclose(est.predict(X), y, rtol=1e-5)
    np.testing.assert_allclose(np.asarray(est.jax()(X)), y, rtol=1e-5)
    assert est.equations_[0]["loss"] > 0.5 and est.equations_[2]["loss"] < 1e-10
    assert "x_{0}" in est.latex()


def test_equation_table_from_sympy_list_and_strings():
    X, y = _data()
    table = [
        {"complexity": 1, "loss": 1.0, "score": 0.0, "equation": "x0"},
        {"complexity": 3, "loss": 0.5, "score": 0.3, "equation": "(x0 * 2.1)"},
        {"complexity": 5, "loss": 0.0, "score": 9.0, "equation": "((2.5 * square(x0)) / x1)"},
    ]
    est = SymbolicRegressor(backend="pysr")
    est._adopt_pysr(table, ["x0", "x1"], X, y)
    _check_adopted(est, X, y)
    spec, rows = P.equations_from_pysr([x0 - x1, sp.exp(x0) * x1**-2], ["x0", "x1"])
    assert "neg" in spec.ops or "sub" in spec.ops
    assert rows[1]["equation"] == "div(exp(x0), square(x1))"


def test_equation_table_from_a_dataframe():
    pd = pytest.importorskip("pandas")
    X, y = _data()
    df = pd.DataFrame(
        {
            "complexity": [1, 3, 5],
            "loss": [1.0, 0.5, 0.0],
            "score": [0.0, 0.3, 9.0],
            "equation": ["x0", "(x0 * 2.1)", "((2.5 * square(x0)) / x1)"],
            "sympy_format": [x0, 2.1 * x0, 2.5 * x0**2 / x1],
        }
    )
    est = SymbolicRegressor(backend="pysr")
    est._adopt_pysr(df, ["x0", "x1"], X, y)
    _check_adopted(est, X, y)


def test_untranslatable_equation_names_the_row():
    with pytest.raises(ValueError, match="PySR equation 0 .*cannot encode tanh"):
        P.equations_from_pysr([sp.tanh(x0)], ["x0", "x1"])


def test_parameters_map_to_pysr_names():
    est = SymbolicRegressor(
        population_size=120, populations=3, generations=7, binary_operators=("+", "*", "/"),
        unary_operators=("square", "cos"), maxsize=17,
    )  # fmt: skip
    kw = P.pysr_kwargs(est)
    assert kw["niterations"] == 7 and kw["populations"] == 3 and kw["population_size"] == 40
    assert kw["binary_operators"] == ["+", "*", "/"]
    assert kw["unary_operators"] == ["square", "cos"] and kw["maxsize"] == 17


def _pysr2_sympy(text: str):
    """What PySR 2.x puts in `sympy_format`: sympify with its operator names, evaluate=False."""
    local = {"x0": x0, "x1": x1, "square": lambda a: a**2, "inv": lambda a: 1 / a}
    return sp.sympify(text.replace("f0", "e0"), locals=local, evaluate=False)


def test_equation_table_as_pysr_2_writes_it():
    """PySR 2.x's `equations_`: Julia strings (`^`, `2.5f0`), unevaluated sympy with float
    exponents, extra columns we ignore, and no `score` column under loss_scale='linear'."""
    pd = pytest.importorskip("pandas")
    X, y = _data()
    equations = ["x0", "(x0 * 2.1f0)", "((2.5f0 * (x0 ^ 2.0f0)) * inv(x1))"]
    df = pd.DataFrame(
        {
            "complexity": [1, 3, 7],
            "loss": [1.0, 0.5, 0.0],
            "equation": equations,
            "sympy_format": [_pysr2_sympy(e) for e in equations],
            "lambda_format": [lambda X: X[:, 0]] * 3,
            "julia_expression": [object()] * 3,
        }
    )
    assert sp.Float(2.0) in df["sympy_format"][2].atoms(sp.Float)  # x0**2.0, unevaluated
    est = SymbolicRegressor(backend="pysr")
    est._adopt_pysr(df, ["x0", "x1"], X, y)
    assert est.equations_[2]["equation"] == "div(mul(2.5, square(x0)), x1)"
    assert [r["score"] for r in est.equations_] == [0.0, 0.0, 0.0]
    np.testing.assert_allclose(est.predict(X), y, rtol=1e-5)
    # the strings alone (no sympy_format column) give the same rows
    spec, rows = P.equations_from_pysr(df.drop(columns=["sympy_format"]), ["x0", "x1"])
    assert [r["equation"] for r in rows] == [r["equation"] for r in est.equations_]


def test_uneven_population_maps_to_rounded_up_pysr_islands():
    kw = P.pysr_kwargs(SymbolicRegressor(population_size=50, populations=4, random_state=None), 7)
    assert kw["population_size"] == 13 and kw["populations"] == 4 and kw["random_state"] == 7
