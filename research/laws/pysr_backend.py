"""`SymbolicRegressor(backend="pysr")`: PySR behind the same interface (optional extra).

PySR runs SymbolicRegression.jl through juliacall, which downloads Julia on first import when
none is installed: impossible offline, and it would hang. So `check_pysr()` looks, without
importing pysr, for the pysr and juliacall modules and for a Julia executable (on PATH,
`PYTHON_JULIACALL_EXE` / `JULIA_EXE`, or one juliapkg already installed); if any is missing it
raises `PySRUnavailable` at once with what to install. The JAX engine stays the default.

`equations_from_pysr(table, names, operators)` turns PySR's equation table or a list of sympy
expressions into the estimator's rows (prefix tokens + constants), so `predict`, `sympy()`,
`latex()`, `jax()` and `pareto_front` work the same for both backends. The table is PySR 2.x's
`equations_` DataFrame: `complexity`, `loss`, `score` (absent when `loss_scale="linear"`),
`equation` (SymbolicRegression.jl's string: `^` for powers, `square(x)`, Julia floats such as
`2.5f0` or `1.0e-5`), `sympy_format` (built with `sympify(..., evaluate=False)`, so products
and sums arrive unevaluated and integer powers may carry float exponents, `x0**2.0`),
`lambda_format` and, in 2.x, `julia_expression`. Only the first five are read.

This module depends on `expr` only; `regressor.SymbolicRegressor` calls it.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
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


def pysr_kwargs(est, seed: int | None = None) -> dict:
    """PySRRegressor (2.x) arguments equivalent to a SymbolicRegressor's settings."""
    ops = est.operators()
    islands = int(est.populations)
    return {
        "niterations": int(est.generations),
        "populations": islands,
        "population_size": -(-int(est.population_size) // islands),  # as our islands: rounded up
        "binary_operators": [PYSR_BINARY[o] for o in ops if o in PYSR_BINARY],
        "unary_operators": [PYSR_UNARY[o] for o in ops if o in PYSR_UNARY],
        "maxsize": int(est.maxsize),
        "parsimony": float(est.parsimony_coefficient),
        "tournament_selection_n": int(est.tournament_size),
        "model_selection": est.model_selection,
        "random_state": int(est.random_state if seed is None else seed),
        "deterministic": True,
        "parallelism": "serial",
        "progress": False,
    }


def run_pysr(kwargs: dict, X: np.ndarray, y: np.ndarray, names: list[str]):
    """Fit a `pysr.PySRRegressor(**kwargs)`; call `check_pysr()` first."""
    import pysr  # noqa: PLC0415  (only after the checks: importing may install Julia)

    model = pysr.PySRRegressor(**kwargs)
    model.fit(X, y, variable_names=names)
    return model


def _table_rows(table) -> list[dict]:
    """Rows of PySR's table as dicts (a pandas DataFrame, a list of dicts or of sympy)."""
    if hasattr(table, "to_dict"):
        return table.to_dict("records")
    rows = []
    for k, item in enumerate(table):
        rows.append(item if isinstance(item, dict) else {"sympy_format": item, "complexity": k})
    return rows


_JULIA_FLOAT = re.compile(r"\b(\d+\.?\d*)[fF]([+-]?\d+)\b")  # 2.5f0 (Float32 literal)


def _parse_equation(text: str, names):
    """PySR's equation string (Julia syntax: `^`, `square(x)`, `2.5f0`, ...) as sympy."""
    import sympy as sp

    text = _JULIA_FLOAT.sub(r"\1e\2", text)
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


def _normalise(expr):
    """Evaluate PySR 2.x's unevaluated sympy (`evaluate=False`), give symbols plain names
    (no assumptions) and integer-valued float exponents (x**2.0) integer ones."""
    import sympy as sp

    expr = expr.doit()
    expr = expr.xreplace({s: sp.Symbol(str(s)) for s in expr.free_symbols})
    return expr.replace(
        lambda e: e.is_Pow and e.exp.is_Float and float(e.exp) == int(e.exp),
        lambda e: e.base ** int(e.exp),
    )


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
        expr = _normalise(sp.sympify(expr))
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
