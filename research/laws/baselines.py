"""gplearn as a baseline on the same data and budget (optional: the `bench` extra).

`gplearn_available()` says whether it is installed; `fit_gplearn` runs its
`SymbolicRegressor` and returns the fitted model with its program as a sympy expression.
"""

from __future__ import annotations

import importlib.util

# gplearn's default function set without the ones our engine lacks (max, min, tan).
GPLEARN_FUNCTIONS = ("add", "sub", "mul", "div", "sqrt", "log", "sin", "cos", "neg", "inv")


def gplearn_available() -> bool:
    return importlib.util.find_spec("gplearn") is not None


def program_to_sympy(program: str, names):
    """gplearn's program string (`add(mul(X0, X1), 0.5)`) as sympy, `X<i>` named `names[i]`.

    gplearn's protected sqrt and log act on |x|, so they become sqrt(Abs(x)) and log(Abs(x))
    (which sympy simplifies away for positive arguments).
    """
    import sympy as sp

    syms = {f"X{i}": sp.Symbol(n) for i, n in enumerate(names)}
    funcs = {
        "add": lambda a, b: a + b,
        "sub": lambda a, b: a - b,
        "mul": lambda a, b: a * b,
        "div": lambda a, b: a / b,
        "sqrt": lambda a: sp.sqrt(sp.Abs(a)),
        "log": lambda a: sp.log(sp.Abs(a)),
        "sin": sp.sin,
        "cos": sp.cos,
        "tan": sp.tan,
        "neg": lambda a: -a,
        "inv": lambda a: 1 / a,
        "abs": sp.Abs,
        "max": sp.Max,
        "min": sp.Min,
    }
    return sp.sympify(program, locals={**syms, **funcs})


def fit_gplearn(
    X,
    y,
    *,
    population_size: int,
    generations: int,
    tournament_size: int = 20,
    parsimony_coefficient: float = 0.001,
    function_set=GPLEARN_FUNCTIONS,
    random_state: int = 0,
):
    """A fitted `gplearn.genetic.SymbolicRegressor` (one process, defaults otherwise)."""
    if not gplearn_available():
        raise ImportError(
            "gplearn is not installed; install the bench extra: pip install -e '.[bench]'"
        )
    from gplearn.genetic import SymbolicRegressor as GPLearnRegressor

    model = GPLearnRegressor(
        population_size=population_size,
        generations=generations,
        tournament_size=tournament_size,
        function_set=function_set,
        parsimony_coefficient=parsimony_coefficient,
        random_state=random_state,
        n_jobs=1,
    )
    model.fit(X, y)
    return model
