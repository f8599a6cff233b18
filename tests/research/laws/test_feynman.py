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


def _stored(name, model, symbolic, gplearn_program=None):
    r = {"equation": name, "formula": "-", "ours_seconds": 2.0, "ours_model": model}
    r.update(ours_r2=0.5, ours_accuracy=False, ours_symbolic=symbolic)
    if gplearn_program:
        r.update(gplearn_seconds=2.0, gplearn_generations=3, gplearn_r2=0.1)
        r.update(gplearn_accuracy=False, gplearn_symbolic=True)
        r.update(gplearn_program=gplearn_program, gplearn_model="-")
    return r


def test_feynman_reuses_stored_methods_rescores_them_and_resumes(tmp_path):
    """Methods stored by earlier runs (`benchmark.results_from`) are taken, not run, and
    re-scored with the current criterion; every equation is saved as it finishes, and a run
    in the same workdir with the same setup resumes from it."""
    import json

    from frontier.config import ConfigError, load_config
    from research.laws.reproduce import (
        reproduce_feynman,
        stored_feynman_results,
    )

    a = tmp_path / "a.json"
    a.write_text(
        json.dumps(
            [
                # stored as not solved: the current criterion says it is (a 3-decimal match)
                _stored("I.6.2a", "0.398942*exp(-0.5*theta**2)", False, "mul(X0, X0)"),
                _stored("I.6.2", "theta + sigma", True, "add(X0, X1)"),
            ]
        )
    )
    b = tmp_path / "b.json"  # a second file fills in only what the first lacks
    b.write_text(json.dumps([_stored("I.6.2a", "theta", True)]))
    work = tmp_path / "w"
    work.mkdir()
    sets = ["benchmark.operon=False", f"benchmark.results_from=['{a}', '{b}']"]
    rates, times = reproduce_feynman(work, smoke=True, overrides=sets)
    ours_sym = next(r for r in rates.rows if r.method.startswith("ours"))
    assert ours_sym.values == [1.0, 0.0]  # re-scored both ways
    gp_sym = next(r for r in rates.rows if r.method == "gplearn")
    assert gp_sym.values == [0.0, 0.0]  # theta^2 and theta + sigma are not the truth
    assert any(f"Taken from {a}" in n and "ours on 2, gplearn on 2" in n for n in rates.notes)
    assert any(f"Taken from {b}" in n and "nothing" in n for n in rates.notes)
    saved = json.loads((work / "feynman_results.json").read_text())
    assert [r["equation"] for r in saved] == ["I.6.2a", "I.6.2"]
    assert saved[0]["ours_model"] == "0.398942*exp(-0.5*theta**2)" and saved[0]["setup"]

    # the same setup in the same workdir resumes (nothing to run: gplearn off, ours saved)
    config = load_config("configs/laws/feynman.py:smoke", ["benchmark.gplearn=False"])
    stored, notes = stored_feynman_results(work, config)
    assert set(stored) == {"I.6.2a", "I.6.2"} and not notes
    off = ["benchmark.gplearn=False", "benchmark.operon=False"]
    rates, _ = reproduce_feynman(work, smoke=True, overrides=off)
    assert not [r for r in rates.rows if r.method == "gplearn"]
    other = load_config("configs/laws/feynman.py:smoke", ["seed=7"])
    assert stored_feynman_results(work, other)[0] == {}  # another setup: not resumed

    config = load_config("configs/laws/feynman.py:smoke")
    (tmp_path / "b.json.txt").write_text("ours: solved")
    with pytest.raises(ConfigError, match="expected list"):
        load_config("configs/laws/feynman.py:smoke", [f"benchmark.results_from={a}"])
    for value, match in [
        ([str(tmp_path / "missing.json")], "does not exist"),
        ([str(b) + ".txt"], "not valid JSON"),
    ]:
        config.benchmark.results_from = value
        with pytest.raises(ConfigError, match=match):
            stored_feynman_results(tmp_path, config)
    (tmp_path / "bad.json").write_text(json.dumps([{"equation": "I.6.2"}]))
    config.benchmark.results_from = [str(tmp_path / "bad.json")]
    with pytest.raises(ConfigError, match="not a laws/feynman feynman_results.json"):
        stored_feynman_results(tmp_path, config)
