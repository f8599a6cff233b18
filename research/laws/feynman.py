"""Feynman equations (AI Feynman, Udrescu & Tegmark 2020) and SRBench's success criteria.

`data/feynman.csv` (package data) holds 46 equations of the AI Feynman database: name, output,
formula (sympy syntax) and each variable's sampling range `name:low:high` as in the
database (most U[1, 5]; relativistic v in [1, 2] with c in [3, 10]). Equations needing
arcsin, arctanh or tanh, outside the engine's operators, are left out.

Data (`make_dataset`): variables uniform in their ranges, 75/25 train/test split, noise of
standard deviation gamma * sqrt(mean(y^2)) added to the training and test targets (SRBench).

Criteria (La Cava et al. 2021, `symbolic_solution`, `accuracy_solution`): a model is a
symbolic solution when it is not constant and either the difference to the truth simplifies
to a constant or the ratio does (model constants rounded to 3 decimals first); an accuracy
solution when its test R^2 > 0.999.
"""

from __future__ import annotations

import csv
import dataclasses
import functools
from importlib import resources

import numpy as np

# SRBench (La Cava et al. 2021), symbolic solution rates at noise 0 on Feynman + Strogatz.
SRBENCH_SYMBOLIC_RATES = {
    "AI Feynman": 0.526,
    "GP-GOMEA": 0.271,
    "AFP_FE": 0.262,
    "DSR": 0.197,
    "Operon": 0.160,
    "gplearn": 0.155,
}


@dataclasses.dataclass(frozen=True)
class Equation:
    name: str
    output: str
    formula: str
    variables: tuple[tuple[str, float, float], ...]  # (name, low, high)

    @property
    def names(self) -> list[str]:
        return [v[0] for v in self.variables]

    def sympy(self):
        import sympy as sp

        local = {n: sp.Symbol(n, positive=True) for n in self.names}
        return sp.parse_expr(self.formula, local_dict=local)

    def function(self):
        """A numpy function of the variables' columns, `f(X [n, d]) -> [n]`."""
        import sympy as sp

        syms = [sp.Symbol(n, positive=True) for n in self.names]
        f = sp.lambdify(syms, self.sympy(), "numpy")
        return lambda X: np.asarray(f(*np.asarray(X, np.float64).T), np.float64) * np.ones(len(X))


@functools.cache
def load_equations() -> tuple[Equation, ...]:
    """All equations of the bundled table, in file order."""
    text = resources.files("research.laws").joinpath("data/feynman.csv").read_text()
    eqs = []
    for row in csv.DictReader(text.splitlines()):
        variables = []
        for item in row["variables"].split():
            name, lo, hi = item.split(":")
            variables.append((name, float(lo), float(hi)))
        eqs.append(Equation(row["name"], row["output"], row["formula"], tuple(variables)))
    return tuple(eqs)


def get_equation(name: str) -> Equation:
    table = {e.name: e for e in load_equations()}
    if name not in table:
        raise KeyError(f"unknown Feynman equation {name!r}; available: {', '.join(table)}")
    return table[name]


@dataclasses.dataclass
class Dataset:
    equation: Equation
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def make_dataset(
    eq: Equation, num_points: int = 10_000, noise: float = 0.0, seed: int = 0
) -> Dataset:
    """`num_points` samples of `eq`, split 75/25, noise gamma * RMS(y) (SRBench)."""
    if num_points < 8:
        raise ValueError(f"num_points must be at least 8, got {num_points}")
    if noise < 0:
        raise ValueError(f"noise must be >= 0, got {noise}")
    rng = np.random.default_rng(seed)
    lo = np.asarray([v[1] for v in eq.variables])
    hi = np.asarray([v[2] for v in eq.variables])
    X = rng.uniform(lo, hi, size=(num_points, len(lo)))
    y = eq.function()(X)
    if noise > 0:
        y = y + rng.normal(0.0, noise * np.sqrt(np.mean(y**2)), size=y.shape)
    n_train = int(round(0.75 * num_points))
    return Dataset(eq, X[:n_train], y[:n_train], X[n_train:], y[n_train:])


def round_constants(expr, digits: int = 3):
    import sympy as sp

    return expr.xreplace({n: sp.Float(round(float(n), digits)) for n in expr.atoms(sp.Float)})


def _merge_constants(e):
    """`e` with products and sums of numbers folded into single numbers (a no-op when
    expansion fails or would blow up)."""
    import sympy as sp

    try:
        expanded = sp.expand(e)
    except (TypeError, ValueError, RecursionError):
        return e
    return expanded if sp.count_ops(expanded) <= 4 * sp.count_ops(e) + 8 else e


def _simplify(e, seconds: float):
    from research.laws.regressor import simplify_safely

    return simplify_safely(e, seconds)


def symbolic_solution(model, truth, names, seconds: float = 10.0) -> bool:
    """SRBench's symbolic criterion between sympy expressions (variables matched by name).

    True when the model is not constant and model - truth or model / truth simplifies to a
    constant (after rounding the model's constants to 3 decimals), or, for expressions with
    square roots, (model / truth)^2 simplifies to a positive constant. Products and sums of
    constants are merged (sympy's `expand`) before rounding, so that 0.0825*y*(12.115*x) is
    read as 0.9995*x*y whatever method printed it.
    """
    import sympy as sp

    local = {n: sp.Symbol(n, positive=True) for n in names}
    model = sp.sympify(model).xreplace({sp.Symbol(n): local[n] for n in names})
    truth = sp.sympify(truth).xreplace({sp.Symbol(n): local[n] for n in names})
    model = round_constants(_merge_constants(model))
    if not model.free_symbols or model.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
        return False  # a constant, or an expression with a division by zero in it

    def constant(e) -> bool:
        # a finite real constant (zoo, nan or an imaginary part from log(-c) do not count)
        return not e.free_symbols and e.is_number and e.is_finite and e.is_real is not False

    for combo in (model - truth, model / truth):
        if constant(_simplify(combo, seconds)):
            return True
    # sympy does not split sqrt(a / b) into sqrt(a) / sqrt(b) when it cannot tell b > 0
    # (sqrt(c^2 m^2 / (c^2 - v^2)) against m / sqrt(1 - v^2 / c^2)); a ratio of two real
    # expressions whose square is a positive constant is that constant's root up to sign
    ratio = model / truth
    if any(p.exp.is_Rational and p.exp.q == 2 for p in ratio.atoms(sp.Pow)):
        sq = _simplify(ratio**2, seconds)
        if constant(sq) and sq.is_positive:
            return True
    return False


def r2(y, pred) -> float:
    from research.laws.regressor import r2_score

    return r2_score(y, pred)


def accuracy_solution(y_test, pred, threshold: float = 0.999) -> bool:
    return r2(y_test, pred) > threshold
