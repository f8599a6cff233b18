"""The bundled Feynman table, its data sets and SRBench's success criteria."""

import tomllib
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

from research.laws.baselines import gplearn_available, program_to_sympy
from research.laws.feynman import (
    accuracy_solution,
    get_equation,
    load_equations,
    make_dataset,
    symbolic_solution,
)

ROOT = Path(__file__).resolve().parents[3]


def test_table_has_30_or_more_equations_that_parse_and_sample():
    eqs = load_equations()
    assert len(eqs) >= 30
    assert len({e.name for e in eqs}) == len(eqs)
    for eq in eqs:
        expr = eq.sympy()
        assert {str(s) for s in expr.free_symbols} == set(eq.names), eq.name
        ds = make_dataset(eq, 40, seed=1)
        assert ds.x_train.shape == (30, len(eq.names)) and ds.x_test.shape == (10, len(eq.names))
        assert np.all(np.isfinite(ds.y_train)) and np.all(np.isfinite(ds.y_test)), eq.name
        lo = np.asarray([v[1] for v in eq.variables])
        hi = np.asarray([v[2] for v in eq.variables])
        assert np.all(ds.x_train >= lo) and np.all(ds.x_train <= hi)


def test_the_data_file_is_package_data():
    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "data/*.csv" in cfg["tool"]["setuptools"]["package-data"]["research.laws"]
    assert (ROOT / "research" / "laws" / "data" / "feynman.csv").exists()


def test_values_and_noise_level():
    eq = get_equation("I.12.2")
    ds = make_dataset(eq, 4000, seed=0)
    q1, q2, eps, r = ds.x_train.T
    np.testing.assert_allclose(ds.y_train, q1 * q2 / (4 * np.pi * eps * r**2), rtol=1e-12)
    noisy = make_dataset(eq, 4000, noise=0.1, seed=0)
    resid = noisy.y_train - ds.y_train
    assert np.std(resid) == pytest.approx(0.1 * np.sqrt(np.mean(ds.y_train**2)), rel=0.08)
    with pytest.raises(ValueError, match="noise must be >= 0"):
        make_dataset(eq, 100, noise=-1)
    with pytest.raises(KeyError, match="unknown Feynman equation 'I.99'.*I.12.2"):
        get_equation("I.99")


def test_srbench_symbolic_criterion():
    eq = get_equation("I.12.2")
    q1, q2, eps, r = sp.symbols("q1 q2 epsilon r")
    truth = eq.sympy()
    assert symbolic_solution(0.0796 * q1 * q2 / (eps * r**2), truth, eq.names)  # ratio
    assert symbolic_solution(q1 * q2 / (4 * sp.pi * eps * r**2) + 2.5, truth, eq.names)  # diff
    assert not symbolic_solution(q1 * q2 / (eps * r), truth, eq.names)
    assert not symbolic_solution(sp.Float(0.3), truth, eq.names)  # a constant model never counts
    assert not symbolic_solution(q1 * q2 / (eps * r**2) + sp.zoo * (q1 - q2), truth, eq.names)
    # constants split over a product are merged before rounding (Operon prints models so)
    x1, x2, y1, y2 = sp.symbols("x1 x2 y1 y2")
    names = ["x1", "x2", "y1", "y2"]
    split = 0.0825 * y1 * (12.1212121 * x1) + x2 * y2
    assert symbolic_solution(split, x1 * y1 + x2 * y2, names)
    assert not symbolic_solution(0.0825 * y1 * (11.0 * x1) + x2 * y2, x1 * y1 + x2 * y2, names)
    # a radical of a ratio that sympy does not split: equal up to its square
    m0, v, c = sp.symbols("m_0 v c")
    relativistic = m0 / sp.sqrt(1 - v**2 / c**2)
    found = sp.sqrt(c**2 * m0**2 / (c**2 - 1.0 * v**2))
    assert symbolic_solution(found, relativistic, ["m_0", "v", "c"])
    assert not symbolic_solution(
        sp.sqrt(c**2 * m0**2 / (c**2 - 2.0 * v**2)), relativistic, ["m_0", "v", "c"]
    )
    assert accuracy_solution(np.arange(10.0), np.arange(10.0) + 1e-4)
    assert not accuracy_solution(np.arange(10.0), np.arange(10.0)[::-1])


def test_gplearn_programs_become_sympy():
    e = program_to_sympy("add(mul(X0, X1), div(0.5, inv(X1)))", ["m", "v"])
    m, v = sp.symbols("m v")
    assert sp.simplify(e - (m * v + 0.5 * v)) == 0


@pytest.mark.skipif(not gplearn_available(), reason="gplearn (bench extra) not installed")
def test_gplearn_baseline_runs():
    from research.laws.baselines import fit_gplearn

    ds = make_dataset(get_equation("I.12.1"), 200, seed=0)
    g = fit_gplearn(ds.x_train, ds.y_train, population_size=200, generations=5)
    assert g.predict(ds.x_test).shape == (50,)
    assert program_to_sympy(str(g._program), ["mu", "Nn"]).free_symbols


def test_benchmark_runs_named_equations_or_the_first_n():
    from frontier.config import ConfigError, load_config
    from research.laws.reproduce import benchmark_equations

    spec = "configs/laws/feynman.py"
    names = [e.name for e in benchmark_equations(load_config(spec))]
    assert names == [e.name for e in load_equations()[:30]]
    picked = load_config(spec, ["benchmark.equations=['I.18.4', 'I.10.7']"])
    assert [e.name for e in benchmark_equations(picked)] == ["I.18.4", "I.10.7"]
    bad = load_config(spec, ["benchmark.equations=['I.18.4', 'I.99.9']"])
    with pytest.raises(ConfigError, match=r"unknown equation\(s\) I\.99\.9"):
        benchmark_equations(bad)
