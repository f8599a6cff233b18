"""`SymbolicRegressor(backend="pysr")`: PySR behind the same interface (optional extra).

PySR runs SymbolicRegression.jl through juliacall, which downloads Julia on first import when
none is installed: impossible offline, and it would hang. So `check_pysr()` looks, without
importing pysr, for the pysr and juliacall modules and for a Julia executable (on PATH,
`PYTHON_JULIACALL_EXE` / `JULIA_EXE`, or one juliapkg already installed); if any is missing it
raises `PySRUnavailable` at once with what to install. The JAX engine stays the default.

`equations_from_pysr(table, names, operators)` turns PySR's equation table (its
`equations_` DataFrame: complexity, loss, score, equation, sympy_format) or a list of sympy
expressions into this module's rows (prefix tokens + constants), so `predict`, `sympy()`,
`latex()`, `jax()` and `pareto_front` work the same for both backends.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import sys
from pathlib import Path

import numpy as np

from research.laws import expr as E

# Our operator names -> PySR's.
PYSR_BINARY = {"add": "+", "sub": "-", "mul": "*", "div": "/", "pow": "^"}
PYSR_UNARY = {
    "sin": "sin",
    "cos": "cos",
    "exp": "exp",
    "log": "log",
    "sqrt": "sqrt",
    "square": "square",
    "cube": "cube",
    "abs": "abs",
    "neg": "neg",
}


class PySRUnavailable(RuntimeError):
    """backend='pysr' cannot run here (pysr, juliacall or Julia missing)."""


def _juliapkg_executable() -> str | None:
    """The Julia juliapkg installed for this environment, if any (read from its state file)."""
    candidates = [Path(sys.prefix) / "julia_env" / "pyjuliapkg" / "meta.json"]
    proj = os.environ.get("PYTHON_JULIAPKG_PROJECT")
    if proj:
        candidates.append(Path(proj) / "pyjuliapkg" / "meta.json")
    for meta in candidates:
        try:
            exe = json.loads(meta.read_text()).get("executable")
        except (OSError, ValueError):
            continue
        if exe and Path(exe).exists():
            return exe
    return None


def find_julia() -> str | None:
    for var in ("PYTHON_JULIACALL_EXE", "JULIA_EXE"):
        exe = os.environ.get(var)
        if exe and Path(exe).exists():
            return exe
    return shutil.which("julia") or _juliapkg_executable()


def check_pysr() -> None:
    """Raise `PySRUnavailable` (immediately, nothing downloaded) unless PySR can run."""
    missing = [m for m in ("pysr", "juliacall") if importlib.util.find_spec(m) is None]
    if missing:
        raise PySRUnavailable(
            f"backend='pysr' needs the Python packages {missing}, which are not installed: "
            "pip install -e '.[pysr]' (and a Julia installation), or use the default "
            "backend='jax'"
        )
    if find_julia() is None:
        raise PySRUnavailable(
            "backend='pysr' needs Julia, and none was found (not on PATH, no "
            "PYTHON_JULIACALL_EXE or JULIA_EXE, no juliapkg install). Importing pysr would try "
            "to download Julia, which fails or hangs without internet. Install Julia >= 1.10 "
            "and set PYTHON_JULIACALL_EXE to its executable, or use the default backend='jax'."
        )


def pysr_kwargs(est) -> dict:
    """PySRRegressor arguments equivalent to a SymbolicRegressor's."""
    ops = est.operators()
    return {
        "niterations": int(est.generations),
        "populations": int(est.populations),
        "population_size": int(est.population_size) // int(est.populations),
        "binary_operators": [PYSR_BINARY[o] for o in ops if o in PYSR_BINARY],
        "unary_operators": [PYSR_UNARY[o] for o in ops if o in PYSR_UNARY],
        "maxsize": int(est.maxsize),
        "parsimony": float(est.parsimony_coefficient),
        "tournament_selection_n": int(est.tournament_size),
        "model_selection": est.model_selection,
        "random_state": int(est.random_state),
        "deterministic": True,
        "parallelism": "serial",
        "progress": False,
    }


def fit_pysr(est, X, y, variable_names=None):
    from research.laws.regressor import check_xy

    check_pysr()
    X, y = check_xy(X, y)
    names = est._names(X.shape[1], variable_names)
    import pysr  # noqa: PLC0415  (only after the checks: importing may install Julia)

    model = pysr.PySRRegressor(**pysr_kwargs(est))
    model.fit(X, y, variable_names=names)
    est.pysr_model_ = model
    adopt_equations(est, model.equations_, names, X, y)
    return est


def _table_rows(table) -> list[dict]:
    """Rows of PySR's table as dicts (a pandas DataFrame, a list of dicts or of sympy)."""
    if hasattr(table, "to_dict"):
        return table.to_dict("records")
    rows = []
    for k, item in enumerate(table):
        rows.append(item if isinstance(item, dict) else {"sympy_format": item, "complexity": k})
    return rows


def _parse_equation(text: str, names):
    """PySR's equation string (Julia syntax: `^`, `square(x)`, ...) as sympy."""
    import sympy as sp

    local = {n: sp.Symbol(n) for n in names}
    local.update(
        {
            "square": lambda a: a**2,
            "cube": lambda a: a**3,
            "neg": lambda a: -a,
            "inv": lambda a: 1 / a,
        }
    )
    return sp.sympify(text.replace("^", "**"), locals=local)


def equations_from_pysr(table, names, operators=E.DEFAULT_OPS, max_len: int = 64):
    """PySR's Pareto table -> (spec, rows) in this module's format.

    Each row: complexity (PySR's), loss, score, equation (our prefix string), tokens,
    consts and scale (0, 1). Raises ValueError naming the row an operator is missing for.
    """
    import sympy as sp

    ops = list(E.resolve_operators(operators))
    for extra in ("neg", "div", "sub"):  # PySR's sympy uses -x and x**-1 freely
        if extra not in ops:
            ops.append(extra)
    spec = E.Spec(tuple(ops), len(names), max_len)
    rows = []
    for k, r in enumerate(_table_rows(table)):
        expr = r.get("sympy_format")
        if expr is None:
            expr = _parse_equation(str(r["equation"]), names)
        expr = sp.sympify(expr).xreplace(
            {s: sp.Symbol(str(s)) for s in sp.sympify(expr).free_symbols}
        )
        try:
            tokens, consts = E.from_sympy(spec, expr, list(names))
        except ValueError as err:
            raise ValueError(f"PySR equation {k} ({expr}): {err}") from err
        rows.append(
            {
                "complexity": int(r.get("complexity", k)),
                "loss": float(r.get("loss", np.nan)),
                "score": float(r.get("score", 0.0)),
                "equation": E.to_string(spec, tokens, consts, list(names)),
                "tokens": tokens,
                "consts": consts,
                "scale": (0.0, 1.0),
            }
        )
    return spec, rows


def adopt_equations(est, table, names, X, y) -> None:
    """Make `est` a fitted estimator whose Pareto front is PySR's table (translated)."""
    from research.laws import genetic as G
    from research.laws.regressor import select_model

    spec, rows = equations_from_pysr(table, names, est.operators(), max_len=max(64, est.maxsize))
    est.params_ = G.SearchParams(spec=spec, max_size=spec.max_len, init_max_size=1)
    est.state_ = None
    est.variable_names_ = list(names)
    est.n_features_in_ = len(names)
    X = np.asarray(X, np.float64)
    y = np.asarray(y, np.float64)
    var_y = max(float(np.var(y)), 1e-300)
    for r in rows:  # re-score on the data, as our own front is
        pred = est._raw_outputs(r["tokens"], r["consts"], X)
        r["loss"] = float(np.mean((y - pred) ** 2) / var_y)
    est.equations_ = rows
    est.best_index_ = select_model(rows, est.model_selection)
