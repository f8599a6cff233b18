"""Genetic programming over token arrays: one generation is one pure, jitted step.

State (a pytree of arrays, checkpointed by `frontier.loop`):
    tokens, consts  [islands, island_size, L]   the population
    loss            [islands, island_size]      objective value of each individual
    hof_tokens, hof_consts [L + 1, L], hof_loss [L + 1]
                                                hall of fame: best expression of each size
    generation      int32

A generation, per island: tournament selection on loss + parsimony * size, then each child
is one of subtree crossover, subtree mutation (crossover with a fresh random tree), hoist
mutation (a subtree replaced by one of its own subtrees), point mutation (nodes replaced by
others of the same arity, constants jittered), with `p_add_term > 0` a new additive term
(`add(parent, random tree)`, or with `add_term_donor` `add(parent, a subtree of the other
parent)`, for objectives that fit term weights), with `p_wrap > 0` an inserted node (a
subtree s becomes `op(s, a subtree of the other parent)`), or reproduction; the
best `elite` survive unchanged. The children are evaluated, the constants of the best
`optimize_top` children of every island are tuned by Adam on the objective's gradient
(`jax.grad` through the interpreter), and every `migration_every` generations the best
`migrants` of each island replace the worst of the next one (ring). The objective is any
hashable callable `(tokens [P, L], consts [P, L], data) -> loss [P]`, differentiable in
`consts`.

An objective may also offer `refine(tokens, consts, data) -> (tokens, consts, changed)`, a
structural rewrite that may change the tokens (e.g. `conservation.term_weight_refit`, which
gives each additive term a fitted weight). It is applied to the best `refine_top` distinct
children of every island and to `refine_random` others drawn at random (a structure whose
terms are right but badly weighted can rank anywhere), and a rewrite replaces its child only
if it fits `max_size` and lowers the selection fitness (loss + parsimony x size).
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import optax

from research.laws.expr import (
    CONST,
    FIRST_VAR,
    OPERATORS,
    PAD,
    Spec,
    arities,
    sizes,
    subtree_ends,
    token_is,
    weighted_sum_position,
)

BIG = 1e10  # loss of an expression whose output is not finite


@dataclasses.dataclass(frozen=True)
class SearchParams:
    spec: Spec
    islands: int = 4
    island_size: int = 250
    tournament_size: int = 10
    p_crossover: float = 0.6
    p_subtree_mutation: float = 0.1
    p_hoist_mutation: float = 0.05
    p_point_mutation: float = 0.15
    p_point_replace: float = 0.1
    p_add_term: float = 0.0
    # of the add-term children, the fraction whose new term is a random subtree of the second
    # parent (terms found anywhere in the island recombine into sums) instead of a fresh tree
    add_term_donor: float = 0.0
    # False: the new term is added at the root, add(parent, term); True: to the sum whose
    # terms the regression objective weights (`expr.weighted_sum_position`: the root sum, or a
    # sum that is a factor of a product root or the numerator of a division root), so that
    # A (t_1 + t_2) grows into A (t_1 + t_2 + t_3) (a root that is not such a sum: added at
    # the root's first operand of a product or quotient, else at the root); half of the
    # quotient roots' new terms go to the divisor (under its square root, if it is one), and
    # a square root's to its radicand (`add_term_position`)
    add_term_inside: bool = False
    p_wrap: float = 0.0
    parsimony: float = 1e-3
    init_max_size: int = 12
    max_size: int = 30
    const_range: tuple[float, float] = (-2.0, 2.0)
    p_const: float = 0.25
    p_terminal: float = 0.3
    elite: int = 1
    migration_every: int = 5
    migrants: int = 5
    optimize_top: int = 8
    optimize_steps: int = 20
    optimize_lr: float = 0.05
    optimize_rows: int = 256
    refine_top: int = 0
    refine_random: int = 0

    def __post_init__(self):
        if self.max_size > self.spec.max_len:
            raise ValueError(f"max_size={self.max_size} exceeds max_len={self.spec.max_len}")
        if not 1 <= self.init_max_size <= self.max_size:
            raise ValueError(f"init_max_size must be in [1, max_size], got {self.init_max_size}")
        if self.islands < 1 or self.island_size < 2:
            raise ValueError("need at least one island of at least two individuals")
        if not 1 <= self.tournament_size <= self.island_size:
            raise ValueError(
                f"tournament_size must be in [1, island_size={self.island_size}], "
                f"got {self.tournament_size}"
            )
        probs = (
            self.p_crossover,
            self.p_subtree_mutation,
            self.p_hoist_mutation,
            self.p_point_mutation,
            self.p_add_term,
            self.p_wrap,
        )
        if sum(probs) > 1.0 + 1e-9 or min(probs) < 0:
            raise ValueError(
                f"the operator probabilities must be >= 0 and sum to <= 1, got {sum(probs)}"
            )
        if not 0.0 <= self.add_term_donor <= 1.0:
            raise ValueError(f"add_term_donor must be in [0, 1], got {self.add_term_donor}")
        if self.p_wrap > 0 and not _binary_tokens(self.spec):
            raise ValueError("p_wrap > 0 needs a binary operator in the operator set")
        if self.p_add_term > 0 and "add" not in self.spec.ops:
            raise ValueError("p_add_term > 0 needs the 'add' operator in the operator set")
        if self.migrants >= self.island_size or self.elite >= self.island_size:
            raise ValueError("migrants and elite must be smaller than island_size")
        if self.optimize_top > self.island_size:
            raise ValueError("optimize_top must be at most island_size")
        if min(self.refine_top, self.refine_random) < 0 or (
            self.refine_top + self.refine_random > self.island_size
        ):
            raise ValueError(
                f"refine_top and refine_random must be >= 0 with a sum <= island_size "
                f"({self.island_size}), got {self.refine_top} and {self.refine_random}"
            )


def fast_key(key: jax.Array) -> jax.Array:
    """A counter-based key derived from `key`: the same stream every time, far less code to
    compile than threefry (the genetic operators draw many random numbers)."""
    bits = jax.random.bits(key, (4,), jnp.uint32)
    return jax.random.wrap_key_data(bits, impl="unsafe_rbg")


def _gumbel(u):
    u = jnp.clip(u, 1e-7, 1.0 - 1e-7)
    return -jnp.log(-jnp.log(u))


def random_trees(p: SearchParams, key: jax.Array, n: int, num_vars) -> tuple[jax.Array, ...]:
    """`n` random expressions (grow method, sizes up to `init_max_size`): `[n, L]` each."""
    spec = p.spec
    L = spec.max_len
    ar_ops = jnp.asarray(spec.arity_table()[spec.first_op :])
    n_ops = len(spec.ops)
    U = jax.random.uniform(fast_key(key), (n, L, 5 + n_ops))
    lo, hi = p.const_range
    nv = jnp.maximum(num_vars, 1)

    def one(u):
        target = 1 + jnp.floor(u[0, 0] * p.init_max_size).astype(jnp.int32)
        var = jnp.minimum(jnp.floor(u[:, 2] * nv).astype(jnp.int32), nv - 1)
        cval = lo + (hi - lo) * u[:, 3]
        is_const = u[:, 4] < p.p_const

        def body(open_slots, k_pos):
            pos, ut, g, v, ic = k_pos
            fits = pos + open_slots + ar_ops - 1 < target
            use_op = (open_slots > 0) & fits.any() & (ut > p.p_terminal)
            op = spec.first_op + jnp.argmax(jnp.where(fits, g, -jnp.inf))
            term = jnp.where(ic, CONST, FIRST_VAR + v)
            tok = jnp.where(open_slots == 0, PAD, jnp.where(use_op, op, term))
            arity = jnp.where(use_op, ar_ops[op - spec.first_op], 0)
            new_open = jnp.where(open_slots > 0, open_slots - 1 + arity, 0)
            return new_open, tok

        xs = (jnp.arange(L), u[:, 1], _gumbel(u[:, 5:]), var, is_const)
        _, toks = jax.lax.scan(body, jnp.int32(1), xs)
        consts = jnp.where(toks == CONST, cval, 0.0)
        return toks.astype(jnp.int32), consts.astype(jnp.float32)

    return jax.vmap(one)(U)


def _pick_subtree(spec, u, tokens, lo=None, hi=None):
    """A random node of `tokens [L]` (operators 9x as likely as leaves), within [lo, hi),
    from one uniform number `u` by inverting the cumulative weights."""
    L = tokens.shape[0]
    pos = jnp.arange(L)
    valid = tokens != PAD
    if lo is not None:
        valid = valid & (pos >= lo) & (pos < hi)
    is_op = arities(spec, tokens) > 0
    w = jnp.where(valid & is_op, 9.0, jnp.where(valid, 1.0, 0.0))
    cw = jnp.cumsum(w)
    idx = jnp.sum(cw <= u * cw[-1])
    return jnp.minimum(idx, jnp.max(jnp.where(valid, pos, 0)))


def splice(t1, c1, i, e1, t2, c2, j, e2, max_size):
    """Replace the subtree `[i, e1)` of (t1, c1) by the subtree `[j, e2)` of (t2, c2).

    Returns the child, or the first parent unchanged when the child would exceed `max_size`.
    """
    L = t1.shape[0]
    k = jnp.arange(L)
    len2 = e2 - j
    newlen = sizes(t1) - (e1 - i) + len2
    from2 = (k >= i) & (k < i + len2)
    idx1 = jnp.clip(jnp.where(k < i, k, e1 + k - i - len2), 0, L - 1)
    idx2 = jnp.clip(j + k - i, 0, L - 1)
    tok = jnp.where(from2, t2[idx2], t1[idx1])
    con = jnp.where(from2, c2[idx2], c1[idx1])
    keep = k < newlen
    tok = jnp.where(keep, tok, PAD)
    con = jnp.where(keep, con, 0.0)
    ok = newlen <= max_size
    return jnp.where(ok, tok, t1), jnp.where(ok, con, c1)


def point_mutation(p: SearchParams, u, tokens, consts, num_vars):
    """Each node, with probability `p_point_replace`, becomes a random node of the same arity;
    replaced constants are jittered by up to 10%. `u [L, 5 + num_ops]` uniform numbers."""
    spec = p.spec
    ar = arities(spec, tokens)
    ar_ops = jnp.asarray(spec.arity_table()[spec.first_op :])
    same = ar_ops[None, :] == ar[:, None]
    new_op = spec.first_op + jnp.argmax(jnp.where(same, _gumbel(u[:, 5:]), -jnp.inf), axis=1)
    nv = jnp.maximum(num_vars, 1)
    var = FIRST_VAR + jnp.minimum(jnp.floor(u[:, 0] * nv).astype(jnp.int32), nv - 1)
    new_term = jnp.where(u[:, 1] < p.p_const, CONST, var)
    cval = p.const_range[0] + (p.const_range[1] - p.const_range[0]) * u[:, 2]
    replace = (u[:, 3] < p.p_point_replace) & (tokens != PAD)
    new_tok = jnp.where(ar > 0, new_op, new_term)
    tok = jnp.where(replace, new_tok, tokens)
    con = jnp.where(replace & (new_tok == CONST) & (tokens != CONST), cval, consts)
    jitter = 1.0 + 0.2 * (u[:, 4] - 0.5)
    con = jnp.where(tok == CONST, con * jnp.where(replace, jitter, 1.0), 0.0)
    return tok.astype(jnp.int32), con


def _join(op, t1, c1, i, n1, t2, c2, j, n2):
    """`op(t1[i : i + n1], t2[j : j + n2])`: a binary node over two subtrees, padded to L
    (its size is 1 + n1 + n2; the caller checks it fits)."""
    L = t1.shape[0]
    k = jnp.arange(L)
    first = (k >= 1) & (k <= n1)
    i1 = jnp.clip(i + k - 1, 0, L - 1)
    i2 = jnp.clip(j + k - 1 - n1, 0, L - 1)
    inside = k < 1 + n1 + n2
    tok = jnp.where(k == 0, op, jnp.where(first, t1[i1], jnp.where(inside, t2[i2], PAD)))
    con = jnp.where(first, c1[i1], jnp.where(inside & (k > n1), c2[i2], 0.0))
    return tok.astype(t1.dtype), con


def _binary_tokens(spec: Spec) -> list[int]:
    return [spec.first_op + k for k, o in enumerate(spec.ops) if OPERATORS[o].arity == 2]


def add_term(p: SearchParams, t1, c1, t2, c2, j=0, e2=None, at=0, ends=None):
    """The subtree of t1 at `at` (by default the whole t1) replaced by `add(that subtree,
    t2[j:e2])` (by default all of t2): a new additive term, for objectives that fit term
    weights; `t1` unchanged when the result would exceed `max_size`. `ends`: t1's
    `subtree_ends`, when already at hand."""
    n2 = (sizes(t2) if e2 is None else e2) - j
    end = (subtree_ends(p.spec, t1) if ends is None else ends)[at]
    n1 = end - at
    add = p.spec.first_op + p.spec.ops.index("add")
    tok, con = _join(add, t1, c1, at, n1, t2, c2, j, n2)
    return splice(t1, c1, at, end, tok, con, 0, 1 + n1 + n2, p.max_size)


def add_term_position(p: SearchParams, t1, ends=None, u=1.0):
    """Where `add_term` puts a new term when `p.add_term_inside` (see `SearchParams`). For a
    quotient root, with probability 1/2 (the uniform `u` < 0.5) the divisor instead, or the
    sum under it when it is a square root; for a square root, the sum under it: the sums whose
    weights `RegressionObjective.refine` fits there (`expr.power_sum_position`)."""
    L = t1.shape[0]
    ends = subtree_ends(p.spec, t1) if ends is None else ends
    at = weighted_sum_position(p.spec, t1, ends)
    at = jnp.where((at == 0) & token_is(p.spec, t1[0], ("mul", "div")), 1, at)
    c2 = jnp.minimum(ends[1], L - 1)
    divisor = jnp.where(token_is(p.spec, t1[c2], ("sqrt",)), c2 + 1, c2)
    at = jnp.where(token_is(p.spec, t1[0], ("div",)) & (u < 0.5), divisor, at)
    return jnp.where(token_is(p.spec, t1[0], ("sqrt",)), 1, at).astype(jnp.int32)


def wrap(p: SearchParams, t1, c1, i, e1, t2, c2, j, e2, u):
    """Subtree `[i, e1)` of t1 replaced by `op(that subtree, subtree [j, e2) of t2)` with a
    binary operator drawn by the uniform `u` (an inserted node: a term gains a factor or a
    summand without losing what it was); t1 unchanged when the result exceeds `max_size`."""
    binary = jnp.asarray(_binary_tokens(p.spec))
    op = binary[jnp.minimum(jnp.floor(u * len(binary)).astype(jnp.int32), len(binary) - 1)]
    n1, n2 = e1 - i, e2 - j
    tok, con = _join(op, t1, c1, i, n1, t2, c2, j, n2)
    return splice(t1, c1, i, e1, tok, con, 0, 1 + n1 + n2, p.max_size)


def _tournament(u, fitness):
    """Winner of a tournament among `len(u)` uniformly drawn individuals."""
    n = fitness.shape[0]
    idx = jnp.minimum(jnp.floor(u * n).astype(jnp.int32), n - 1)
    return idx[jnp.argmin(fitness[idx])]


def offspring_randoms(p: SearchParams) -> int:
    """How many uniform numbers one child consumes."""
    return 2 * p.tournament_size + 4 + p.spec.max_len * (5 + len(p.spec.ops))


def _offspring(p: SearchParams, u, tokens, consts, fitness, fresh_t, fresh_c, num_vars):
    """One child of an island (`tokens [N, L]`, `fitness [N]`) from uniforms `u`."""
    spec = p.spec
    T, L = p.tournament_size, spec.max_len
    a = _tournament(u[:T], fitness)
    b = _tournament(u[T : 2 * T], fitness)
    r = u[2 * T : 2 * T + 4]
    t1, c1, t2, c2 = tokens[a], consts[a], tokens[b], consts[b]
    ends1 = subtree_ends(spec, t1)
    i = _pick_subtree(spec, r[0], t1)
    e1 = ends1[i]
    j = _pick_subtree(spec, r[1], t2)
    e2 = subtree_ends(spec, t2)[j]
    cross = splice(t1, c1, i, e1, t2, c2, j, e2, p.max_size)
    sub = splice(t1, c1, i, e1, fresh_t, fresh_c, 0, sizes(fresh_t), p.max_size)
    h = _pick_subtree(spec, r[2], t1, i, e1)
    hoist = splice(t1, c1, i, e1, t1, c1, h, ends1[h], p.max_size)
    point = point_mutation(p, u[2 * T + 4 :].reshape(L, -1), t1, c1, num_vars)
    probs = [p.p_crossover, p.p_subtree_mutation, p.p_hoist_mutation, p.p_point_mutation]
    options_t, options_c = (
        [cross[0], sub[0], hoist[0], point[0]],
        [cross[1], sub[1], hoist[1], point[1]],
    )
    if p.p_add_term > 0:
        # where r[3] fell inside the add-term interval picks the new term's source, so the
        # random stream is the same with and without donors
        start = p.p_crossover + p.p_subtree_mutation + p.p_hoist_mutation + p.p_point_mutation
        donor = (r[3] - start) < p.add_term_donor * p.p_add_term
        probs.append(p.p_add_term)
        added = add_term(
            p,
            t1,
            c1,
            jnp.where(donor, t2, fresh_t),
            jnp.where(donor, c2, fresh_c),
            jnp.where(donor, j, 0),
            jnp.where(donor, e2, sizes(fresh_t)),
            # r[0] (the crossover's subtree) is free in this branch
            add_term_position(p, t1, ends1, r[0]) if p.add_term_inside else 0,
            ends1,
        )
        options_t.append(added[0])
        options_c.append(added[1])
    if p.p_wrap > 0:
        probs.append(p.p_wrap)
        wrapped = wrap(p, t1, c1, i, e1, t2, c2, j, e2, r[2])
        options_t.append(wrapped[0])
        options_c.append(wrapped[1])
    edges = jnp.cumsum(jnp.asarray(probs))
    # 0 crossover, 1 subtree, 2 hoist, 3 point, (add a term), (wrap), last: copy
    choice = jnp.sum(r[3] >= edges)
    options_t = jnp.stack([*options_t, t1])
    options_c = jnp.stack([*options_c, c1])
    return options_t[choice], options_c[choice]


def selection_fitness(p: SearchParams, loss, tokens):
    return loss + p.parsimony * sizes(tokens)


def _clean(loss):
    return jnp.where(jnp.isfinite(loss), loss, BIG)


def optimize_constants(p: SearchParams, objective, tokens, consts, loss, data):
    """Adam on the constants of `tokens, consts [K, L]`; keeps a result only if it is better."""
    if p.optimize_steps == 0:
        return consts, loss
    opt = optax.adam(p.optimize_lr)
    mask = (tokens == CONST).astype(consts.dtype)

    def total(c):
        return jnp.sum(_clean(objective(tokens, c, data)))

    grad_fn = jax.grad(total)

    def body(_, carry):
        c, s = carry
        g = grad_fn(c) * mask
        g = jnp.where(jnp.isfinite(g), g, 0.0)
        upd, s = opt.update(g, s, c)
        return optax.apply_updates(c, upd), s

    new, _ = jax.lax.fori_loop(0, p.optimize_steps, body, (consts, opt.init(consts)))
    new_loss = _clean(objective(tokens, new, data))
    better = new_loss < loss
    return jnp.where(better[:, None], new, consts), jnp.where(better, new_loss, loss)


def _update_hof(L, hof_t, hof_c, hof_l, tokens, consts, loss):
    size = sizes(tokens)
    s = jnp.arange(L + 1)
    masked = jnp.where(size[None, :] == s[:, None], loss[None, :], jnp.inf)
    idx = jnp.argmin(masked, axis=1)
    best = jnp.min(masked, axis=1)
    better = best < hof_l
    return (
        jnp.where(better[:, None], tokens[idx], hof_t),
        jnp.where(better[:, None], consts[idx], hof_c),
        jnp.where(better, best, hof_l),
    )


def init_state(p: SearchParams, objective, data, key) -> dict:
    """A random population, its losses and the hall of fame it starts."""
    n = p.islands * p.island_size
    L = p.spec.max_len
    t, c = random_trees(p, key, n, data["num_vars"])
    loss = _clean(objective(t, c, data))
    hof_t, hof_c, hof_l = _update_hof(
        L,
        jnp.zeros((L + 1, L), jnp.int32),
        jnp.zeros((L + 1, L), jnp.float32),
        jnp.full((L + 1,), jnp.inf, jnp.float32),
        t,
        c,
        loss,
    )
    shape = (p.islands, p.island_size)
    return {
        "tokens": t.reshape(*shape, L),
        "consts": c.reshape(*shape, L),
        "loss": loss.reshape(shape),
        "hof_tokens": hof_t,
        "hof_consts": hof_c,
        "hof_loss": jnp.where(jnp.isfinite(hof_l), hof_l, BIG),
        "generation": jnp.int32(0),
    }


def _refine(p: SearchParams, objective, kt, kc, loss, data, key):
    """`objective.refine` on the best `refine_top` distinct children of each island and on
    `refine_random` others drawn at random."""
    n_isl, N, L = kt.shape
    K = p.refine_top + p.refine_random
    fit = selection_fitness(p, loss, kt)
    order = jnp.argsort(fit, axis=1)
    sf = jnp.take_along_axis(fit, order, axis=1)
    # copies of one individual share its fitness: rank each value once
    dup = jnp.concatenate([jnp.zeros((n_isl, 1), bool), sf[:, 1:] == sf[:, :-1]], axis=1)
    best = jnp.take_along_axis(order, jnp.argsort(jnp.where(dup, jnp.inf, sf), axis=1), 1)
    rows = jnp.arange(n_isl)[:, None]
    # rank: the best distinct first, then the rest in random order
    rank = jax.random.uniform(key, (n_isl, N))
    rank = rank.at[rows, best[:, : p.refine_top]].set(-1.0)
    top = jnp.argsort(rank, axis=1)[:, :K]
    tt = jnp.take_along_axis(kt, top[..., None], axis=1).reshape(-1, L)
    tc = jnp.take_along_axis(kc, top[..., None], axis=1).reshape(-1, L)
    tf = jnp.take_along_axis(fit, top, axis=1).reshape(-1)
    tl = jnp.take_along_axis(loss, top, axis=1).reshape(-1)
    nt, nc, changed = objective.refine(tt, tc, data)
    nl = _clean(objective(nt, nc, data))
    better = changed & (sizes(nt) <= p.max_size) & (selection_fitness(p, nl, nt) < tf)
    nt = jnp.where(better[:, None], nt, tt)
    nc = jnp.where(better[:, None], nc, tc)
    nl = jnp.where(better, nl, tl)
    kt = kt.at[rows, top].set(nt.reshape(n_isl, K, L))
    kc = kc.at[rows, top].set(nc.reshape(n_isl, K, L))
    loss = loss.at[rows, top].set(nl.reshape(n_isl, K))
    return kt, kc, loss


def generation(p: SearchParams, objective, state: dict, data, key) -> tuple[dict, dict]:
    """One generation of every island; returns the new state and metrics."""
    n_isl, N, L = state["tokens"].shape
    num_vars = data["num_vars"]
    k_fresh, k_child = jax.random.split(key)
    fresh_t, fresh_c = random_trees(p, k_fresh, n_isl * N, num_vars)
    U = jax.random.uniform(fast_key(k_child), (n_isl, N, offspring_randoms(p)))
    fresh_t = fresh_t.reshape(n_isl, N, L)
    fresh_c = fresh_c.reshape(n_isl, N, L)
    fit = selection_fitness(p, state["loss"], state["tokens"])

    def island(u, t, c, f, ft, fc):
        kids = jax.vmap(lambda uu, a, b: _offspring(p, uu, t, c, f, a, b, num_vars))(u, ft, fc)
        order = jnp.argsort(f)
        elite = order[: p.elite]
        kt = kids[0].at[: p.elite].set(t[elite])
        kc = kids[1].at[: p.elite].set(c[elite])
        return kt, kc

    kt, kc = jax.vmap(island)(U, state["tokens"], state["consts"], fit, fresh_t, fresh_c)
    flat_t, flat_c = kt.reshape(n_isl * N, L), kc.reshape(n_isl * N, L)
    loss = _clean(objective(flat_t, flat_c, data)).reshape(n_isl, N)

    if p.optimize_top > 0 and p.optimize_steps > 0:
        has_const = jnp.any(kt == CONST, axis=-1)
        rank_key = jnp.where(has_const, selection_fitness(p, loss, kt), jnp.inf)
        top = jnp.argsort(rank_key, axis=1)[:, : p.optimize_top]  # [n_isl, K]
        tt = jnp.take_along_axis(kt, top[..., None], axis=1).reshape(-1, L)
        tc = jnp.take_along_axis(kc, top[..., None], axis=1).reshape(-1, L)
        tl = jnp.take_along_axis(loss, top, axis=1).reshape(-1)
        R = data["x"].shape[0]
        n = min(p.optimize_rows, R)
        sub = jax.tree.map(lambda v: v[:n] if v.ndim >= 1 and v.shape[0] == R else v, data)
        # tuned on a subset of rows, accepted only if better on all of them
        nc, _ = optimize_constants(p, objective, tt, tc, jnp.full_like(tl, jnp.inf), sub)
        nl = _clean(objective(tt, nc, data))
        better = nl < tl
        nc = jnp.where(better[:, None], nc, tc)
        nl = jnp.where(better, nl, tl)
        rows = jnp.arange(n_isl)[:, None]
        kc = kc.at[rows, top].set(nc.reshape(n_isl, p.optimize_top, L))
        loss = loss.at[rows, top].set(nl.reshape(n_isl, p.optimize_top))

    if p.refine_top + p.refine_random > 0 and hasattr(objective, "refine"):
        k_refine = jax.random.fold_in(key, 1)  # leaves the other streams as they were
        kt, kc, loss = _refine(p, objective, kt, kc, loss, data, k_refine)

    gen = state["generation"] + 1
    if n_isl > 1 and p.migrants > 0:
        f = selection_fitness(p, loss, kt)
        order = jnp.argsort(f, axis=1)
        best, worst = order[:, : p.migrants], order[:, -p.migrants :]
        rows = jnp.arange(n_isl)[:, None]
        mig_t = jnp.roll(kt[rows, best], 1, axis=0)
        mig_c = jnp.roll(kc[rows, best], 1, axis=0)
        mig_l = jnp.roll(loss[rows, best], 1, axis=0)
        do = (gen % p.migration_every) == 0
        kt = jnp.where(do, kt.at[rows, worst].set(mig_t), kt)
        kc = jnp.where(do, kc.at[rows, worst].set(mig_c), kc)
        loss = jnp.where(do, loss.at[rows, worst].set(mig_l), loss)

    hof_t, hof_c, hof_l = _update_hof(
        L,
        state["hof_tokens"],
        state["hof_consts"],
        state["hof_loss"],
        kt.reshape(n_isl * N, L),
        kc.reshape(n_isl * N, L),
        loss.reshape(-1),
    )
    new = {
        "tokens": kt,
        "consts": kc,
        "loss": loss,
        "hof_tokens": hof_t,
        "hof_consts": hof_c,
        "hof_loss": hof_l,
        "generation": gen,
    }
    finite = loss < BIG
    metrics = {
        "loss": jnp.min(hof_l),
        "best_fitness": jnp.min(selection_fitness(p, loss, kt)),
        "mean_size": jnp.mean(sizes(kt).astype(jnp.float32)),
        "finite_fraction": jnp.mean(finite.astype(jnp.float32)),
    }
    return new, metrics


init_state_jit = jax.jit(init_state, static_argnums=(0, 1))
generation_jit = jax.jit(generation, static_argnums=(0, 1), donate_argnums=(2,))


def pareto_front(hof_loss, max_size=None) -> list[int]:
    """Sizes on the Pareto front of (size, loss): each strictly better than every smaller one."""
    import numpy as np

    hl = np.asarray(hof_loss, np.float64)
    front, best = [], np.inf
    for s in range(1, len(hl) if max_size is None else min(len(hl), max_size + 1)):
        if np.isfinite(hl[s]) and hl[s] < BIG and hl[s] < best:
            front.append(s)
            best = hl[s]
    return front
