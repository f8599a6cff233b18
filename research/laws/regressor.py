"""`SymbolicRegressor`: a scikit-learn estimator over the JAX genetic engine (or PySR).

    from research.laws import SymbolicRegressor
    model = SymbolicRegressor(population_size=1000, generations=40, random_state=0)
    model.fit(X, y, variable_names=["m", "v"])
    model.sympy(), model.latex(), model.predict(X), model.pareto_front, model.jax()(X)

Parameter names follow gplearn (`population_size`, `generations`, `tournament_size`,
`function_set`, `parsimony_coefficient`, `p_crossover`, `p_subtree_mutation`,
`p_hoist_mutation`, `p_point_mutation`, `p_point_replace`, `const_range`, `random_state`) and
PySR (`binary_operators`, `unary_operators`, `maxsize`, `populations`, `model_selection`,
`equations_`, `sympy()`, `latex()`, `jax()`), so switching from either is a rename at most.

The loss is the normalised mean squared error (MSE / var(y)); with `linear_scaling`
(default, as in Operon and Keijzer 2003) each candidate g is scored after the least-squares
fit y ~ a + b g, and the exported model is a + b g. With `term_weights` (default 6), a
candidate whose root is a sum of 2-6 terms, or which is such a sum times a factor or over a
divisor (A (t_1 + t_2 + ...), (t_1 + t_2 + ...) / B), can be rewritten with least-squares
weights per term (linear scaling over several terms, `RegressionObjective.refine`; a sum
under a divisor or a square root, P / S, P / sqrt(S), P sqrt(S), gets weights from a least-
squares fit of y S = P, y^2 S = P^2 or y^2 = P^2 S, which are linear in them; applied each
generation to the 4 best and 16 random children per island, kept where the fitness
improves). `p_add_term` (default 0; the Feynman benchmark uses 0.1) is the share of children
made by adding a subtree of the other parent as a new term to that sum (to the first operand
of a product or quotient root that has no sum yet), so that sums of products grow term by
term while the weights are fitted. The search runs on at most `max_rows` training rows (a
fixed random subset); the Pareto front is re-scored on all of them, after its constants are
refined by Levenberg-Marquardt in float64 on all rows (`polish_constants`, default on).
With `rational_degree` d > 0 (default 4) the front also receives exact sparse fits of y or y^2
as a ratio of polynomials of degree <= d (`rational.rational_candidates`: (m1 r1 + m2 r2) /
(m1 + m2), m0 / sqrt(1 - v^2 / c^2)), scored like the search's expressions; they exist only
for noise-free data that such a ratio fits to 1e-10 (relative mean squared error), and cost
0.1-15 s per fit (the most for 3-4 variables with no exact fit).

It is a scikit-learn estimator (`clone`, `Pipeline`, `GridSearchCV`, `cross_val_score`,
`check_estimator`): the constructor only stores parameters, `fit` validates them and the data
with scikit-learn's own checks, fitted attributes end in `_`. Two rules keep it cheap to fit
many times, as model selection does. Fewer rows than `max_rows` are padded (with zero weight)
to the next power of two, at least 32, so folds of slightly different sizes reuse one compiled
search. The islands have equal sizes, so a `population_size` not divisible by `populations` is
rounded up to the next multiple (`population_size_` is the size searched); the tournament,
`migrants` and `optimize_top` are capped at the island size.

Dependencies run one way: `experiments` (the loop experiment) builds on this module, and this
module reaches the loop experiment through the registry by name; `pysr_backend` depends only
on `expr`.
"""

from __future__ import annotations

import functools
import math
import numbers
from pathlib import Path

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from frontier import registry
from frontier.config import base_config
from research.laws import expr as E
from research.laws import genetic as G
from research.laws import pysr_backend

MIN_ROWS = 3  # two points are fit exactly by any non-constant g after linear scaling
MIN_PADDED_ROWS = 32
LOOP_EXPERIMENT = "laws/symbolic_regression"
# The estimator settings a loop config carries in `config.search` (gplearn / PySR names).
SEARCH_KEYS = (
    "population_size",
    "populations",
    "tournament_size",
    "maxsize",
    "init_max_size",
    "parsimony_coefficient",
    "optimize_top",
    "optimizer_iterations",
    "max_rows",
    "max_vars",
    "linear_scaling",
    "term_weights",
    "p_add_term",
)


class RegressionObjective:
    """Normalised MSE of each expression on `data["x"] [R, V]`, `data["y"] [R]` -> `[P]`."""

    def __init__(
        self, spec: E.Spec, linear_scaling: bool = True, chunk: int = 2048, max_terms: int = 0
    ):
        self.spec, self.linear_scaling, self.chunk = spec, bool(linear_scaling), int(chunk)
        self.max_terms = int(max_terms)

    def _key(self):
        return (self.spec, self.linear_scaling, self.chunk, self.max_terms)

    def refine(self, tokens, consts, data):
        """Term weights by least squares (`refine` of `genetic.generation`): a sum of
        2..`max_terms` terms t_m becomes t_lead + sum_m w_m t_m with the w that minimise the
        linearly scaled error, i.e. linear scaling over several terms. The sum is the root,
        or one directly under a `mul` root or over a `div` root's divisor (A (sum_m t_m) or
        (sum_m t_m) / B: still linear in the w, with features A t_m or t_m / B; see
        `expr.weighted_sum_position`). A sum that enters as P sqrt(S), P / S or P / sqrt(S)
        (`expr.power_sum_position`: e.g. (u + v) / (1 + u v), m / sqrt(1 - v^2),
        sqrt(a^2 + b^2 - a b cos t)) gets weights from the least-squares fit of an equation
        that is linear in them (`_refine_power`); where both apply, the better result is
        returned. Only with `linear_scaling` (the overall scale and offset stay the
        scaling's)."""
        K, L = tokens.shape
        M = self.max_terms
        if M < 2 or not self.linear_scaling or not {"add", "mul"} <= set(self.spec.ops):
            return tokens, consts, jnp.zeros(K, bool)
        lin_t, lin_c, lin_changed = self._refine_linear(tokens, consts, data)
        pow_t, pow_c, pow_changed = self._refine_power(tokens, consts, data)
        # the better of the two where both apply (e.g. (sum) / (sum): over generations the
        # numerator's and the divisor's weights are fitted in turn)
        lin_loss, pow_loss = self(lin_t, lin_c, data), self(pow_t, pow_c, data)
        use_pow = pow_changed & ~(lin_changed & ~(pow_loss < lin_loss))
        return (
            jnp.where(use_pow[:, None], pow_t, lin_t),
            jnp.where(use_pow[:, None], pow_c, lin_c),
            lin_changed | use_pow,
        )

    def _rows(self, data, R):
        real = data["weight"] > 0 if "weight" in data else jnp.ones(R, bool)
        return real, jnp.maximum(jnp.sum(real), 1)

    def _refine_linear(self, tokens, consts, data):
        """Weights on the terms of the sum at `expr.weighted_sum_position` (see `refine`)."""
        K, L = tokens.shape
        M = self.max_terms
        inner = E.inner_term_segments(self.spec, tokens, consts, M)
        terms, tt, tc = inner[4], inner[5], inner[6]  # tt, tc [K, M, L]: one feature per term
        valid = terms[2]
        v = E.evaluate(self.spec, tt.reshape(K * M, L), tc.reshape(K * M, L), data["x"], self.chunk)
        v = v.reshape(K, M, -1)
        real, count = self._rows(data, v.shape[-1])
        v = jnp.where(real, v, 0.0)
        finite = jnp.all(jnp.isfinite(v), -1) & valid
        v = jnp.where(finite[..., None], v, 0.0)
        vc = jnp.where(real, v - jnp.sum(v, -1, keepdims=True) / count, 0.0)
        y = data["y"]
        yc = jnp.where(real, y - jnp.sum(jnp.where(real, y, 0.0)) / count, 0.0)
        w, live, spread = _ridge_weights(vc, jnp.broadcast_to(yc, (K, yc.shape[0])), finite, 1e-9)
        return E.apply_inner_term_weights(self.spec, tokens, consts, inner, w, live, spread)

    def _refine_power(self, tokens, consts, data):
        """Weights on the terms of a sum S that enters the expression as P sqrt(S), P / S or
        P / sqrt(S) (`expr.power_sum_position`), by least squares on the equation that is
        linear in them: y^2 = P^2 S, y S = P or y^2 S = P^2 for the target y (the overall
        scale is the linear scaling's and drops out; an offset is not modelled: the fit is a
        starting point, kept only where the loss improves)."""
        K, L = tokens.shape
        M = self.max_terms
        spec, x = self.spec, data["x"]
        at, kind, p_at, p_kind = jax.vmap(lambda t: E.power_sum_position(spec, t))(tokens)
        ends = jax.vmap(lambda t: E.subtree_ends(spec, t))(tokens)
        sum_len, sum_t, sum_c = E.subtrees(tokens, consts, at, ends)
        terms, tt, tc = E.term_segments(spec, sum_t, sum_c, M, keep_constants=True)
        s = E.evaluate(spec, tt.reshape(K * M, L), tc.reshape(K * M, L), x, self.chunk)
        s = s.reshape(K, M, -1)
        _, pt, pc = E.subtrees(tokens, consts, p_at, ends)
        pv = E.evaluate(spec, pt, pc, x, self.chunk)
        pv = jnp.where(p_kind[:, None] == 0, 1.0, jnp.where(p_kind[:, None] == 2, 1.0 / pv, pv))
        y = data["y"][None, :]
        half = (kind == E.POWER_HALF)[:, None]
        inverse = (kind == E.POWER_INVERSE)[:, None]
        # minimise sum_r (alpha_r sum_m w_m s_m(r) - beta_r)^2 over the real rows
        alpha = jnp.where(half, pv**2, jnp.where(inverse, y, y**2))
        beta = jnp.where(half, y**2, jnp.where(inverse, pv, pv**2))
        real, _ = self._rows(data, s.shape[-1])
        phi = jnp.where(real, alpha[:, None, :] * s, 0.0)
        beta = jnp.where(real, beta, 0.0)
        finite = jnp.all(jnp.isfinite(phi), -1) & terms[2]
        phi = jnp.where(finite[..., None], phi, 0.0)
        ok = (kind != E.POWER_NONE) & jnp.all(jnp.isfinite(beta), -1)
        beta = jnp.where(ok[:, None], beta, 0.0)
        w, live, spread = _ridge_weights(phi, beta, finite & ok[:, None], 1e-7)
        inner = (at, sum_len, sum_t, sum_c, terms, None, None)
        nt, nc, changed = E.apply_inner_term_weights(spec, tokens, consts, inner, w, live, spread)
        return nt, nc, changed & ok

    def __hash__(self):
        return hash(self._key())

    def __eq__(self, other):
        return isinstance(other, RegressionObjective) and self._key() == other._key()

    def __call__(self, tokens, consts, data):
        out = E.evaluate(self.spec, tokens, consts, data["x"], self.chunk)
        y = data["y"]
        if "weight" in data:  # padded data: the padding rows have weight 0 (`search_data`)
            real = data["weight"] > 0
            count = jnp.maximum(jnp.sum(real), 1)

            def mean(v, keepdims=False):
                return jnp.sum(jnp.where(real, v, 0.0), axis=-1, keepdims=keepdims) / count
        else:

            def mean(v, keepdims=False):
                return jnp.mean(v, axis=-1, keepdims=keepdims)

        yc = y - mean(y)
        var_y = jnp.maximum(mean(yc**2), 1e-30)
        if self.linear_scaling:
            fc = out - mean(out, keepdims=True)
            var_f = mean(fc**2)
            ok = var_f > 1e-12
            b = jnp.where(ok, mean(fc * yc) / jnp.where(ok, var_f, 1.0), 0.0)
            resid = yc - b[:, None] * fc
        else:
            resid = y - out
        return mean(resid**2) / var_y


def _ridge_weights(phi, target, usable, ridge: float):
    """Weights `w [K, M]` that minimise |sum_m w_m phi_m - target|^2 for each k, over the
    features `phi [K, M, R]` that are `usable [K, M]` and not negligible (diagonal above 1e-9
    of the largest); the others get weight 0. `ridge` (relative to the largest diagonal)
    keeps nearly collinear features solvable. Returns `(w, live [K, M], spread [K, M])`,
    spread being each feature's norm."""
    M = phi.shape[1]
    G_ = jnp.einsum("kmr,knr->kmn", phi, phi)
    diag = jnp.diagonal(G_, axis1=1, axis2=2)
    scale = jnp.maximum(jnp.max(diag, -1), 1e-30)
    live = usable & (diag > 1e-9 * scale[:, None])
    both = live[:, :, None] & live[:, None, :]
    G_ = (
        jnp.where(both, G_, 0.0)
        + jnp.eye(M) * jnp.where(live, ridge, 1.0)[..., None] * scale[:, None, None]
    )
    rhs = jnp.where(live, jnp.einsum("kmr,kr->km", phi, target), 0.0)
    w = jnp.linalg.solve(G_, rhs[..., None])[..., 0]
    return w, live, jnp.sqrt(jnp.maximum(diag, 0.0))


class SymbolicRegressor(RegressorMixin, BaseEstimator):
    """Symbolic regression by genetic programming on the JAX interpreter (see module doc)."""

    def __init__(
        self,
        population_size: int = 1000,
        generations: int = 20,
        populations: int = 4,
        tournament_size: int = 10,
        binary_operators=("+", "-", "*", "/"),
        unary_operators=("sin", "cos", "exp", "log", "sqrt", "square"),
        function_set=None,
        maxsize: int = 30,
        init_max_size: int = 12,
        parsimony_coefficient: float = 1e-3,
        p_crossover: float = 0.6,
        p_subtree_mutation: float = 0.1,
        p_hoist_mutation: float = 0.05,
        p_point_mutation: float = 0.15,
        p_point_replace: float = 0.1,
        p_add_term: float = 0.0,
        const_range=(-2.0, 2.0),
        migration_every: int = 5,
        migrants: int = 5,
        optimize_top: int = 8,
        optimizer_iterations: int = 20,
        optimize_lr: float = 0.05,
        linear_scaling: bool = True,
        term_weights: int = 6,
        polish_constants: bool = True,
        rational_degree: int = 4,
        max_rows: int = 1000,
        max_vars: int | None = None,
        model_selection: str = "best",
        backend: str = "jax",
        random_state: int | None = 0,
        workdir: str | None = None,
        verbose: bool = False,
    ):
        self.population_size = population_size
        self.generations = generations
        self.populations = populations
        self.tournament_size = tournament_size
        self.binary_operators = binary_operators
        self.unary_operators = unary_operators
        self.function_set = function_set
        self.maxsize = maxsize
        self.init_max_size = init_max_size
        self.parsimony_coefficient = parsimony_coefficient
        self.p_crossover = p_crossover
        self.p_subtree_mutation = p_subtree_mutation
        self.p_hoist_mutation = p_hoist_mutation
        self.p_point_mutation = p_point_mutation
        self.p_point_replace = p_point_replace
        self.p_add_term = p_add_term
        self.const_range = const_range
        self.migration_every = migration_every
        self.migrants = migrants
        self.optimize_top = optimize_top
        self.optimizer_iterations = optimizer_iterations
        self.optimize_lr = optimize_lr
        self.linear_scaling = linear_scaling
        self.term_weights = term_weights
        self.polish_constants = polish_constants
        self.rational_degree = rational_degree
        self.max_rows = max_rows
        self.max_vars = max_vars
        self.model_selection = model_selection
        self.backend = backend
        self.random_state = random_state
        self.workdir = workdir
        self.verbose = verbose

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        tags.non_deterministic = self.random_state is None
        return tags

    # ---------------------------------------------------------------------------- set-up

    def operators(self) -> tuple[str, ...]:
        names = (
            self.function_set
            if self.function_set is not None
            else (*self.binary_operators, *self.unary_operators)
        )
        return E.resolve_operators(names)

    def search_params(self, num_features: int) -> G.SearchParams:
        """The engine's static parameters for data with `num_features` columns.

        Validates the settings (here, not in `__init__`, as scikit-learn asks). Islands have
        equal sizes: `ceil(population_size / populations)` each, at least 2; the tournament,
        `migrants` and `optimize_top` are capped by that size."""
        for name in ("generations", "population_size", "populations", "maxsize", "max_rows"):
            value = getattr(self, name)
            if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
                raise ValueError(
                    f"{name} must be an integer >= 1, got {value!r}"
                    + (": a budget of zero searches nothing" if value == 0 else "")
                )
        rd = self.rational_degree
        if not isinstance(rd, numbers.Integral) or isinstance(rd, bool) or rd < 0:
            raise ValueError(
                f"rational_degree must be an integer >= 0 (0: no rational fits), got {rd!r}"
            )
        tw = self.term_weights
        if not isinstance(tw, numbers.Integral) or isinstance(tw, bool) or tw < 0:
            raise ValueError(
                f"term_weights must be an integer >= 0 (the most additive terms whose weights "
                f"are fitted; 0 or 1 turns the fit off), got {tw!r}"
            )
        pa = self.p_add_term
        if not isinstance(pa, numbers.Real) or isinstance(pa, bool) or not 0.0 <= pa <= 1.0:
            raise ValueError(
                f"p_add_term must be a probability in [0, 1] (the share of children that add "
                f"a term to the weighted sum), got {pa!r}"
            )
        if self.model_selection not in ("best", "accuracy"):
            raise ValueError(
                f"model_selection must be 'best' or 'accuracy', got {self.model_selection!r}"
            )
        num_vars = int(self.max_vars or num_features)
        if num_vars < num_features:
            raise ValueError(f"max_vars={self.max_vars} is below the {num_features} features")
        spec = E.Spec(self.operators(), num_vars, int(self.maxsize))
        islands = int(self.populations)
        island_size = max(2, -(-int(self.population_size) // islands))
        return G.SearchParams(
            spec=spec,
            islands=islands,
            island_size=island_size,
            tournament_size=min(int(self.tournament_size), island_size),
            p_crossover=float(self.p_crossover),
            p_subtree_mutation=float(self.p_subtree_mutation),
            p_hoist_mutation=float(self.p_hoist_mutation),
            p_point_mutation=float(self.p_point_mutation),
            p_point_replace=float(self.p_point_replace),
            # a subtree of the other parent joins the weighted sum as a new term
            p_add_term=float(self.p_add_term) if self.refits_terms() else 0.0,
            add_term_donor=1.0,
            add_term_inside=True,
            parsimony=float(self.parsimony_coefficient),
            init_max_size=min(int(self.init_max_size), int(self.maxsize)),
            max_size=int(self.maxsize),
            const_range=tuple(float(c) for c in self.const_range),
            elite=1,
            migration_every=int(self.migration_every),
            migrants=min(int(self.migrants), island_size - 1) if islands > 1 else 0,
            optimize_top=min(int(self.optimize_top), island_size),
            optimize_steps=int(self.optimizer_iterations),
            optimize_lr=float(self.optimize_lr),
            # least-squares term weights (RegressionObjective.refine) on the 4 best distinct
            # and 16 random children per island
            refine_top=min(4, island_size) if self.refits_terms() else 0,
            refine_random=min(16, island_size - min(4, island_size)) if self.refits_terms() else 0,
        )

    def refits_terms(self) -> bool:
        return bool(self.linear_scaling) and int(self.term_weights) >= 2

    def objective(self, params: G.SearchParams) -> RegressionObjective:
        """The search's loss (with the term-weight fit when `term_weights >= 2`)."""
        return RegressionObjective(
            params.spec,
            self.linear_scaling,
            max_terms=int(self.term_weights) if self.refits_terms() else 0,
        )

    def search_seed(self) -> int:
        """The integer seed of a search: `random_state` itself when it is an integer."""
        if isinstance(self.random_state, numbers.Integral):
            return int(self.random_state)
        return int(check_random_state(self.random_state).randint(2**31 - 1))

    def search_data(self, X: np.ndarray, y: np.ndarray, num_vars: int, seed=None) -> dict:
        """The device arrays the search sees: at most `max_rows` rows, columns padded to
        `num_vars`: `x [R, num_vars]`, `y [R]`. Fewer rows are padded to a power of two, so
        similar sizes share one compiled search, and then `weight [R]` (0 for padding) is
        added; unpadded data gives the objective exactly the program it had before padding."""
        seed = self.random_state if seed is None else seed
        idx = subsample_indices(len(X), int(self.max_rows), seed)
        real = len(idx)
        rows = padded_rows(real, int(self.max_rows))
        idx = idx[np.arange(rows) % real]  # padding repeats real rows: finite outputs
        x = np.zeros((rows, num_vars), np.float32)
        x[:, : X.shape[1]] = X[idx]
        data = {
            "x": jnp.asarray(x),
            "y": jnp.asarray(y[idx], jnp.float32),
            "num_vars": jnp.int32(X.shape[1]),
        }
        if rows > real:
            data["weight"] = jnp.asarray((np.arange(rows) < real).astype(np.float32))
        return data

    # ---------------------------------------------------------------------------- fit

    def fit(self, X, y, variable_names=None) -> SymbolicRegressor:
        """Search for expressions of the columns of `X [n, d]` that predict `y [n]`.

        `variable_names` (d strings) name the columns in the equations; by default a
        DataFrame's column names, else x0, x1, ..."""
        if self.backend not in ("jax", "pysr"):
            raise ValueError(f"unknown backend {self.backend!r}; choose 'jax' or 'pysr'")
        X, y = validate_data(
            self, X, y, dtype=np.float64, y_numeric=True, ensure_min_samples=MIN_ROWS
        )
        names = self._names(X.shape[1], variable_names)
        params = self.search_params(X.shape[1])
        seed = self.search_seed()
        if self.backend == "pysr":
            pysr_backend.check_pysr()
            model = pysr_backend.run_pysr(pysr_backend.pysr_kwargs(self, seed), X, y, names)
            self.pysr_model_ = model
            self._adopt_pysr(model.equations_, names, X, y)
            return self
        if self.workdir is not None:
            state = run_in_loop(loop_config(self, params, seed), X, y, Path(self.workdir))
        else:
            objective = self.objective(params)
            data = self.search_data(X, y, params.spec.num_vars, seed)
            report = None
            if self.verbose:
                report = lambda g, m: print(  # noqa: E731
                    f"generation {g + 1}: best loss {float(m['loss']):.4g}, "
                    f"mean size {float(m['mean_size']):.1f}"
                )
            state = run_search(params, objective, data, int(self.generations), seed, report)
        self._finish(params, state, X, y, names)
        return self

    def _names(self, d: int, names) -> list[str]:
        if names is None:
            columns = getattr(self, "feature_names_in_", None)
            if columns is not None and all(str(c).isidentifier() for c in columns):
                return [str(c) for c in columns]
            return [f"x{i}" for i in range(d)]
        if isinstance(names, str):
            raise ValueError(
                f"variable_names must be a list of {d} names, got the string {names!r}"
            )
        names = [str(n) for n in names]
        if len(names) != d:
            raise ValueError(
                f"variable_names has {len(names)} names but X has {d} features (columns); "
                "give one name per column"
            )
        if len(set(names)) != d:
            dup = sorted({n for n in names if names.count(n) > 1})
            raise ValueError(f"variable_names must be distinct; repeated: {dup}")
        return names

    def _finish(self, params, state, X, y, names):
        self.params_ = params
        self.population_size_ = params.islands * params.island_size
        self.state_ = jax.device_get(state)
        self.variable_names_ = names
        self.n_features_in_ = X.shape[1]
        self.equations_ = self._score_front(X, y)
        self.best_index_ = select_model(self.equations_, self.model_selection)

    def _adopt_pysr(self, table, names, X, y) -> None:
        """Become a fitted estimator whose Pareto front is PySR's table, translated and
        re-scored on (X, y) as our own front is."""
        spec, rows = pysr_backend.equations_from_pysr(
            table, names, self.operators(), max_len=max(64, int(self.maxsize))
        )
        self.params_ = G.SearchParams(spec=spec, max_size=spec.max_len, init_max_size=1)
        islands = int(self.populations)
        self.population_size_ = islands * -(-int(self.population_size) // islands)
        self.state_ = None
        self.variable_names_ = list(names)
        self.n_features_in_ = len(names)
        X = np.asarray(X, np.float64)
        y = np.asarray(y, np.float64)
        var_y = max(float(np.var(y)), 1e-300)
        for r in rows:
            pred = self._raw_outputs(r["tokens"], r["consts"], X)
            r["loss"] = float(np.mean((y - pred) ** 2) / var_y)
        self.equations_ = rows
        self.best_index_ = select_model(rows, self.model_selection)

    def _raw_outputs(self, tokens, consts, X) -> np.ndarray:
        """`g(X) [n]`; rows padded to a bucket so new row counts rarely recompile."""
        n = len(X)
        rows = max(MIN_PADDED_ROWS, _next_pow2(n)) if n <= 2048 else -(-n // 2048) * 2048
        x = np.zeros((rows, self.params_.spec.num_vars), np.float32)
        x[:n, : X.shape[1]] = X
        out = E.evaluate_jit(self.params_.spec, jnp.asarray(tokens), jnp.asarray(consts), x, 2048)
        return np.asarray(out, np.float64)[:n]

    def _score_front(self, X, y) -> list[dict]:
        st = self.state_
        front = G.pareto_front(st["hof_loss"], self.params_.max_size)
        rows = []
        var_y = max(float(np.var(y)), 1e-300)
        entries = [(int(s), st["hof_tokens"][s], st["hof_consts"][s]) for s in front]
        entries += self._rational_entries(X, y)
        for complexity, t, c in entries:
            if self.polish_constants:
                c = polish_constants(self.params_.spec, t, c, X, y, self.linear_scaling)
            g = self._raw_outputs(t, c, X)
            a, b = 0.0, 1.0
            if self.linear_scaling:
                a, b = linear_fit(g, y)
            pred = a + b * g
            loss = float(np.mean((y - pred) ** 2) / var_y) if np.all(np.isfinite(pred)) else np.inf
            rows.append(
                {
                    "complexity": complexity,
                    "loss": loss,
                    "equation": E.to_string(self.params_.spec, t, c, self.variable_names_),
                    "tokens": np.asarray(t),
                    "consts": np.asarray(c),
                    "scale": (a, b),
                }
            )
        # the Pareto front of both sources: simplest first, each lower in loss than all simpler
        rows.sort(key=lambda r: (r["complexity"], r["loss"]))
        kept: list[dict] = []
        for r in rows:
            if not kept or r["loss"] < kept[-1]["loss"]:
                kept.append(r)
        rows = kept
        for k, r in enumerate(rows):  # PySR's score: -d log(loss) / d complexity
            if k == 0:
                r["score"] = 0.0
            else:
                prev = rows[k - 1]
                l0, l1 = max(prev["loss"], 1e-300), max(r["loss"], 1e-300)
                r["score"] = float(-math.log(l1 / l0) / (r["complexity"] - prev["complexity"]))
        return rows

    def _rational_entries(self, X, y) -> list[tuple]:
        """(complexity, tokens, consts) of the exact rational-polynomial fits (see the module
        doc) that this spec's operators and size can encode."""
        d = self.rational_degree  # validated by `search_params`
        if d == 0:
            return []
        import sympy as sp

        from research.laws import rational

        spec, names = self.params_.spec, self.variable_names_
        out = []
        for cand in rational.rational_candidates(X, y, degree=int(d)):
            try:
                e = sp.cancel(rational.to_sympy(cand, names))
                t, c = E.from_sympy(spec, e, names)
            except ValueError:  # an operator this search does not have, or too long
                continue
            out.append((int(np.sum(np.asarray(t) != E.PAD)), t, c))
            if len(out) == 3:
                break
        return out

    # ---------------------------------------------------------------------------- outputs

    def _check_fitted(self):
        check_is_fitted(self, "equations_")
        if not self.equations_:
            raise RuntimeError("the search found no finite expression; raise generations")

    def _row(self, index):
        self._check_fitted()
        return self.equations_[self.best_index_ if index is None else index]

    @property
    def pareto_front(self) -> list[dict]:
        """Pareto front of complexity vs loss: dicts with complexity, loss, score, equation,
        sympy (simplified) and latex, simplest first."""
        self._check_fitted()
        return [
            {
                "complexity": r["complexity"],
                "loss": r["loss"],
                "score": r["score"],
                "equation": r["equation"],
                "sympy": self.sympy(k),
                "latex": self.latex(k),
            }
            for k, r in enumerate(self.equations_)
        ]

    def sympy(self, index: int | None = None, simplify: bool = True, precision: int = 6):
        """The selected (or `index`-th Pareto) model as a sympy expression."""
        import sympy as sp

        r = self._row(index)
        g = E.to_sympy(self.params_.spec, r["tokens"], r["consts"], self.variable_names_)
        a, b = r["scale"]
        e = g if (a, b) == (0.0, 1.0) else sp.Float(a) + sp.Float(b) * g
        e = round_floats(e, precision)
        return simplify_safely(e) if simplify else e

    def latex(self, index: int | None = None) -> str:
        import sympy as sp

        return sp.latex(self.sympy(index))

    def jax(self, index: int | None = None):
        """A jittable function `X [n, d] -> [n]` of the selected model (protected operators)."""
        r = self._row(index)
        spec = self.params_.spec
        t, c = jnp.asarray(r["tokens"]), jnp.asarray(r["consts"])
        a, b = r["scale"]
        d = self.n_features_in_

        @jax.jit
        def f(X):
            X = jnp.asarray(X, jnp.float32)
            x = jnp.pad(X, ((0, 0), (0, spec.num_vars - d)))
            return a + b * E.evaluate(spec, t, c, x)

        return f

    def predict(self, X, index: int | None = None) -> np.ndarray:
        """Predictions `[n]` of the selected (or `index`-th Pareto) model."""
        self._check_fitted()
        X = validate_data(self, X, reset=False, dtype=np.float64)
        r = self._row(index)
        a, b = r["scale"]
        return a + b * self._raw_outputs(r["tokens"], r["consts"], X)

    def score(self, X, y, sample_weight=None) -> float:
        """R^2 of the selected model on (X, y); -inf where it predicts a non-finite value."""
        from sklearn.metrics import r2_score as sklearn_r2

        pred = self.predict(X)
        if not np.all(np.isfinite(pred)):
            return -np.inf
        return float(sklearn_r2(y, pred, sample_weight=sample_weight))


def loop_config(
    est: SymbolicRegressor, params: G.SearchParams, seed: int
) -> ml_collections.ConfigDict:
    """The config `SymbolicRegressor(workdir=...)` runs through `frontier.loop`."""
    g = int(est.generations)
    cfg = base_config(LOOP_EXPERIMENT, steps=g, log_every=1, eval_every=g, checkpoint_every=1)
    cfg.seed = int(seed)
    cfg.data = ml_collections.ConfigDict({"source": "arrays"})
    cfg.search = ml_collections.ConfigDict(
        {k: getattr(est, k) for k in SEARCH_KEYS}
        | {"operators": list(params.spec.ops), "max_vars": params.spec.num_vars}
    )
    cfg.lock()
    return cfg


def run_in_loop(config, X: np.ndarray, y: np.ndarray, workdir: Path) -> dict:
    """Train (or resume) in `workdir` through `frontier.loop`; returns the final state.

    The loop experiment (`research.laws.experiments`) is found by its registered name: it
    builds on this module, so importing it from here would make a circle."""
    from frontier.loop import train

    experiment = registry.get_experiment(LOOP_EXPERIMENT).obj(config, arrays=(X, y))
    result = train(config, workdir, progress=False, experiment=experiment)
    return jax.tree.map(lambda v: np.asarray(v)[0], result.state)


def run_search(params, objective, data, generations: int, seed: int, callback=None) -> dict:
    """Generations of the engine from a seed, with the keys `frontier.loop` would draw."""
    from frontier.loop import INIT_KEY, TRAIN_KEY

    base = jax.random.key(seed)
    state = G.init_state_jit(params, objective, data, jax.random.fold_in(base, INIT_KEY))
    train_key = jax.random.fold_in(base, TRAIN_KEY)
    for g in range(generations):
        state, metrics = G.generation_jit(
            params, objective, state, data, jax.random.fold_in(train_key, g)
        )
        if callback is not None:
            callback(g, jax.device_get(metrics))
    return state


def _next_pow2(n: int) -> int:
    return 1 << max(0, int(n) - 1).bit_length()


def padded_rows(n: int, max_rows: int) -> int:
    """Rows a search over `n` real rows runs on: `n` when it is `max_rows` (or more), else the
    next power of two, at least 32, at most `max_rows`."""
    if n >= max_rows:
        return n
    return min(max_rows, max(MIN_PADDED_ROWS, _next_pow2(n)))


def subsample_indices(n: int, max_rows: int, seed: int) -> np.ndarray:
    """The sorted rows a search uses: all of them, or `max_rows` drawn without replacement."""
    if max_rows < 1:
        raise ValueError(f"max_rows must be >= 1, got {max_rows}")
    if n <= max_rows:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, max_rows, replace=False))


@functools.lru_cache(maxsize=16)
def _value_and_jacobian(spec: E.Spec):
    """A float64 function `(tokens [L], consts [L], x [R, V]) -> (g [R], dg/dconsts [R, L])`."""

    def f(tokens, consts, x):
        g = lambda c: E.evaluate_dense(spec, tokens[None], c[None], x)[0]  # noqa: E731
        return g(consts), jax.jacfwd(g)(consts)

    return jax.jit(f)


def polish_constants(spec: E.Spec, tokens, consts, X, y, linear_scaling: bool = True):
    """The constants of one expression refined by Levenberg-Marquardt in float64 on all of
    (X, y) (with the scale a + b g when `linear_scaling`); the search's float32 Adam steps on
    a row subset leave them a few 1e-3 off, which is what rounding to 3 decimals (SRBench's
    symbolic criterion) then sees. Returns `consts` unchanged when nothing improves."""
    from scipy.optimize import least_squares

    tokens = np.asarray(tokens)
    idx = np.flatnonzero(tokens == E.CONST)
    consts = np.asarray(consts, np.float32)
    if idx.size == 0:
        return consts
    X = np.asarray(X, np.float64)
    y = np.asarray(y, np.float64)
    x = np.zeros((len(X), spec.num_vars), np.float64)
    x[:, : X.shape[1]] = X
    fn = _value_and_jacobian(spec)
    with jax.enable_x64(True):
        t64, x64 = jnp.asarray(tokens), jnp.asarray(x)

        def unpack(p):
            full = consts.astype(np.float64)
            full[idx] = p[2:] if linear_scaling else p
            return full

        def evaluate(p):
            g, jac = fn(t64, jnp.asarray(unpack(p)), x64)
            return np.asarray(g), np.asarray(jac)[:, idx]

        def residual(p):
            g, _ = evaluate(p)
            r = (p[0] + p[1] * g - y) if linear_scaling else (g - y)
            return np.where(np.isfinite(r), r, 1e6)

        def jacobian(p):
            g, dg = evaluate(p)
            if not linear_scaling:
                return np.where(np.isfinite(dg), dg, 0.0)
            j = np.column_stack([np.ones_like(g), g, p[1] * dg])
            return np.where(np.isfinite(j), j, 0.0)

        start_g, _ = evaluate(np.concatenate([[0.0, 1.0], consts[idx]]) if linear_scaling
                              else consts[idx].astype(np.float64))  # fmt: skip
        if not np.all(np.isfinite(start_g)):
            return consts
        p0 = consts[idx].astype(np.float64)
        if linear_scaling:
            a, b = linear_fit(start_g, y)
            p0 = np.concatenate([[a, b], p0])
        before = float(np.sum(residual(p0) ** 2))
        try:
            fit = least_squares(residual, p0, jac=jacobian, method="lm", max_nfev=200)
        except (ValueError, np.linalg.LinAlgError):
            return consts
        after = float(np.sum(residual(fit.x) ** 2))
        if not np.isfinite(after) or after >= before:
            return consts
        return unpack(fit.x).astype(np.float32)


def linear_fit(g: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Least-squares a, b of y ~ a + b g (b = 0 when g is constant or not finite)."""
    if not np.all(np.isfinite(g)):
        return float(np.mean(y)), 0.0
    gc = g - g.mean()
    var = float(np.mean(gc**2))
    if var <= 1e-12 * max(1.0, float(np.mean(g**2))):
        return float(np.mean(y)), 0.0
    b = float(np.mean(gc * (y - y.mean())) / var)
    return float(y.mean() - b * g.mean()), b


def select_model(rows: list[dict], how: str) -> int:
    """'accuracy': the lowest loss; 'best': the simplest within 1.5x of the lowest loss (or
    below 1e-9, where float32 rounding makes all exact fits equal)."""
    if not rows:
        return 0
    losses = np.asarray([r["loss"] for r in rows])
    if how == "accuracy":
        return int(np.argmin(losses))
    threshold = max(1.5 * float(np.min(losses)), 1e-9)
    return int(np.flatnonzero(losses <= threshold)[0])


def round_floats(e, digits: int, significant: bool = False):
    """Floats of a sympy expression rounded to `digits` decimals (or significant digits)."""
    import sympy as sp

    def one(v: float) -> float:
        return float(f"{v:.{digits}g}") if significant else round(v, digits)

    return e.xreplace({n: sp.Float(one(float(n))) for n in e.atoms(sp.Float)})


def simplify_safely(e, seconds: float = 5.0):
    """sympy.simplify with a time limit (alarm signal; in other threads: no limit)."""
    import signal
    import threading

    import sympy as sp

    if threading.current_thread() is not threading.main_thread():
        return sp.simplify(e)

    def on_alarm(*_):
        raise TimeoutError

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        return sp.simplify(e)
    except TimeoutError:
        return e
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def r2_score(y, pred) -> float:
    y, pred = np.asarray(y, np.float64), np.asarray(pred, np.float64)
    if not np.all(np.isfinite(pred)):
        return -np.inf
    ss = float(np.sum((y - y.mean()) ** 2))
    return 1.0 - float(np.sum((y - pred) ** 2)) / max(ss, 1e-300)
