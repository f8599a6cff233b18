"""gplearn and Operon as baselines on the same data and budget (optional: the `bench` extra).

`gplearn_available()` says whether it is installed; `fit_gplearn` runs its
`SymbolicRegressor` and returns the fitted model with its program as a sympy expression.
`operon_available()` / `fit_operon` do the same for Operon (pyoperon, C++) under a wall-time
limit, and `operon_to_sympy` translates Operon's infix model string.
"""

from __future__ import annotations

import importlib.util
import time

# gplearn's default function set without the ones our engine lacks (max, min, tan).
GPLEARN_FUNCTIONS = ("add", "sub", "mul", "div", "sqrt", "log", "sin", "cos", "neg", "inv")


# Operon's symbols closest to our Feynman operator set (configs.FEYNMAN_OPERATORS).
OPERON_SYMBOLS = ("add", "sub", "mul", "div", "sin", "cos", "exp", "log", "sqrt", "square")


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
    time_limit: float | None = None,
):
    """A fitted `gplearn.genetic.SymbolicRegressor` (one process, defaults otherwise).

    With `time_limit` (seconds), evolution continues one generation at a time (gplearn's
    `warm_start`) until that much wall time is used, with `generations` as the cap; at least
    one generation always runs.
    """
    if not gplearn_available():
        raise ImportError(
            "gplearn is not installed; install the bench extra: pip install -e '.[bench]'"
        )
    from gplearn.genetic import SymbolicRegressor as GPLearnRegressor

    model = GPLearnRegressor(
        population_size=population_size,
        generations=generations if time_limit is None else 1,
        tournament_size=tournament_size,
        function_set=function_set,
        parsimony_coefficient=parsimony_coefficient,
        random_state=random_state,
        n_jobs=1,
        warm_start=time_limit is not None,
    )
    started = time.perf_counter()
    model.fit(X, y)
    if time_limit is not None:
        while model.generations < generations and time.perf_counter() - started < time_limit:
            model.set_params(generations=model.generations + 1)
            model.fit(X, y)
    return model


def operon_available() -> bool:
    return importlib.util.find_spec("pyoperon") is not None


def operon_to_sympy(model_string: str, names):
    """Operon's infix model string as sympy, its variable `X<i>` (1-based: X1 is column 0)
    named `names[i - 1]`.

    pyoperon's `get_model_string` prints a weighted variable as `(w * X1)`, powers and
    `square` as `^` (sympy reads `^` as `**`), and non-finite constants as `nan`/`inf`.
    Operon's log and sqrt are not protected, so they stay plain sympy functions. The default
    names are parsed (never the user's: a name such as `lambda` would not parse).
    """
    import sympy as sp

    local = {f"X{i + 1}": sp.Symbol(n) for i, n in enumerate(names)}
    local.update(nan=sp.nan, inf=sp.oo)
    return sp.sympify(model_string, locals=local, convert_xor=True)


def fit_operon(
    X,
    y,
    names,
    *,
    time_limit: int = 60,
    population_size: int = 1000,
    max_length: int = 30,
    optimizer_iterations: int = 10,
    allowed_symbols=OPERON_SYMBOLS,
    n_threads: int = 1,
    random_state: int = 0,
    return_model: bool = False,
):
    """Operon's `SymbolicRegressor` (pyoperon.sklearn) fitted for `time_limit` seconds of
    wall time (pyoperon's `max_time`; generation and evaluation caps are lifted so that the
    time is the budget). Returns its model as a sympy expression over `names`, or
    `(expression, fitted regressor)` with `return_model=True`.

    Defaults otherwise, except the length limit (ours: maxsize) and a few Levenberg-Marquardt
    steps on the constants of each child (`optimizer_iterations`; pyoperon's default is 0).
    Operon fits with linear scaling (a scale and an offset, included in the model).
    """
    if not operon_available():
        raise ImportError(
            "pyoperon is not installed; install the bench extra: pip install -e '.[bench]'"
        )
    import numpy as np
    from pyoperon.sklearn import SymbolicRegressor as OperonRegressor

    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != len(names):
        raise ValueError(f"X has shape {X.shape}, expected (rows, {len(names)}) for {names}")
    model = OperonRegressor(
        allowed_symbols=",".join([*allowed_symbols, "constant", "variable"]),
        population_size=population_size,
        max_length=max_length,
        optimizer_iterations=optimizer_iterations,
        generations=10**9,
        max_evaluations=10**15,
        max_time=max(1, int(round(time_limit))),
        n_threads=n_threads,
        random_state=random_state,
    )
    model.fit(X, np.asarray(y, dtype=np.float64))
    expr = operon_to_sympy(model.get_model_string(model.model_, 12), names)
    return (expr, model) if return_model else expr
