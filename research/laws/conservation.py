"""Conserved quantities from motion data (Schmidt & Lipson, Science 2009).

Systems are simulated with a JAX RK4 integrator (`integrate`); as from motion tracking, only
the positions (angles) are observed, with Gaussian noise; they are smoothed and
differentiated with Savitzky-Golay filters to estimate velocities and accelerations. The
state variables are then (positions, velocities) and their time derivatives (velocities,
accelerations).

Fitness of a candidate f (`ConservationObjective`): for each pair of state variables (i, j),
the ratio of time derivatives from the data, dx_i/dx_j, against the ratio f implies,
-(df/dx_j + sum_{k != i, j} df/dx_k dx_k/dx_j) / (df/dx_i), with partial derivatives by
forward mode through the interpreter (`expr.input_gradients`); score mean
log(1 + |difference|) over rows and pairs.
With two variables this is the paper's -(df/dx_j)/(df/dx_i); with more it uses the other
observed derivatives so that exact conservation (grad f . x_dot = 0) scores zero.
Where velocities are proportional to canonical momenta, `conjugate` adds the two-variable
term on each (position, velocity) pair alone, which tells the energy from other conserved
quantities (see `ConservationObjective`).
`fitness="rates"` replaces the pair ratios by the rate relative to the size of its
per-variable parts, log(1 + |df/dt| / |(df/dx_k dx_k)_k|), which no single small partial
derivative can inflate (the double pendulum's choice; README, laws/conservation).

Guards against trivial and degenerate solutions (Hillar & Sommer 2012): a candidate must use
every state variable and depend on each (a nonzero partial derivative on half the rows, so
x - x does not count), and its gradient must not vanish (|grad f| > 1e-6 on 95% of the rows);
otherwise its loss is raised by `TRIVIAL_PENALTY`. "Energy found" (`energy_found`) requires a
Pareto candidate to be an affine function of the true Hamiltonian on random states of the
data's bounding box (|Pearson r| > 0.9999), not merely constant along the recorded motion.

Term weights (`term_weight_refit`, the objective's `refine`): energies are weighted sums of
simple terms, which a genetic search approximates badly by nesting; for a candidate's
top-level sum the weights that make it most nearly conserved are found in closed form, and
the genetic search applies this to some children every generation (`genetic.SearchParams.
refine_top`, `refine_random`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from research.laws import expr as E

TRIVIAL_PENALTY = 10.0
# |Pearson r| with the true energy above which a candidate counts as the energy: the
# small-angle pendulum energy omega**2 + 9.81*theta**2 reaches only 0.9985 on the box.
ENERGY_R = 0.9999
# `drift_along_motion` below which a candidate counts as conserved along the recorded motion
# (the reproduction reports such candidates beside the energy: with several conserved
# quantities, e.g. the two normal-mode energies of coupled oscillators, any combination scores
# as well as the energy)
CONSERVED_DRIFT = 0.01
G_ACC = 9.81


def integrate(f: Callable, y0: jax.Array, dt: float, steps: int) -> jax.Array:
    """Classic RK4 for y' = f(y): states `[steps + 1, dim]`, starting with `y0`.

    Kept instead of diffrax after measuring both in float32 on the four systems: the largest
    relative energy drift over a trajectory was 0.4-3.7e-6 here and 0.5-6.3e-6 with diffrax's
    Tsit5 (adaptive, rtol 1e-6, atol 1e-8), both at float32 resolution, while diffrax took
    0.7-1.0 s per system to trace and compile against 0.06-0.23 s and added four packages.
    """

    def step(y, _):
        k1 = f(y)
        k2 = f(y + 0.5 * dt * k1)
        k3 = f(y + 0.5 * dt * k2)
        k4 = f(y + dt * k3)
        y = y + dt / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)
        return y, y

    _, ys = jax.lax.scan(step, y0, None, length=steps)
    return jnp.concatenate([y0[None], ys])


@dataclasses.dataclass(frozen=True)
class System:
    """A mechanical system: state (q, p-like velocities), dynamics and energy."""

    name: str
    positions: tuple[str, ...]
    velocities: tuple[str, ...]
    dynamics: Callable  # state [2d] -> derivative [2d]
    energy: Callable  # states [n, 2d] -> [n] (numpy or jax)
    energy_formula: str
    initial_states: tuple[tuple[float, ...], ...]
    operators: tuple[str, ...]
    dt: float = 0.01
    steps: int = 600
    # velocities proportional to the canonical momenta (p_i = m v_i): then Hamilton's equations
    # make each conjugate pair's rate dH/dq_i dq_i/dt + dH/dv_i dv_i/dt vanish on its own
    # (`ConservationObjective(conjugate=...)`); not so for the double pendulum, whose momenta
    # mix both angular velocities
    canonical: bool = True

    @property
    def variables(self) -> tuple[str, ...]:
        return self.positions + self.velocities


def _harmonic():
    k = 2.0
    return System(
        "harmonic oscillator",
        ("x",),
        ("v",),
        lambda s: jnp.stack([s[1], -k * s[0]]),
        lambda s: 0.5 * s[..., 1] ** 2 + 0.5 * k * s[..., 0] ** 2,
        "v**2/2 + x**2",
        ((1.0, 0.0), (0.5, 1.0), (-1.5, 0.5)),
        ("add", "sub", "mul", "square"),
    )


def _pendulum():
    w2 = G_ACC  # g / l with l = 1 m
    return System(
        "pendulum",
        ("theta",),
        ("omega",),
        lambda s: jnp.stack([s[1], -w2 * jnp.sin(s[0])]),
        lambda s: 0.5 * s[..., 1] ** 2 - w2 * np.cos(s[..., 0]),
        "omega**2/2 - 9.81*cos(theta)",
        ((1.2, 0.0), (0.3, 2.0), (-0.8, -1.5)),
        ("add", "sub", "mul", "sin", "cos", "square"),
    )


def _coupled():
    k, kc = 1.0, 0.5
    return System(
        "coupled oscillators",
        ("x1", "x2"),
        ("v1", "v2"),
        lambda s: jnp.stack(
            [s[2], s[3], -k * s[0] + kc * (s[1] - s[0]), -k * s[1] - kc * (s[1] - s[0])]
        ),
        lambda s: (
            0.5 * (s[..., 2] ** 2 + s[..., 3] ** 2)
            + 0.5 * k * (s[..., 0] ** 2 + s[..., 1] ** 2)
            + 0.5 * kc * (s[..., 0] - s[..., 1]) ** 2
        ),
        "(v1**2 + v2**2)/2 + (x1**2 + x2**2)/2 + (x1 - x2)**2/4",
        ((1.0, 0.0, 0.0, 0.0), (0.0, 0.5, 0.5, 0.0), (-0.6, 0.8, 0.0, -0.4)),
        ("add", "sub", "mul", "square"),
        steps=800,
    )


def _double_pendulum_rhs(s):
    t1, t2, w1, w2 = s[0], s[1], s[2], s[3]
    g = G_ACC  # m1 = m2 = 1 kg, l1 = l2 = 1 m
    d = t1 - t2
    den = 3.0 - jnp.cos(2 * d)
    a1 = (
        -3 * g * jnp.sin(t1)
        - g * jnp.sin(t1 - 2 * t2)
        - 2 * jnp.sin(d) * (w2**2 + w1**2 * jnp.cos(d))
    ) / den
    a2 = 2 * jnp.sin(d) * (2 * w1**2 + 2 * g * jnp.cos(t1) + w2**2 * jnp.cos(d)) / den
    return jnp.stack([w1, w2, a1, a2])


def _double_pendulum_energy(s):
    t1, t2, w1, w2 = s[..., 0], s[..., 1], s[..., 2], s[..., 3]
    cos = jnp.cos if isinstance(s, jax.Array) else np.cos
    return w1**2 + 0.5 * w2**2 + w1 * w2 * cos(t1 - t2) - 2 * G_ACC * cos(t1) - G_ACC * cos(t2)


def _double_pendulum():
    return System(
        "double pendulum",
        ("theta1", "theta2"),
        ("omega1", "omega2"),
        _double_pendulum_rhs,
        _double_pendulum_energy,
        "omega1**2 + omega2**2/2 + omega1*omega2*cos(theta1 - theta2) - 19.62*cos(theta1) "
        "- 9.81*cos(theta2)",
        ((0.6, 0.2, 0.0, 0.0), (-0.3, 0.5, 1.0, 0.0), (0.2, -0.4, 0.0, 1.5)),
        ("add", "sub", "mul", "sin", "cos", "square"),
        # 400 Hz: the Savitzky-Golay window of 141 samples then spans 0.35 s, short against the
        # fastest motion, and the estimated accelerations are nearly unbiased; at 200 Hz it
        # spans 0.7 s and biases the best energy-term weights to |r| 0.9992 with the energy
        # (below `ENERGY_R`), at 400 Hz they reach 0.99994
        dt=0.0025,
        steps=2400,
        canonical=False,
    )


SYSTEMS: dict[str, Callable[[], System]] = {
    "harmonic": _harmonic,
    "pendulum": _pendulum,
    "coupled": _coupled,
    "double_pendulum": _double_pendulum,
}


def get_system(name: str) -> System:
    if name not in SYSTEMS:
        raise KeyError(f"unknown system {name!r}; available: {', '.join(SYSTEMS)}")
    return SYSTEMS[name]()


@dataclasses.dataclass
class MotionData:
    system: System
    states: np.ndarray  # [n, 2d] estimated (smoothed) positions and velocities
    derivatives: np.ndarray  # [n, 2d] estimated time derivatives
    true_states: np.ndarray  # [n, 2d] the simulated states at the same times


def simulate(
    system: System, noise: float = 0.01, window: int = 61, seed: int = 0, order: int = 3
) -> MotionData:
    """Trajectories from every initial state, positions observed with noise of standard
    deviation `noise` x their std, smoothed and differentiated (Savitzky-Golay filters of
    polynomial `order` over `window` samples); half a window is dropped at each end (filter
    edge effects). A low order over a wide window attenuates the accelerations (a cubic over
    61 samples biases the pendulum's fitted energy weights to |r| 0.9993); a higher order
    passes more noise."""
    from scipy.signal import savgol_filter

    if window % 2 == 0 or window < 5:
        raise ValueError(f"window must be odd and >= 5, got {window}")
    if not 2 <= order < window:
        raise ValueError(
            f"order must be >= 2 (accelerations are its second derivative) and below the "
            f"window ({window}), got {order}"
        )
    rng = np.random.default_rng(seed)
    d = len(system.positions)
    run = jax.jit(lambda y0: integrate(system.dynamics, y0, system.dt, system.steps))
    states, derivs, truth = [], [], []
    for y0 in system.initial_states:
        ys = np.asarray(run(jnp.asarray(y0, jnp.float32)), np.float64)
        q = ys[:, :d]
        q_obs = q + rng.normal(0.0, noise * q.std(0) + 1e-12, size=q.shape)
        q_s = savgol_filter(q_obs, window, order, axis=0)
        v_s = savgol_filter(q_obs, window, order, deriv=1, delta=system.dt, axis=0)
        a_s = savgol_filter(q_obs, window, order, deriv=2, delta=system.dt, axis=0)
        sl = slice(window // 2, len(ys) - window // 2)
        states.append(np.concatenate([q_s, v_s], 1)[sl])
        derivs.append(np.concatenate([v_s, a_s], 1)[sl])
        truth.append(ys[sl])
    return MotionData(system, np.concatenate(states), np.concatenate(derivs), np.concatenate(truth))


def pair_weights(derivatives: np.ndarray, min_fraction: float = 0.1) -> np.ndarray:
    """`[n, pairs]` row weights per pair (i < j): rows where |dx_j| is at least `min_fraction`
    of its RMS (the data ratio dx_i / dx_j is meaningless where dx_j ~ 0)."""
    n, v = derivatives.shape
    rms = np.sqrt(np.mean(derivatives**2, 0)) + 1e-12
    cols = []
    for i in range(v):
        for j in range(i + 1, v):
            cols.append(np.abs(derivatives[:, j]) >= min_fraction * rms[j])
    return np.stack(cols, 1).astype(np.float32)


def _pair_index(i: int, j: int, num_vars: int) -> int:
    """Column of the pair (i < j) in `pair_weights`."""
    return i * (2 * num_vars - i - 1) // 2 + (j - i - 1)


def _log_ratio(num, den, w):
    """`[P]` weighted mean over rows of log(1 + |num| / |den|) (1e6 where den ~ 0)."""
    den = jnp.abs(den)
    ok = den > 1e-12
    diff = jnp.minimum(jnp.where(ok, jnp.abs(num) / jnp.where(ok, den, 1.0), 1e6), 1e6)
    return jnp.sum(jnp.log1p(diff) * w[None], 1) / jnp.sum(w)


FITNESSES = ("pairs", "rates")


class ConservationObjective:
    """Derivative-ratio loss (lower is better) of expressions over motion data.

    data: `x [R, V]` states, `dx [R, V]` time derivatives, `w [R, pairs]` row weights;
    optionally `x_fit, dx_fit [R', V]`, the rows `refine` fits term weights on.

    `conjugate=d` (d position variables followed by their d canonical velocities) adds, for
    each pair (q_i, v_i), the paper's two-variable term on that pair alone: the pair's rate
    df/dq_i dq_i/dt + df/dv_i dv_i/dt over |df/dq_i dv_i/dt|. By Hamilton's equations the
    energy zeroes every pair's rate on its own, while other conserved quantities (a normal-mode
    energy of coupled oscillators, which any combination of the mode energies matches on the
    all-pair terms) move energy between pairs and score worse. The loss is the mean over all
    pair terms. Use it only where velocities are proportional to canonical momenta
    (`System.canonical`).

    `refine` (used by the genetic search with `refine_top > 0`) rewrites a sum of up to
    `max_terms` terms with closed-form weights (`term_weight_refit`); 0 turns it off.
    """

    def __init__(
        self,
        spec: E.Spec,
        max_terms: int = 6,
        conjugate: int = 0,
        fitness: str = "pairs",
        drift_weight: float = 0.0,
    ):
        if not drift_weight >= 0:
            raise ValueError(f"drift_weight must be >= 0, got {drift_weight}")
        if fitness not in FITNESSES:
            raise ValueError(f"fitness must be one of {FITNESSES}, got {fitness!r}")
        if max_terms < 0:
            raise ValueError(f"max_terms must be >= 0, got {max_terms}")
        if not 0 <= conjugate <= spec.num_vars // 2:
            raise ValueError(
                f"conjugate must be between 0 and half the variables ({spec.num_vars // 2}): "
                f"the number of (position, velocity) pairs, got {conjugate}"
            )
        self.spec = spec
        self.max_terms = int(max_terms)
        self.conjugate = int(conjugate)
        self.fitness = fitness
        self.drift_weight = float(drift_weight)

    def _key(self):
        return (
            "conservation",
            self.spec,
            self.max_terms,
            self.conjugate,
            self.fitness,
            self.drift_weight,
        )

    def __hash__(self):
        return hash(self._key())

    def __eq__(self, other):
        return isinstance(other, ConservationObjective) and other._key() == self._key()

    def refine(self, tokens, consts, data):
        """Term weights fitted in closed form (`term_weight_refit`) on the `x_fit` rows."""
        if self.max_terms < 2:
            return tokens, consts, jnp.zeros(tokens.shape[0], bool)
        fit = {"x": data.get("x_fit", data["x"]), "dx": data.get("dx_fit", data["dx"])}
        return term_weight_refit(self.spec, tokens, consts, fit, self.max_terms, self.conjugate)

    def gradients(self, tokens, consts, x):
        """`[P, R, V]` partial derivatives of each expression at each row."""

        return E.input_gradients(self.spec, tokens, consts, x)[1]

    def _pair_terms(self, g, dx, w):
        """The paper's pair ratios: per pair (i, j), mean log(1 + |df/dt| / |df/dx_i dx_j|)."""
        V = dx.shape[1]
        resid = jnp.sum(g * dx[None], axis=-1)  # df/dt along the data: [P, R]
        terms, k = [], 0
        for i in range(V):
            for j in range(i + 1, V):
                terms.append(_log_ratio(resid, g[..., i] * dx[None, :, j], w[:, k]))
                k += 1
        d = self.conjugate
        for i in range(d):
            # pair (q_i, v_i): its own rate against df/dq_i dv_i/dt, the pair's weights
            part = g[..., i] * dx[None, :, i] + g[..., i + d] * dx[None, :, i + d]
            terms.append(
                _log_ratio(part, g[..., i] * dx[None, :, i + d], w[:, _pair_index(i, i + d, V)])
            )
        return terms

    def _rate_terms(self, g, dx):
        """Rates relative to their scale: mean log(1 + |df/dt| / |(df/dx_k dx_k)_k|), and per
        conjugate pair its own rate over the same scale."""
        a = g * dx[None]  # per-variable rates [P, R, V]
        scale = jnp.sqrt(jnp.sum(a**2, -1))
        ones = jnp.ones(dx.shape[0], a.dtype)
        terms = [_log_ratio(jnp.sum(a, -1), scale, ones)]
        d = self.conjugate
        for i in range(d):
            terms.append(_log_ratio(a[..., i] + a[..., i + d], scale, ones))
        return terms

    def drift(self, tokens, consts, data):
        """`[P]` spread of f within each recorded trajectory relative to its spread on the
        states' bounding box, in the box's quantiles, from the observed (smoothed) states
        alone: `data["drift_x"] [T + 1, n, V]` holds n states of each of the T trajectories
        and, last, n uniform states of their box (`search_data(drift_rows=n)`).

        Each value of f along a trajectory is replaced by its quantile among f's values on
        the box (the fraction below it); the score is the mean within-trajectory std of those
        quantiles over the std of uniform quantiles (1 / sqrt 12). Any strictly monotone
        function of a conserved quantity scores the same (measured on the values, f^16 of a
        mode energy looks conserved: its spread on the box is dominated by the box's far
        corners). No derivatives enter, so the estimated accelerations' error does not
        either. Piecewise constant in the constants: it adds nothing to their gradient."""
        if "drift_x" not in data:
            raise ValueError(
                "drift_weight > 0 needs data['drift_x']: build the data with "
                "search_data(..., drift_rows=n)"
            )
        slabs = data["drift_x"]
        T1, n, V = slabs.shape
        f = E.evaluate(self.spec, tokens, consts, slabs.reshape(T1 * n, V))
        f = jax.lax.stop_gradient(f.reshape(f.shape[0], T1, n))
        f = jnp.where(jnp.isfinite(f), f, jnp.inf)
        box = jnp.sort(f[:, -1], axis=-1)  # [P, n]
        q = jax.vmap(lambda b, v: jnp.searchsorted(b, v, side="left"))(box, f[:, :-1])
        q = q.astype(jnp.float32) / n
        within = jnp.mean(jnp.std(q, axis=-1), axis=-1)
        return within * jnp.sqrt(12.0)

    def __call__(self, tokens, consts, data):
        x, dx, w = data["x"], data["dx"], data["w"]
        V = x.shape[1]
        g = self.gradients(tokens, consts, x)  # [P, R, V]
        if self.fitness == "rates":
            terms = self._rate_terms(g, dx)
        else:
            terms = self._pair_terms(g, dx, w)
        loss = jnp.mean(jnp.stack(terms), axis=0)
        if self.drift_weight > 0:
            loss = loss + self.drift_weight * self.drift(tokens, consts, data)
        # trivial-solution guards
        var_tokens = jnp.arange(E.FIRST_VAR, E.FIRST_VAR + V)
        uses_all = jnp.all(jnp.any(tokens[:, :, None] == var_tokens[None, None], axis=1), axis=1)
        gnorm = jnp.sqrt(jnp.sum(g**2, -1))
        flat = jnp.mean((gnorm < 1e-6).astype(jnp.float32), 1) > 0.05
        # a variable used only in a way that cancels (x - x) leaves f a function of fewer
        depends = jnp.mean((jnp.abs(g) > 1e-6 * (gnorm[..., None] + 1e-30)).astype(jnp.float32), 1)
        one_sided = jnp.any(depends < 0.5, axis=1)
        bad = (~uses_all) | flat | one_sided | ~jnp.isfinite(loss)
        return jnp.where(bad, TRIVIAL_PENALTY + jnp.where(jnp.isfinite(loss), loss, 0.0), loss)


def search_data(
    md: MotionData, max_rows: int, seed: int = 0, fit_rows: int = 0, drift_rows: int = 0
) -> dict:
    """The search's device data: `max_rows` random rows for the loss and, with `fit_rows`
    > 0, `x_fit, dx_fit` (up to that many rows, evenly spaced) for fitting term weights;
    with `drift_rows` > 0, `drift_x [T + 1, drift_rows, V]` (evenly spaced observed states
    of each of the T trajectories, then uniform states of their bounding box) for
    `ConservationObjective.drift`."""
    rng = np.random.default_rng(seed)
    idx = np.arange(len(md.states))
    if len(idx) > max_rows:
        idx = np.sort(rng.choice(len(idx), max_rows, replace=False))
    w = pair_weights(md.derivatives)[idx]
    out = {
        "x": jnp.asarray(md.states[idx], jnp.float32),
        "dx": jnp.asarray(md.derivatives[idx], jnp.float32),
        "w": jnp.asarray(w),
        "num_vars": jnp.int32(md.states.shape[1]),
    }
    if fit_rows > 0:
        fit = np.unique(np.linspace(0, len(md.states) - 1, fit_rows).astype(int))
        out["x_fit"] = jnp.asarray(md.states[fit], jnp.float32)
        out["dx_fit"] = jnp.asarray(md.derivatives[fit], jnp.float32)
    if drift_rows > 0:
        slabs = []
        for part in np.array_split(md.states, len(md.system.initial_states)):
            slabs.append(part[np.linspace(0, len(part) - 1, drift_rows).astype(int)])
        lo, hi = md.states.min(0), md.states.max(0)
        slabs.append(np.random.default_rng(seed + 1).uniform(lo, hi, (drift_rows, len(lo))))
        out["drift_x"] = jnp.asarray(np.stack(slabs), jnp.float32)
    return out


def energy_found(
    spec: E.Spec, tokens, consts, md: MotionData, samples: int = 2000, seed: int = 0
) -> tuple[bool, float]:
    """(found, |Pearson r|) between the candidate and the true energy on random states drawn
    uniformly from the bounding box of the recorded states."""
    rng = np.random.default_rng(seed)
    lo, hi = md.true_states.min(0), md.true_states.max(0)
    s = rng.uniform(lo, hi, size=(samples, len(lo)))
    f = np.asarray(E.evaluate_jit(spec, jnp.asarray(tokens), jnp.asarray(consts), s, 2048))
    h = np.asarray(md.system.energy(s), np.float64)
    with np.errstate(all="ignore"):
        f = f.astype(np.float64)
        if not np.all(np.isfinite(f)) or not np.isfinite(np.std(f)) or np.std(f) < 1e-12:
            return False, 0.0
        r = abs(float(np.corrcoef(f, h)[0, 1]))
    return (r > ENERGY_R, r) if np.isfinite(r) else (False, 0.0)


def _drift(spec: E.Spec, tokens, consts, along: np.ndarray, n_traj: int, seed: int) -> float:
    """Mean std of f within each of the `n_traj` trajectories concatenated in `along` over
    its std on 2000 uniform states of their bounding box (nan where f is not finite)."""
    rng = np.random.default_rng(seed)
    lo, hi = along.min(0), along.max(0)
    s = rng.uniform(lo, hi, size=(2000, len(lo)))
    ev = lambda a: np.asarray(  # noqa: E731
        E.evaluate_jit(spec, jnp.asarray(tokens), jnp.asarray(consts), a, 2048), np.float64
    )
    f_along, f_box = ev(along), ev(s)
    with np.errstate(all="ignore"):
        within = float(np.mean([p.std() for p in np.array_split(f_along, n_traj)]))
        out = within / max(float(f_box.std()), 1e-12)
    return out if np.isfinite(out) else float("nan")


def drift_along_motion(spec: E.Spec, tokens, consts, md: MotionData) -> float:
    """Std of f along the simulated motion over its std on the bounding box (small =
    conserved along the data but not constant everywhere); an evaluation measure, it reads
    the true states."""
    return _drift(spec, tokens, consts, md.true_states, len(md.system.initial_states), 1)


def observed_drift(spec: E.Spec, tokens, consts, md: MotionData) -> float:
    """`drift_along_motion` from the observations alone (the smoothed states and their
    box), for choices the method makes; inf where f is not finite."""
    out = _drift(spec, tokens, consts, md.states, len(md.system.initial_states), 0)
    return out if np.isfinite(out) else float("inf")


# ------------------------------------------------------------------------------------------
# Term weights fitted in closed form


def term_weight_refit(spec: E.Spec, tokens, consts, data, max_terms: int = 6, conjugate: int = 0):
    """For each expression `tokens, consts [K, L]`, the weights w of its additive terms t_m
    that make sum_m w_m t_m most nearly conserved along the data, in closed form, and that
    weighted expression (prefix tokens, constants) when it fits in `spec.max_len`.

    With a_m(r) = grad t_m . x_dot at row r (linear in w), the weights minimise
    |A w|^2 / (w' B w), where B_mn = sum_r sum_k (d_k t_m x_dot_k)(d_k t_n x_dot_k) is the
    scale of the summed per-variable rates: a generalised eigenproblem of size M <= max_terms.
    The term with the largest weighted scale keeps weight 1 (the fitness is scale-invariant);
    the others become `mul(C, t)`. Returns `(tokens, consts, changed [K])`; expressions that
    are a single term, have too many terms or would not fit are returned unchanged.

    `conjugate=d` also asks each (position, velocity) pair's own rate to vanish (see
    `ConservationObjective`): A gains those rows."""
    K, L = tokens.shape
    M = max_terms
    x, dx = data["x"], data["dx"]
    terms, tt, tc = E.term_segments(spec, tokens, consts, M)  # [K, M, L]
    valid = terms[2]
    g = E.input_gradients(spec, tt.reshape(K * M, L), tc.reshape(K * M, L), x)[1]
    g = g.reshape(K, M, *g.shape[1:])  # [K, M, R, V]
    parts = g * dx[None, None]  # per-variable rates
    a = jnp.sum(parts, -1)  # [K, M, R]
    finite = jnp.all(jnp.isfinite(a), -1) & valid
    a = jnp.where(finite[..., None], a, 0.0)
    parts = jnp.where(finite[..., None, None], parts, 0.0)
    S = jnp.einsum("kmr,knr->kmn", a, a)
    for i in range(conjugate):
        pair = parts[..., i] + parts[..., i + conjugate]  # [K, M, R]
        S = S + jnp.einsum("kmr,knr->kmn", pair, pair)
    B = jnp.einsum("kmrv,knrv->kmn", parts, parts)
    eye = jnp.eye(M)
    diag = jnp.diagonal(B, axis1=1, axis2=2)
    scale = jnp.maximum(jnp.max(diag, -1), 1e-30)[:, None, None]
    live = finite & (diag > 1e-9 * scale[..., 0])
    both = live[:, :, None] & live[:, None, :]
    # dead terms: weight driven to zero by a large cost and a unit scale
    S = jnp.where(both, S, 0.0) + eye * jnp.where(live, 0.0, 1e6 * scale[..., 0])[:, None, :]
    B = (
        jnp.where(both, B, 0.0)
        + eye * jnp.where(live, 1e-6 * scale[..., 0], scale[..., 0])[:, None, :]
    )
    Lc = jnp.linalg.cholesky(B)
    Li = jax.scipy.linalg.solve_triangular(Lc, jnp.broadcast_to(eye, B.shape), lower=True)
    Mtx = Li @ S @ jnp.swapaxes(Li, 1, 2)
    _, vecs = jnp.linalg.eigh(0.5 * (Mtx + jnp.swapaxes(Mtx, 1, 2)))
    w = jnp.einsum("kmn,km->kn", Li, vecs[:, :, 0])  # L^-T u
    spread = jnp.sqrt(jnp.maximum(diag, 0.0))
    return E.apply_term_weights(spec, tokens, consts, terms, w, live, spread)


def trajectory_weight_refit(
    spec: E.Spec,
    tokens,
    consts,
    md: MotionData,
    max_terms: int = 6,
    unique: float = 0.1,
    samples: int = 2000,
    seed: int = 0,
):
    """Term weights of one expression `tokens, consts [L]` refitted on the observed states
    alone (no derivatives): the weights w of its additive terms t_m that minimise the spread
    of sum_m w_m t_m within each recorded trajectory relative to its spread over the box of
    the observed states, a generalised eigenproblem W w = lambda B w in float64 (W: the
    within-trajectory covariance of the terms, B: their covariance on `samples` uniform
    states of the box).

    `term_weight_refit` fits the same weights from the estimated time derivatives, whose
    accelerations carry the Savitzky-Golay filter's bias; the smoothed positions and
    velocities used here are more accurate (the double pendulum's energy terms, weighted
    1.3 / 0.4 / -18 / -9 instead of 1 / 0.5 / -19.62 / -9.81, come back at |r| 0.9999998 with
    its energy). The fit is used only where the conserved combination is unique: the
    smallest eigenvalue at most `unique` times the next (a structure holding two conserved
    quantities, such as both normal-mode energies of coupled oscillators, has a second
    near-zero eigenvalue, and its minimiser is an arbitrary mixture of them).

    Returns `(tokens, consts, changed)`: the input unchanged when the expression is a single
    term, has more than `max_terms` terms, the combination is not unique or the fit fails."""
    tokens, consts = np.asarray(tokens)[None], np.asarray(consts)[None]
    terms, tt, tc = E.term_segments(spec, jnp.asarray(tokens), jnp.asarray(consts), max_terms)
    valid = np.asarray(terms[2])[0]
    if not bool(np.asarray(terms[3])[0]) or valid.sum() < 2:
        return tokens[0], consts[0], False
    M, L = tt.shape[1], tt.shape[2]
    lo, hi = md.states.min(0), md.states.max(0)
    box = np.random.default_rng(seed).uniform(lo, hi, size=(samples, len(lo)))

    def values(x):
        out = E.evaluate_jit(spec, tt.reshape(M, L), tc.reshape(M, L), jnp.asarray(x), 2048)
        return np.asarray(out, np.float64).T  # [rows, M]

    # one call for both row sets: one compilation per expression size, not two
    both = values(np.concatenate([md.states, box]))
    if not np.all(np.isfinite(both)):
        return tokens[0], consts[0], False
    along, over_box = np.split(both, [len(md.states)])
    n_traj = len(md.system.initial_states)
    W = sum(np.cov(p.T, bias=True) * len(p) for p in np.array_split(along, n_traj)) / len(along)
    B = np.cov(over_box.T, bias=True)
    spread = np.sqrt(np.maximum(np.diag(B), 0.0))
    live = valid & (spread > 1e-9 * max(spread.max(), 1e-30))
    if live.sum() < 2:
        return tokens[0], consts[0], False
    idx = np.flatnonzero(live)
    Wl, Bl = W[np.ix_(idx, idx)], B[np.ix_(idx, idx)]
    try:
        lc = np.linalg.cholesky(Bl + 1e-12 * np.trace(Bl) * np.eye(len(idx)))
    except np.linalg.LinAlgError:
        return tokens[0], consts[0], False
    li = np.linalg.inv(lc)
    m = li @ Wl @ li.T
    lam, vecs = np.linalg.eigh(0.5 * (m + m.T))
    if not lam[0] <= unique * lam[1]:
        return tokens[0], consts[0], False
    w = np.zeros(M)
    w[idx] = li.T @ vecs[:, 0]
    nt, nc, changed = E.apply_term_weights(
        spec,
        jnp.asarray(tokens),
        jnp.asarray(consts),
        terms,
        jnp.asarray(w[None], jnp.float32),
        jnp.asarray(live[None]),
        jnp.asarray(spread[None], jnp.float32),
    )
    return np.asarray(nt)[0], np.asarray(nc)[0], bool(np.asarray(changed)[0])
