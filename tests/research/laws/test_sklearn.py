"""`SymbolicRegressor` as a scikit-learn estimator: check_estimator, composition, bad input.

Every fit here uses one tiny budget with `max_vars=10` and `max_rows=32`, so the whole file
compiles the search once (rows are padded to 32, columns to 10).
"""

import ast
import subprocess
import sys
from pathlib import Path

import jax
import numpy as np
import pytest
import scipy.sparse
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import check_estimator

from research.laws import SymbolicRegressor
from research.laws import genetic as G
from research.laws.regressor import RegressionObjective

# 15 = 2 islands of 8 (rounded up): the checks run on an uneven population.
BUDGET = dict(
    population_size=15,
    populations=2,
    generations=3,
    tournament_size=3,
    binary_operators=("+", "*"),
    unary_operators=(),
    maxsize=5,
    init_max_size=3,
    optimize_top=0,
    optimizer_iterations=0,
    migrants=1,
    max_rows=32,
    max_vars=10,
    rational_degree=0,
)
LAWS = Path(__file__).parents[3] / "research" / "laws"


def _data(n=40, d=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(1, 3, size=(n, d))
    return X, 2.0 * X[:, 0] * X[:, 1] + 1.0


@pytest.fixture(scope="module")
def fitted():
    X, y = _data()
    return SymbolicRegressor(**BUDGET).fit(X, y), X, y


def test_passes_check_estimator():
    results = check_estimator(SymbolicRegressor(**BUDGET), on_skip=None, on_fail=None)
    failed = {
        r["check_name"]: str(r["exception"])[:300] for r in results if r["status"] == "failed"
    }
    assert not failed, failed
    assert sum(r["status"] == "passed" for r in results) >= 45


def test_uneven_population_is_rounded_up_to_equal_islands(fitted):
    model, _, _ = fitted
    assert model.params_.islands == 2 and model.params_.island_size == 8
    assert model.population_size_ == 16 and model.state_["tokens"].shape[:2] == (2, 8)
    p = SymbolicRegressor(population_size=50, populations=4).search_params(3)
    assert (p.islands, p.island_size, p.tournament_size) == (4, 13, 10)
    small = SymbolicRegressor(population_size=6, populations=4, migrants=5).search_params(3)
    assert (small.island_size, small.tournament_size, small.migrants) == (2, 2, 1)


def test_padded_rows_score_as_the_real_rows():
    """70 rows padded to 128 (weight 0) give the losses of the 70 rows alone."""
    X, y = _data(70)
    est = SymbolicRegressor(**{**BUDGET, "max_rows": 1000})
    params = est.search_params(3)
    padded = est.search_data(X, y, 10, 0)
    plain = est.set_params(max_rows=70).search_data(X, y, 10, 0)
    assert padded["x"].shape == (128, 10) and float(padded["weight"].sum()) == 70
    assert "weight" not in plain and plain["x"].shape == (70, 10)
    tokens, consts = G.random_trees(params, jax.random.key(0), 32, 3)
    for scaling in (True, False):
        objective = jax.jit(RegressionObjective(params.spec, scaling))
        np.testing.assert_allclose(
            objective(tokens, consts, padded),
            objective(tokens, consts, plain),
            rtol=2e-5,
            atol=1e-6,
        )


def test_params_round_trip_and_clone(fitted):
    model, X, y = fitted
    est = SymbolicRegressor(**BUDGET)
    assert est.get_params()["population_size"] == 15
    est.set_params(generations=5, model_selection="accuracy")
    assert est.generations == 5 and est.model_selection == "accuracy"
    copy = clone(model)
    assert copy.get_params() == model.get_params() and not hasattr(copy, "equations_")
    np.testing.assert_array_equal(copy.fit(X, y).predict(X), model.predict(X))


def test_pipeline_grid_search_and_cross_validation():
    X, y = _data(60)
    pipe = make_pipeline(StandardScaler(), SymbolicRegressor(**BUDGET))
    assert pipe.fit(X, y).score(X, y) > 0.9
    # model_selection is not a search setting, so the grid reuses the compiled search
    grid = GridSearchCV(
        SymbolicRegressor(**BUDGET), {"model_selection": ["best", "accuracy"]}, cv=2
    ).fit(X, y)
    assert grid.best_params_["model_selection"] in ("best", "accuracy")
    assert grid.best_estimator_.score(X, y) > 0.9
    scores = cross_val_score(SymbolicRegressor(**BUDGET), X, y, cv=3)  # folds of 40 rows
    assert scores.shape == (3,) and np.all(scores > 0.9)


def test_dataframe_column_names_become_variable_names():
    pd = pytest.importorskip("pandas")
    X, y = _data()
    df = pd.DataFrame(X, columns=["m", "v", "h"])
    model = SymbolicRegressor(**BUDGET).fit(df, y)
    assert model.variable_names_ == ["m", "v", "h"]
    assert list(model.feature_names_in_) == ["m", "v", "h"]
    with pytest.warns(UserWarning, match="X does not have valid feature names"):
        plain = model.predict(X)  # scikit-learn's convention: a warning, the same numbers
    np.testing.assert_allclose(model.predict(df), plain)


# ------------------------------------------------------------------------------ bad input

X3, Y3 = _data(10)


@pytest.mark.parametrize(
    "X, y, error, match",
    [
        (np.where(np.eye(10, 3) > 0, np.nan, X3), Y3, ValueError, "Input X contains NaN"),
        (np.where(np.eye(10, 3) > 0, np.inf, X3), Y3, ValueError, "Input X contains infinity"),
        (X3, np.where(np.arange(10) == 2, np.nan, Y3), ValueError, "Input y contains NaN"),
        (X3[:, 0], Y3, ValueError, "Expected 2D array, got 1D array"),
        (X3[None], Y3, ValueError, "Found array with dim 3"),
        (X3, np.c_[Y3, Y3], ValueError, "y should be a 1d array, got an array of shape"),
        (X3[:9], Y3, ValueError, "inconsistent numbers of samples: \\[9, 10\\]"),
        (X3.astype(str).astype(object) + "m", Y3, ValueError, "could not convert string"),
        (X3, np.array(["a"] * 10, dtype=object), ValueError, "could not convert string"),
        (np.empty((0, 3)), np.empty(0), ValueError, "0 sample\\(s\\)"),
        (np.empty((10, 0)), Y3, ValueError, "0 feature\\(s\\)"),
        (X3 + 1j, Y3, ValueError, "Complex data not supported"),
        (X3[:2], Y3[:2], ValueError, "2 sample\\(s\\).*minimum of 3 is required"),
        (scipy.sparse.csr_matrix(X3), Y3, TypeError, "Sparse data was passed"),
        (X3, None, ValueError, "requires y to be passed"),
    ],
    ids=[
        "nan",
        "inf",
        "nan-y",
        "1d-X",
        "3d-X",
        "2-column-y",
        "row-mismatch",
        "strings",
        "string-y",
        "no-rows",
        "no-columns",
        "complex",
        "too-few-rows",
        "sparse",
        "no-y",
    ],
)
def test_bad_data_gets_scikit_learns_error(X, y, error, match):
    with pytest.raises(error, match=match):
        SymbolicRegressor(**BUDGET).fit(X, y)


def test_variable_names_must_match_the_columns():
    with pytest.raises(ValueError, match="variable_names has 2 names but X has 3 features"):
        SymbolicRegressor(**BUDGET).fit(X3, Y3, variable_names=["a", "b"])
    with pytest.raises(ValueError, match="variable_names must be distinct; repeated: \\['a'\\]"):
        SymbolicRegressor(**BUDGET).fit(X3, Y3, variable_names=["a", "a", "b"])
    with pytest.raises(ValueError, match="list of 3 names, got the string 'abc'"):
        SymbolicRegressor(**BUDGET).fit(X3, Y3, variable_names="abc")


def test_bad_settings_are_rejected_at_fit_not_init():
    est = SymbolicRegressor(population_size=-3, populations=0, model_selection="fast")
    assert est.population_size == -3  # stored as given
    with pytest.raises(ValueError, match="population_size must be an integer >= 1, got -3"):
        est.fit(X3, Y3)
    with pytest.raises(ValueError, match="populations must be an integer >= 1, got 0"):
        SymbolicRegressor(populations=0).fit(X3, Y3)
    with pytest.raises(ValueError, match="model_selection must be 'best' or 'accuracy'"):
        SymbolicRegressor(model_selection="fast").fit(X3, Y3)


def test_predict_before_fit_is_not_fitted_error():
    est = SymbolicRegressor(**BUDGET)
    for call in (lambda: est.predict(X3), lambda: est.sympy(), lambda: est.pareto_front):
        with pytest.raises(NotFittedError, match="not fitted yet"):
            call()


def test_predict_checks_the_input(fitted):
    model, X, _ = fitted
    with pytest.raises(ValueError, match="X has 2 features, but SymbolicRegressor is expecting 3"):
        model.predict(X[:, :2])
    with pytest.raises(ValueError, match="Input X contains NaN"):
        model.predict(np.where(np.eye(len(X), 3) > 0, np.nan, X))
    with pytest.raises(ValueError, match="Complex data not supported"):
        model.predict(X + 1j)
    with pytest.raises(ValueError, match="Expected 2D array, got 1D array"):
        model.predict(X[0])
    assert model.predict(X[:1]).shape == (1,)


# ------------------------------------------------------------------------------ imports


def _research_imports(module: str) -> set[str]:
    tree = ast.parse((LAWS / f"{module}.py").read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "research.laws":
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("research.laws."):
            found.add(node.module.rsplit(".", 1)[1])
    return found


def test_estimator_experiment_and_pysr_import_one_way():
    """experiments -> regressor -> pysr_backend, never back (also not inside functions)."""
    assert _research_imports("pysr_backend") <= {"expr"}
    assert not {"experiments", "reproduce"} & _research_imports("regressor")
    assert "regressor" in _research_imports("experiments")
    # the package imports all three in one order whichever is named; a fresh interpreter
    # starting from the leaf shows that order works
    leaf_first = "import research.laws.pysr_backend, research.laws.regressor"
    subprocess.run([sys.executable, "-c", leaf_first], check=True, timeout=120)
