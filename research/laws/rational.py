"""Sparse rational-polynomial candidates for the symbolic regressor's Pareto front.

Many physical laws are ratios of short polynomials, (m1 r1 + m2 r2) / (m1 + m2), or their
square roots, m0 / sqrt(1 - v^2 / c^2). A genetic search finds such sums over sums late or
never; a least-squares fit finds them at once when the data are exact. With monomials
g(x) of total degree <= `degree` and p in {1, 2},

    y^p (g_lead + sum_j b_j g_j) = sum_i a_i g_i

is linear in a and b once the lead denominator monomial's weight is fixed to 1. For every
lead, `rational_candidates` grows a sparse solution greedily (orthogonal matching pursuit over
the columns g_i and -y^p g_j: the column most correlated with the residual joins, then all
selected weights are refitted by least squares) and keeps the first model with at most
`max_terms` terms whose prediction (num / den)^(1/p) has a normalised mean squared error below
`tol` on the rows. Weights within 1e-6 (relative) of a multiple of 1/2 are rounded to it
when that keeps the error below `tol`. Every candidate is a sympy expression;
`SymbolicRegressor` encodes those that fit its operators and size and scores them with its own
front, where they compete with the search's expressions (model selection unchanged).

This is the polynomial-fit step of AI Feynman (Udrescu & Tegmark 2020) extended to ratios,
with sparse selection instead of a fixed basis. Noise-free data only make it useful: with
noise no candidate reaches `tol` and none is offered.
"""

from __future__ import annotations

import itertools

import numpy as np


def monomial_exponents(num_vars: int, degree: int) -> np.ndarray:
    """`[M, num_vars]` exponents of every monomial of total degree <= `degree` (the
    constant first, then by degree)."""
    out = [
        e
        for total in range(degree + 1)
        for e in itertools.product(range(total + 1), repeat=num_vars)
        if sum(e) == total
    ]
    return np.asarray(out, np.int64).reshape(len(out), num_vars)


def _nice(w: np.ndarray) -> np.ndarray:
    """Weights within 1e-6 (relative) of a multiple of 1/2 rounded to it."""
    r = np.round(2.0 * w) / 2.0
    return np.where(np.abs(w - r) <= 1e-6 * np.maximum(np.abs(w), 1.0), r, w)


def _predict(G, num, a, den, b, lead, p):
    top = G[:, num] @ a if len(num) else np.zeros(len(G))
    bottom = G[:, lead] + (G[:, den] @ b if len(den) else 0.0)
    with np.errstate(all="ignore"):
        q = top / bottom
        return q if p == 1 else np.sqrt(np.where(q >= 0, q, np.nan))


def _grow(F, t, usable, norms, max_terms, first, G_all, y, var_y, M, dens, lead, p, tol):
    """Orthogonal least squares after the columns `first`: the column whose part orthogonal
    to the chosen ones removes the most of the residual joins, all weights refitted; the
    first exact model, or None."""
    chosen: list[int] = []
    Fp, r = F.copy(), t.copy()  # columns and target orthogonal to the chosen ones
    for step in range(max_terms):
        pn = np.einsum("ij,ij->j", Fp, Fp)
        ok = usable & (pn > 1e-10)
        ok[chosen] = False
        if not ok.any():
            return None
        if step < len(first):
            k = first[step]
            if not ok[k]:
                return None
        else:
            gain = np.where(ok, (Fp.T @ r) ** 2 / np.where(ok, pn, 1.0), -1.0)
            k = int(np.argmax(gain))
        chosen.append(k)
        q = Fp[:, k] / np.sqrt(pn[k])
        Fp = Fp - np.outer(q, q @ Fp)
        r = r - q * (q @ r)
        if float(r @ r) > 1e-6 * float(t @ t) and step + 1 < max_terms:
            continue  # far from exact: no need to test it on all rows yet
        w, *_ = np.linalg.lstsq(F[:, chosen], t, rcond=None)
        w = w / norms[chosen]
        num = [c for c in chosen if c < M]
        den = [dens[c - M] for c in chosen if c >= M]
        if not num:
            continue
        a = np.asarray([w[i] for i, c in enumerate(chosen) if c < M])
        b = np.asarray([w[i] for i, c in enumerate(chosen) if c >= M])
        for a_, b_ in ((_nice(a), _nice(b)), (a, b)):
            pred = _predict(G_all, num, a_, den, b_, lead, p)
            nmse = float(np.mean((pred - y) ** 2) / var_y)
            if np.isfinite(nmse) and nmse < tol:
                return num, a_, den, b_, nmse
    return None


def rational_candidates(
    X: np.ndarray,
    y: np.ndarray,
    degree: int = 3,
    max_terms: int = 4,
    tol: float = 1e-10,
    max_rows: int = 400,
    seed: int = 0,
    max_monomials: int = 84,
    max_starts: int = 80,
) -> list[dict]:
    """Exact sparse rational fits of `y [n]` on `X [n, d]` (see the module doc).

    Returns dicts with `power` (1 or 2), `numerator` and `denominator` (lists of
    (weight, exponents [d]) pairs, the lead's weight 1 first in the denominator), `terms` and
    `nmse` (on all rows), fewest terms first, one per distinct set of monomials."""
    X = np.asarray(X, np.float64)
    y = np.asarray(y, np.float64)
    if X.ndim != 2 or y.shape != (X.shape[0],) or degree < 1 or max_terms < 1:
        raise ValueError(
            f"rational_candidates needs X [n, d], y [n], degree >= 1 and max_terms >= 1; got "
            f"X {X.shape}, y {y.shape}, degree {degree}, max_terms {max_terms}"
        )
    if not (np.all(np.isfinite(X)) and np.all(np.isfinite(y))) or np.var(y) <= 0:
        return []
    rows = np.arange(len(y))
    if len(rows) > max_rows:
        rows = np.sort(np.random.default_rng(seed).choice(len(y), max_rows, replace=False))
    var_y = float(np.var(y))
    found: dict[tuple, dict] = {}
    powers = (1, 2) if np.all(y > 0) else (1,)
    for deg in range(1, degree + 1):
        E = monomial_exponents(X.shape[1], deg)
        if len(E) > max_monomials and deg > 1:
            break
        with np.errstate(all="ignore"):
            G_all = np.prod(X[:, None, :] ** E[None, :, :], axis=2)  # [n, M]
        if not np.all(np.isfinite(G_all)):
            break
        _fit_degree(G_all, rows, y, var_y, E, powers, max_terms, tol, max_starts, found)
        if found:
            break  # the lowest degree with an exact fit: higher ones only add equivalent forms
    return sorted(found.values(), key=lambda c: (c["terms"], c["power"], c["nmse"]))


def _fit_degree(G_all, rows, y, var_y, E, powers, max_terms, tol, max_starts, found):
    G, ys = G_all[rows], y[rows]
    M = G.shape[1]
    for p in powers:
        Y = ys**p
        for lead in range(M):
            t = Y * G[:, lead]
            # columns: numerator monomials, then -Y x denominator monomials (lead excluded)
            dens = [j for j in range(M) if j != lead]
            F = np.concatenate([G, -Y[:, None] * G[:, dens]], axis=1)
            norms = np.linalg.norm(F, axis=0)
            usable = norms > 1e-12 * max(float(norms.max()), 1e-300)
            F = F / np.where(usable, norms, 1.0)
            cols = [int(k) for k in np.flatnonzero(usable)]
            if F.shape[1] <= max_starts // 2:  # every pair of first columns
                starts = list(itertools.combinations(cols, 2))
            elif F.shape[1] <= max_starts:  # every first column
                starts = [(k,) for k in cols]
            else:
                starts = [()]
            for first in starts:
                cand = _grow(F, t, usable, norms, max_terms, first, G_all, y, var_y, M, dens,
                             lead, p, tol)  # fmt: skip
                if cand is None:
                    continue
                num, a_, den, b_, nmse = cand
                key = (p, lead, tuple(sorted(num)), tuple(sorted(den)))
                if key not in found:
                    found[key] = {
                        "power": p,
                        "numerator": [(float(v), E[i]) for v, i in zip(a_, num, strict=True)],
                        "denominator": [(1.0, E[lead])]
                        + [(float(v), E[j]) for v, j in zip(b_, den, strict=True)],
                        "terms": len(num) + len(den) + 1,
                        "nmse": nmse,
                    }


def to_sympy(candidate: dict, names):
    """The sympy expression of a candidate, variables named `names`."""
    import sympy as sp

    syms = [sp.Symbol(n) for n in names]

    def poly(terms):
        out = sp.Integer(0)
        for w, e in terms:
            mono = sp.Mul(*[s ** int(k) for s, k in zip(syms, e, strict=True) if k])
            wv = sp.Rational(int(round(2 * w)), 2) if 2 * w == round(2 * w) else sp.Float(w)
            out += wv * mono
        return out

    q = poly(candidate["numerator"]) / poly(candidate["denominator"])
    return q if candidate["power"] == 1 else sp.sqrt(q)
