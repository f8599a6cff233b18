"""Expressions as fixed-size prefix token arrays, and a jitted interpreter over a population.

An expression is `tokens [L] int32` in prefix order, padded with `PAD` (0) after its last node,
plus `consts [L] float32` (the value of each `CONST` token at its own position). A population is
`[P, L]` arrays, so one jitted call evaluates every expression on every data row.

Token ids: 0 = PAD, 1 = CONST, 2 .. 2 + V - 1 = the variables x0 .. x{V-1}, then the operators of
`Spec.ops` in order. Operators are protected so that any token sequence evaluates to a number:
division by |b| < 1e-6 gives 1 (as in gplearn), log and sqrt act on |a|, exp and pow are
clipped. The exported formula (sympy, LaTeX) is the plain mathematical one; protection only
differs outside the functions' domains.

Evaluation runs right to left: the value of node i is its operator applied to the values of its
children, the first at i + 1 and the second just after the first's subtree, so every node's
value is computed once (`[P, L, rows]` values, rows split in chunks to bound memory).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

PAD, CONST, FIRST_VAR = 0, 1, 2
_EPS = 1e-6


def _safe_div(a, b):
    ok = jnp.abs(b) > _EPS
    return jnp.where(ok, a / jnp.where(ok, b, 1.0), 1.0)


def _safe_log(a):
    ok = jnp.abs(a) > _EPS
    return jnp.where(ok, jnp.log(jnp.abs(jnp.where(ok, a, 1.0))), 0.0)


def _safe_sqrt(a):
    ok = jnp.abs(a) > 1e-12
    return jnp.where(ok, jnp.sqrt(jnp.abs(jnp.where(ok, a, 1.0))), 0.0)


def _safe_exp(a):
    return jnp.exp(jnp.clip(a, -50.0, 50.0))


def _safe_pow(a, b):
    ok = jnp.abs(a) > _EPS
    la = jnp.log(jnp.abs(jnp.where(ok, a, 1.0)))
    return jnp.where(ok, jnp.exp(jnp.clip(b * la, -50.0, 50.0)), 0.0)


# sin and cos. XLA's CPU backend lowers jnp.sin / jnp.cos to one scalar libm call per element
# (about 2.4 ns each on the project's CPU, 15x its add), and an interpreter over thousands of
# expressions spends much of its time in them. This version is vectorised arithmetic:
# k = round(2x / pi), r = x - k pi/2 with pi/2 in three float32 parts (Cody-Waite; k split
# into a multiple of 2^12 and a rest, so that every product with the two leading parts, of 8
# and 11 significant bits, is exact for |k| < 2^20 and the reduction does not depend on the
# compiler fusing multiply-adds: the same values at every optimisation level), then
# least-squares polynomials on |r| <= pi/4 (fitted to float64 sin and cos), chosen and signed
# by k mod 4. Measured against float64 sin/cos on 10^6 points per range: max error 1.1e-7 for
# |x| <= 1e6 (libm: 6e-8), 1e-4 for 1e6 < |x| <= 1e7, where neighbouring float32 inputs are
# >= 0.06 apart. Beyond that the reduction loses all its bits (the inputs are >= 1 apart, so
# they no longer fix the value of sin); the result is then only kept within [-1, 1]. inf and
# nan give nan. float64 inputs use jnp.sin / jnp.cos.
_PIO2 = (1.5703125, 4.837512969970703125e-4, 7.549789954891882e-8)
_SIN_C = (-0.16666654604346764, 0.008332160956493508, -0.0001951528635723803)
_COS_C = (0.04166664611097124, -0.001388733515220247, 2.4435105677473373e-05)


def _poly_sin_cos(x, shift: int):
    """sin(x + shift pi/2) by the reduction and polynomials above (float32)."""
    k = jnp.round(x * (2.0 / np.pi))
    kh = jnp.round(k * 2.0**-12) * 2.0**12
    kl = k - kh
    r = (((x - kh * _PIO2[0]) - kl * _PIO2[0]) - kh * _PIO2[1]) - kl * _PIO2[1]
    r = r - k * _PIO2[2]
    z = r * r
    s = r + r * z * (_SIN_C[0] + z * (_SIN_C[1] + z * _SIN_C[2]))
    c = 1.0 - 0.5 * z + z * z * (_COS_C[0] + z * (_COS_C[1] + z * _COS_C[2]))
    m = (k + shift) * 0.25
    quarter = m - jnp.floor(m)  # 0, 1/4, 1/2, 3/4: sin, cos, -sin, -cos of r
    v = jnp.where((quarter == 0.25) | (quarter == 0.75), c, s)
    return jnp.clip(jnp.where(quarter >= 0.5, -v, v), -1.0, 1.0).astype(x.dtype)


def _trig(x, shift: int, exact):
    x = jnp.asarray(x)
    if x.dtype == jnp.float64 or not jnp.issubdtype(x.dtype, jnp.floating):
        return exact(x)
    return _poly_sin_cos(x, shift)


@jax.custom_jvp
def fast_sin(x):
    """sin for float32 arrays by vectorised polynomials (accuracy: see `_PIO2`)."""
    return _trig(x, 0, jnp.sin)


@jax.custom_jvp
def fast_cos(x):
    """cos for float32 arrays by vectorised polynomials (accuracy: see `_PIO2`)."""
    return _trig(x, 1, jnp.cos)


fast_sin.defjvps(lambda t, ans, x: t * fast_cos(x))
fast_cos.defjvps(lambda t, ans, x: -t * fast_sin(x))


@dataclasses.dataclass(frozen=True)
class Operator:
    name: str
    arity: int
    jax_fn: Callable
    sympy_fn: Callable


def _sympy_ops() -> dict[str, Operator]:
    import sympy as sp

    def near_zero(a, eps):
        return a.is_number and bool(abs(a) <= eps)

    def magnitude(a):
        # a number as the protected operators see it (|a|); a symbolic argument is kept as
        # is, so the expression stays readable for positive data (sqrt(x), not sqrt(|x|))
        return -a if a.is_number and a.is_negative else a

    def div(a, b):
        return sp.Integer(1) if near_zero(b, _EPS) else a / b

    def log(a):
        return sp.Integer(0) if near_zero(a, _EPS) else sp.log(magnitude(a))

    def sqrt(a):
        return sp.Integer(0) if near_zero(a, 1e-12) else sp.sqrt(magnitude(a))

    def pow_(a, b):
        return sp.Integer(0) if near_zero(a, _EPS) else magnitude(a) ** b

    return {
        "add": Operator("add", 2, jnp.add, lambda a, b: a + b),
        "sub": Operator("sub", 2, jnp.subtract, lambda a, b: a - b),
        "mul": Operator("mul", 2, jnp.multiply, lambda a, b: a * b),
        "div": Operator("div", 2, _safe_div, div),
        "pow": Operator("pow", 2, _safe_pow, pow_),
        "sin": Operator("sin", 1, fast_sin, sp.sin),
        "cos": Operator("cos", 1, fast_cos, sp.cos),
        "exp": Operator("exp", 1, _safe_exp, sp.exp),
        "log": Operator("log", 1, _safe_log, log),
        "sqrt": Operator("sqrt", 1, _safe_sqrt, sqrt),
        "square": Operator("square", 1, jnp.square, lambda a: a**2),
        "cube": Operator("cube", 1, lambda a: a * a * a, lambda a: a**3),
        "abs": Operator("abs", 1, jnp.abs, sp.Abs),
        "neg": Operator("neg", 1, jnp.negative, lambda a: -a),
    }


OPERATORS: dict[str, Operator] = _sympy_ops()
# Names PySR and gplearn use for the same operators.
ALIASES = {
    "+": "add",
    "-": "sub",
    "*": "mul",
    "/": "div",
    "^": "pow",
    "**": "pow",
    "plus": "add",
    "minus": "sub",
    "mult": "mul",
    "times": "mul",
    "inv": None,
}
DEFAULT_OPS = ("add", "sub", "mul", "div", "sin", "cos", "exp", "log", "sqrt", "square")


def resolve_operators(names) -> tuple[str, ...]:
    """Canonical operator names; an unknown name is an error listing the available ones."""
    if isinstance(names, str):
        raise TypeError(f"operators must be a list of names, got the string {names!r}")
    out = []
    for n in names:
        canon = ALIASES.get(n, n) if isinstance(n, str) else n
        if canon not in OPERATORS:
            raise ValueError(
                f"unknown operator {n!r}; available operators: {', '.join(OPERATORS)} "
                f"(aliases: {', '.join(k for k, v in ALIASES.items() if v)})"
            )
        if canon not in out:
            out.append(canon)
    if not out:
        raise ValueError(f"no operators given; choose from {', '.join(OPERATORS)}")
    return tuple(out)


@dataclasses.dataclass(frozen=True)
class Spec:
    """The static shape of an expression language: operators, variable slots and length."""

    ops: tuple[str, ...]
    num_vars: int
    max_len: int

    @property
    def num_tokens(self) -> int:
        return FIRST_VAR + self.num_vars + len(self.ops)

    @property
    def first_op(self) -> int:
        return FIRST_VAR + self.num_vars

    def arity_table(self) -> np.ndarray:
        """`[num_tokens]` arity of each token (PAD, CONST and variables: 0)."""
        a = np.zeros(self.num_tokens, np.int32)
        for k, name in enumerate(self.ops):
            a[self.first_op + k] = OPERATORS[name].arity
        return a

    def token_name(self, t: int, names=None) -> str:
        if t == PAD:
            return "PAD"
        if t == CONST:
            return "C"
        if t < self.first_op:
            i = t - FIRST_VAR
            return names[i] if names is not None else f"x{i}"
        return self.ops[t - self.first_op]


def arities(spec: Spec, tokens: jax.Array) -> jax.Array:
    return jnp.asarray(spec.arity_table())[tokens]


def sizes(tokens: jax.Array) -> jax.Array:
    """Number of nodes (complexity) of each expression: `[..., L] -> [...]`."""
    return jnp.sum(tokens != PAD, axis=-1)


def subtree_ends(spec: Spec, tokens: jax.Array) -> jax.Array:
    """`[L] -> [L]`: for each position i, one past the last node of the subtree rooted at i.

    Positions at or beyond the expression's end map to themselves plus one.
    """
    L = tokens.shape[-1]
    need = 1 - arities(spec, tokens)  # each node fills one slot and opens `arity`
    csum = jnp.cumsum(need)
    before = csum - need  # sum over k < i
    # end(i) = first j >= i with csum[j] - before[i] == 1
    j = jnp.arange(L)
    hit = (j[None, :] >= j[:, None]) & ((csum[None, :] - before[:, None]) == 1)
    first = jnp.argmax(hit, axis=1)
    return jnp.where(hit.any(axis=1), first + 1, j + 1)


def _eval_block(spec: Spec, tokens, consts, child1, child2, xt):
    """Values of every node: tokens/consts/child `[P, L]`, `xt [V, R]` -> root values `[P, R]`."""
    P, L = tokens.shape
    R = xt.shape[1]
    op_fns = [OPERATORS[n] for n in spec.ops]
    var_idx = jnp.clip(tokens - FIRST_VAR, 0, spec.num_vars - 1)

    def body(k, vals):
        i = L - 1 - k
        tok = tokens[:, i]
        a = jnp.take_along_axis(vals, child1[:, i, None, None], axis=1)[:, 0]
        b = jnp.take_along_axis(vals, child2[:, i, None, None], axis=1)[:, 0]
        out = jnp.where((tok == CONST)[:, None], consts[:, i, None], 0.0)
        out = jnp.where(
            ((tok >= FIRST_VAR) & (tok < spec.first_op))[:, None], xt[var_idx[:, i]], out
        )
        for k_op, op in enumerate(op_fns):
            v = op.jax_fn(a, b) if op.arity == 2 else op.jax_fn(a)
            out = jnp.where((tok == spec.first_op + k_op)[:, None], v, out)
        return jax.lax.dynamic_update_slice_in_dim(vals, out[:, None, :], i, axis=1)

    vals = jnp.zeros((P, L, R), xt.dtype)
    vals = jax.lax.fori_loop(0, L, body, vals)
    return vals[:, 0]


def child_indices(spec: Spec, tokens: jax.Array) -> tuple[jax.Array, jax.Array]:
    """First and second child positions `[..., L]` (clamped to L - 1 where absent)."""
    L = tokens.shape[-1]
    flat = tokens.reshape(-1, L)
    c2 = tree_links(spec, flat)[0].reshape(tokens.shape)
    c1 = jnp.minimum(jnp.arange(L) + 1, L - 1) + jnp.zeros_like(tokens)
    return c1, c2


def evaluate_dense(
    spec: Spec, tokens: jax.Array, consts: jax.Array, x: jax.Array, chunk: int = 2048
) -> jax.Array:
    """The reference interpreter: every slot of every expression, every operator at each slot.

    Outputs `[P, R]` like `evaluate`, with work proportional to `L x (operators + 4)` per
    expression and row. It is differentiable everywhere (fixed trip count), so `evaluate`
    uses it for derivatives; rows are evaluated in chunks of `chunk`.
    """
    squeeze = tokens.ndim == 1
    if squeeze:
        tokens, consts = tokens[None], consts[None]
    c1, c2 = child_indices(spec, tokens)
    xt = jnp.asarray(x).T.astype(consts.dtype)
    R = xt.shape[1]
    if R <= chunk:
        out = _eval_block(spec, tokens, consts, c1, c2, xt)
    else:
        n = -(-R // chunk)
        padded = jnp.pad(xt, ((0, 0), (0, n * chunk - R)))
        blocks = padded.reshape(xt.shape[0], n, chunk).transpose(1, 0, 2)
        out = jax.lax.map(lambda b: _eval_block(spec, tokens, consts, c1, c2, b), blocks)
        out = out.transpose(1, 0, 2).reshape(tokens.shape[0], n * chunk)[:, :R]
    return out[0] if squeeze else out


def tree_links(spec: Spec, tokens):
    """Second-child positions and subtree heights of a population `tokens [P, L]`.

    One right-to-left pass: the subtree at i ends where its last child's subtree ends. The
    first child of node i is i + 1. Returns `c2 [P, L]` (L - 1 where absent, as
    `child_indices`) and `height [P, L]` (leaves and padding 0).
    """
    P, L = tokens.shape
    ar = arities(spec, tokens)
    rows = jnp.arange(P)

    def body(k, carry):
        end, h, c2 = carry
        i = L - 1 - k
        a = ar[:, i]
        j = jnp.minimum(i + 1, L - 1)
        e1 = jnp.where(i + 1 < L, end[rows, j], L)  # one past the first child's subtree
        second = jnp.minimum(e1, L - 1)
        e2 = end[rows, second]
        end_i = jnp.where(a == 0, i + 1, jnp.where(a == 1, e1, e2))
        h1, h2 = h[rows, j], h[rows, second]
        h_i = jnp.where(a == 0, 0, jnp.where(a == 1, 1 + h1, 1 + jnp.maximum(h1, h2)))
        c2_i = jnp.where(a == 2, second, jnp.minimum(e1, L - 1))
        return end.at[:, i].set(end_i), h.at[:, i].set(h_i), c2.at[:, i].set(c2_i)

    zeros = jnp.zeros((P, L), jnp.int32)
    _, height, c2 = jax.lax.fori_loop(0, L, body, (zeros + L, zeros, zeros))
    return c2, height


def schedule(spec: Spec, tokens, consts, block: int):
    """The evaluation plan of a population `tokens, consts [P, L]`; it does not see the rows.

    The plan is a list of value slots. Slots `[0, V)` hold the variables, slot `V` zeros,
    then one slot per constant leaf (its value, written once) and one per operator node.
    Operator nodes are grouped by (subtree height, operator) and every group is padded to a
    multiple of `block`, so the `block` consecutive slots of one step all hold nodes of one
    operator whose children sit at smaller heights (computed by earlier steps). Variable
    leaves have no slot of their own: a parent reads the variable's slot directly.

    Returns `(plan, capacity)`: `capacity` (static) bounds the number of constant and
    operator slots for any population of this shape; `plan["used"]` is the number in use.
    """
    P, L = tokens.shape
    V, n_ops = spec.num_vars, len(spec.ops)
    N = P * L
    c2, height = tree_links(spec, tokens)
    c1 = jnp.minimum(jnp.arange(L) + 1, L - 1) + jnp.zeros_like(tokens)
    height = height.reshape(N)
    ar = arities(spec, tokens).reshape(N)
    flat_t, flat_c = tokens.reshape(N), consts.reshape(N)
    is_op, is_const = ar > 0, flat_t == CONST
    is_var = (flat_t >= FIRST_VAR) & (flat_t < spec.first_op)
    op = jnp.clip(flat_t - spec.first_op, 0, n_ops - 1)
    # group 0: constants (no compute); 1 + (h - 1) * n_ops + op: operators; G: not stored
    G = 1 + max(L - 1, 1) * n_ops
    group = jnp.where(
        is_op, 1 + jnp.clip(height - 1, 0, max(L - 2, 0)) * n_ops + op, jnp.where(is_const, 0, G)
    )
    # rank of each node among its group: the group's nodes in earlier expressions, then those
    # at earlier positions of its own (a counting sort; XLA's sort is 3x slower on CPU)
    grp = group.reshape(P, L)
    per_expr = jnp.zeros((P, G + 1), jnp.int32).at[jnp.arange(P)[:, None], grp].add(1)
    earlier_exprs = jnp.cumsum(per_expr, axis=0) - per_expr
    pos = jnp.arange(L)
    same_before = (grp[:, :, None] == grp[:, None, :]) & (pos[None, :] < pos[:, None])[None]
    rank = jnp.take_along_axis(earlier_exprs, grp, axis=1) + jnp.sum(same_before, axis=2)
    counts = jnp.sum(per_expr, axis=0)[:G]
    n_blocks = -(-counts // block)
    blocks_end = jnp.cumsum(n_blocks)
    block_start = blocks_end - n_blocks
    g = jnp.minimum(group, G - 1)
    stored = is_op | is_const
    slot = jnp.where(stored, block_start[g] * block + rank.reshape(N), 0)
    # at most every node stored, plus the padding of every group that can be non-empty
    cap = block * (-(-(N + min(G, N) * (block - 1)) // block))
    read = jnp.where(stored, V + 1 + slot, jnp.where(is_var, flat_t - FIRST_VAR, V))
    base = (jnp.arange(P) * L)[:, None]
    target = jnp.where(stored, slot, cap)  # cap: dropped

    def per_slot(values, fill):
        return jnp.full(cap, fill, values.dtype).at[target].set(values, mode="drop")

    const_blocks = n_blocks[0]
    plan = {
        "i1": per_slot(read[(base + c1).reshape(N)], V),
        "i2": per_slot(read[(base + c2).reshape(N)], V),
        "init": per_slot(jnp.where(is_const, flat_c, 0.0), 0.0),
        "block_op": (jnp.searchsorted(blocks_end, jnp.arange(cap // block), side="right") - 1).clip(
            0, G - 2
        )
        % n_ops,
        "first_block": const_blocks,
        "n_blocks": blocks_end[-1],
        "used": blocks_end[-1] * block,
        "root": read[jnp.arange(P) * L],
    }
    return plan, cap


def _run_plan(spec: Spec, plan, xt, cap: int, block: int, tile: int):
    """Root values `[P, R]` of a plan on rows `xt [V, R]` (R a multiple of `tile`).

    One value buffer `[V + 1 + cap, tile]` is carried from row tile to row tile: constant
    slots are written once, variable slots per tile, operator slots block by block.
    """
    V, R = xt.shape
    dt = xt.dtype
    P = plan["root"].shape[0]
    init = plan["init"][:cap].astype(dt)
    buf = jnp.concatenate(
        [jnp.zeros((V + 1, tile), dt), jnp.broadcast_to(init[:, None], (cap, tile))], axis=0
    )
    i1, i2 = plan["i1"][:cap], plan["i2"][:cap]
    ops = [OPERATORS[n] for n in spec.ops]

    def kernel(op):
        # the gathers sit inside each branch so that XLA fuses them with the operator
        # (gathering outside the switch materialises both operands: 3x slower on CPU)
        def run(buf, j1, j2):
            a = buf.at[j1].get(mode="promise_in_bounds")
            if op.arity == 1:
                return op.jax_fn(a).astype(dt)
            return op.jax_fn(a, buf.at[j2].get(mode="promise_in_bounds")).astype(dt)

        return run

    branches = [kernel(op) for op in ops]

    def step(b, buf):
        s0 = b * block
        j1 = jax.lax.dynamic_slice_in_dim(i1, s0, block)
        j2 = jax.lax.dynamic_slice_in_dim(i2, s0, block)
        if len(branches) == 1:
            out = branches[0](buf, j1, j2)
        else:
            out = jax.lax.switch(plan["block_op"][b], branches, buf, j1, j2)
        return jax.lax.dynamic_update_slice_in_dim(buf, out, V + 1 + s0, 0)

    def one_tile(buf, xs):
        buf = jax.lax.dynamic_update_slice_in_dim(buf, xs, 0, 0)
        buf = jax.lax.fori_loop(plan["first_block"], plan["n_blocks"], step, buf)
        return buf, buf.at[plan["root"]].get(mode="promise_in_bounds")

    tiles = xt.reshape(V, R // tile, tile).transpose(1, 0, 2)
    _, out = jax.lax.scan(one_tile, buf, tiles)  # [R // tile, P, tile]
    return out.transpose(1, 0, 2).reshape(P, R)


def _capacities(cap: int, block: int) -> list[int]:
    """Buffer sizes to choose from at run time: halvings of the bound, so that the buffer is
    at most twice what a population needs (a few sizes keep the compiled code small)."""
    return sorted({block * max(1, -(-cap // (2**k * block))) for k in range(6)})


def _tile_for(rows: int, slots: int, max_tile: int, buffer_bytes: int, itemsize: int) -> int:
    """Rows per tile: the largest power of two <= `max_tile` (and no larger than needed for
    `rows`) whose value buffer `[slots, tile]` stays within `buffer_bytes`, at least 16.

    Longer tiles mean fewer loop steps (each has a fixed cost); a smaller buffer stays in
    cache. The defaults of `evaluate_sparse` (512 rows, 8 MB, 2 population pieces) were the
    fastest of the settings compared on 2 CPU cores (1,000 gplearn programs at 1,000, 10,000
    and 100,000 rows: up to 512 or 1,024 rows, 4-16 MB, blocks of 16-64; BENCHMARKS.md)."""
    tile = 16
    while tile * 2 <= max_tile and tile < rows and (2 * tile) * slots * itemsize <= buffer_bytes:
        tile *= 2
    return tile


def evaluate_sparse(
    spec: Spec,
    tokens: jax.Array,
    consts: jax.Array,
    x: jax.Array,
    tile: int = 512,
    block: int = 32,
    buffer_bytes: int = 8 << 20,
    parts: int = 2,
) -> jax.Array:
    """`evaluate` by the node-proportional plan (see `schedule`): the same values, work in
    proportion to the operator nodes. Rows run in tiles of at most `tile` rows, fewer when
    the value buffer would exceed `buffer_bytes` (see `_tile_for`). The population is cut
    into `parts` contiguous pieces, each with its own plan: the pieces do not depend on each
    other, so XLA's CPU runtime runs them on different cores, and each piece's buffer is
    smaller (2 parts on 2 cores: about 1.5x faster at 1,000 and 10,000 rows). No
    derivatives."""
    P = tokens.shape[0]
    if parts > 1 and P >= 2 * parts:
        cuts = [P * k // parts for k in range(parts + 1)]
        return jnp.concatenate(
            [
                evaluate_sparse(
                    spec, tokens[a:b], consts[a:b], x, tile, block, buffer_bytes, parts=1
                )
                for a, b in zip(cuts[:-1], cuts[1:], strict=True)
            ]
        )
    P, L = tokens.shape
    xt = jnp.asarray(x).T.astype(consts.dtype)
    V, R = xt.shape
    itemsize = jnp.dtype(consts.dtype).itemsize
    plan, cap = schedule(spec, tokens, consts, block)
    caps = _capacities(cap, block)
    tiles = [_tile_for(R, V + 1 + c, tile, buffer_bytes, itemsize) for c in caps]
    span = max(tiles)  # the others divide it: rows are padded once, to a multiple of it
    n = -(-R // span)
    if n * span != R:
        xt = jnp.pad(xt, ((0, 0), (0, n * span - R)))
    if len(caps) == 1:
        return _run_plan(spec, plan, xt, caps[0], block, tiles[0])[:, :R]
    which = jnp.sum(jnp.asarray(caps[:-1], jnp.int32) < plan["used"])
    fns = [
        lambda xt, c=c, t=t: _run_plan(spec, plan, xt, c, block, t)
        for c, t in zip(caps, tiles, strict=True)
    ]
    return jax.lax.switch(which, fns, xt)[:, :R]


@functools.partial(jax.custom_jvp, nondiff_argnums=(0, 4))
def _evaluate(spec, tokens, consts, x, chunk):
    return evaluate_sparse(spec, tokens, consts, x)


@_evaluate.defjvp
def _evaluate_jvp(spec, chunk, primals, tangents):
    tokens, consts, x = primals
    _, dc, dx = tangents
    return jax.jvp(lambda c, xx: evaluate_dense(spec, tokens, c, xx, chunk), (consts, x), (dc, dx))


def evaluate(
    spec: Spec, tokens: jax.Array, consts: jax.Array, x: jax.Array, chunk: int = 2048
) -> jax.Array:
    """Outputs `[P, R]` of expressions `tokens, consts [P, L]` on rows `x [R, V]`.

    Values come from the node-proportional plan (`evaluate_sparse`: work follows the real
    operator nodes, one operator kernel per block of same-operator nodes); derivatives with
    respect to `consts` and `x` (Adam on constants, the conservation objective) come from the
    reference interpreter `evaluate_dense`, which gives the same values. Non-finite outputs
    are returned as they are (the caller's loss treats them as failures). Rows are evaluated
    in chunks of `chunk` to bound the working memory.
    """
    squeeze = tokens.ndim == 1
    if squeeze:
        tokens, consts = tokens[None], consts[None]
    consts = jnp.asarray(consts)
    x = jnp.asarray(x).astype(consts.dtype)
    out = _evaluate(spec, jnp.asarray(tokens), consts, x, chunk)
    return out[0] if squeeze else out


def _input_gradients_by(fn, spec, tokens, consts, x):
    """Forward mode, one pass per variable: values `[P, R]` and `d/dx [P, R, V]`."""
    V = x.shape[1]

    def along(e):
        return jax.jvp(lambda xx: fn(spec, tokens, consts, xx), (x,), (e + jnp.zeros_like(x),))

    vals, tans = jax.vmap(along)(jnp.eye(V, dtype=x.dtype))
    return vals[0], jnp.moveaxis(tans, 0, -1)


@functools.partial(jax.custom_jvp, nondiff_argnums=(0,))
def _input_gradients(spec, tokens, consts, x):
    return _input_gradients_by(evaluate_sparse, spec, tokens, consts, x)


@_input_gradients.defjvp
def _input_gradients_jvp(spec, primals, tangents):
    tokens, consts, x = primals
    _, dc, dx = tangents
    return jax.jvp(
        lambda c, xx: _input_gradients_by(evaluate_dense, spec, tokens, c, xx),
        (consts, x),
        (dc, dx),
    )


def input_gradients(spec: Spec, tokens: jax.Array, consts: jax.Array, x: jax.Array):
    """Values `[P, R]` and partial derivatives `[P, R, V]` of expressions `[P, L]` at rows
    `x [R, V]`, by forward mode through the node-proportional interpreter (its loops have
    data-dependent trip counts, which forward mode handles and reverse mode does not).
    Derivatives of these with respect to `consts` (Adam on a gradient-based objective) come
    from the reference interpreter, as for `evaluate`."""
    consts = jnp.asarray(consts)
    return _input_gradients(spec, jnp.asarray(tokens), consts, jnp.asarray(x).astype(consts.dtype))


evaluate_jit = jax.jit(evaluate, static_argnums=(0, 4))
evaluate_dense_jit = jax.jit(evaluate_dense, static_argnums=(0, 4))


# --------------------------------------------------------------------------------------------
# Host-side conversions


def to_list(spec: Spec, tokens, consts) -> list[tuple[int, float]]:
    t = np.asarray(tokens)
    c = np.asarray(consts)
    n = int((t != PAD).sum())
    return [(int(t[i]), float(c[i])) for i in range(n)]


def is_valid(spec: Spec, tokens) -> bool:
    """True when `tokens` is one complete prefix expression followed only by padding."""
    t = np.asarray(tokens)
    ar = spec.arity_table()
    open_slots = 1
    for i, tok in enumerate(t):
        if tok == PAD:
            return open_slots == 0 and bool(np.all(t[i:] == PAD))
        if open_slots == 0:
            return False
        open_slots += int(ar[tok]) - 1
    return open_slots == 0


def to_sympy(spec: Spec, tokens, consts, names=None, *, precision: int | None = None):
    """The sympy expression of one prefix expression (variables named `names` or x0, x1, ...).

    The protected operators (div, log, sqrt, pow) are written as the engine computes them when
    their argument is a number (its magnitude; 0 or 1 at zero), and as the plain function of
    a symbolic argument (sqrt(x), not sqrt(|x|)): the two agree where that argument is
    positive, as the physical quantities of the benchmarks are."""
    import sympy as sp

    names = list(names) if names is not None else [f"x{i}" for i in range(spec.num_vars)]
    syms = [sp.Symbol(n) for n in names]
    items = to_list(spec, tokens, consts)
    pos = 0

    def build():
        nonlocal pos
        if pos >= len(items):
            raise ValueError("incomplete expression: an operator is missing arguments")
        tok, c = items[pos]
        pos += 1
        if tok == CONST:
            return sp.Float(round(c, precision) if precision is not None else c)
        if tok < spec.first_op:
            return syms[tok - FIRST_VAR]
        op = OPERATORS[spec.ops[tok - spec.first_op]]
        args = [build() for _ in range(op.arity)]
        return op.sympy_fn(*args)

    return build()


def from_sympy(spec: Spec, expr, names) -> tuple[np.ndarray, np.ndarray]:
    """Encode a sympy expression into `(tokens [L], consts [L])` with this spec's operators.

    Sums and products with many terms become chains of binary nodes; a - b is `add(a, neg b)`
    or `sub` when available; integer powers 2 and 3 use `square` / `cube` when available, else
    repeated `mul`; x**-1 is `div(1, x)`; other powers need `pow` (or `sqrt` for 1/2).
    Raises ValueError when an operator the expression needs is not in `spec.ops`, or when the
    encoding is longer than `spec.max_len`.
    """
    import sympy as sp

    index = {n: i for i, n in enumerate(names)}
    out: list[tuple[int, float]] = []

    def op_token(name):
        if name not in spec.ops:
            raise ValueError(
                f"the expression needs operator {name!r}, which is not among {spec.ops}"
            )
        return spec.first_op + spec.ops.index(name)

    def emit_const(v):
        out.append((CONST, float(v)))

    def chain(name, args):
        for _ in range(len(args) - 1):
            out.append((op_token(name), 0.0))
        for a in args:
            enc(a)

    def enc(e):
        if e.is_Symbol:
            if str(e) not in index:
                raise ValueError(f"unknown variable {e} (known: {', '.join(names)})")
            out.append((FIRST_VAR + index[str(e)], 0.0))
        elif e.is_Number or e.is_NumberSymbol:
            emit_const(float(e))
        elif e.is_Add:
            chain("add", list(e.args))
        elif e.is_Mul:
            args = list(e.args)
            if args[0] == -1 and "neg" in spec.ops and len(args) > 1:
                out.append((op_token("neg"), 0.0))
                enc(sp.Mul(*args[1:]))
                return
            num = [a for a in args if not (a.is_Pow and a.exp.is_negative)]
            den = [1 / a for a in args if a.is_Pow and a.exp.is_negative]
            if den and "div" in spec.ops:
                out.append((op_token("div"), 0.0))
                enc(sp.Mul(*num) if num else sp.Integer(1))
                enc(sp.Mul(*den))
                return
            chain("mul", args)
        elif e.is_Pow:
            base, ex = e.args
            if ex == 2 and "square" in spec.ops:
                out.append((op_token("square"), 0.0))
                enc(base)
            elif ex == 3 and "cube" in spec.ops:
                out.append((op_token("cube"), 0.0))
                enc(base)
            elif ex == sp.Rational(1, 2) and "sqrt" in spec.ops:
                out.append((op_token("sqrt"), 0.0))
                enc(base)
            elif ex.is_negative and "div" in spec.ops:
                out.append((op_token("div"), 0.0))
                emit_const(1.0)
                enc(base ** (-ex))
            elif ex.is_Integer and 2 <= int(ex) <= 4 and "pow" not in spec.ops:
                chain("mul", [base] * int(ex))
            else:
                out.append((op_token("pow"), 0.0))
                enc(base)
                enc(ex)
        elif isinstance(e, sp.Abs):
            out.append((op_token("abs"), 0.0))
            enc(e.args[0])
        else:
            fname = type(e).__name__.lower()
            if fname not in OPERATORS or OPERATORS[fname].arity != len(e.args):
                raise ValueError(f"cannot encode {type(e).__name__}: not an operator here")
            out.append((op_token(fname), 0.0))
            for a in e.args:
                enc(a)

    enc(sp.sympify(expr))
    if len(out) > spec.max_len:
        raise ValueError(
            f"the expression has {len(out)} nodes, more than max_len={spec.max_len}; raise maxsize"
        )
    tokens = np.zeros(spec.max_len, np.int32)
    consts = np.zeros(spec.max_len, np.float32)
    for i, (t, c) in enumerate(out):
        tokens[i], consts[i] = t, c
    return tokens, consts


def to_string(spec: Spec, tokens, consts, names=None) -> str:
    """Prefix notation, e.g. `add(mul(x0, x1), 0.5)` (gplearn style)."""
    items = to_list(spec, tokens, consts)
    pos = 0

    def build():
        nonlocal pos
        tok, c = items[pos]
        pos += 1
        if tok == CONST:
            return f"{c:.6g}"
        if tok < spec.first_op:
            return spec.token_name(tok, names)
        name = spec.ops[tok - spec.first_op]
        args = [build() for _ in range(OPERATORS[name].arity)]
        return f"{name}({', '.join(args)})"

    return build() if items else ""


# ------------------------------------------------------------------------------------------
# Additive terms (for fitting term weights)


def additive_terms(spec: Spec, tokens: jax.Array, max_terms: int, keep_constants=False):
    """The top-level additive terms of one expression `tokens [L]`: the subtrees hanging off
    the chain of `add` / `sub` nodes at the root, each with a constant factor stripped
    (`mul(C, t)` and `mul(t, C)` give t). Returns `(start [M], length [M], valid [M], ok)`:
    term bodies are `tokens[start : start + length]`; `ok` is False when the expression has
    more than `max_terms` terms. A root that is not `add`/`sub` is one term. A bare constant
    term is not valid unless `keep_constants` (a constant offset of the whole expression
    changes nothing that is fitted; inside a product, quotient or radical it does)."""
    L = tokens.shape[0]
    ends = subtree_ends(spec, tokens)
    op = {n: spec.first_op + k for k, n in enumerate(spec.ops)}
    is_chain_op = jnp.zeros(L, bool)
    for name in ("add", "sub"):
        if name in op:
            is_chain_op = is_chain_op | (tokens == op[name])

    def body(i, carry):
        chain, term = carry
        c1 = jnp.minimum(i + 1, L - 1)
        c2 = jnp.minimum(ends[c1], L - 1)
        here = chain[i]
        for c in (c1, c2):
            chain = chain.at[c].set(chain[c] | (here & is_chain_op[c]))
            term = term.at[c].set(term[c] | (here & ~is_chain_op[c]))
        return chain, term

    chain0 = jnp.zeros(L, bool).at[0].set(is_chain_op[0])
    term0 = jnp.zeros(L, bool).at[0].set(~is_chain_op[0])
    _, term = jax.lax.fori_loop(0, L, body, (chain0, term0))
    term = term & (tokens != PAD)
    count = jnp.sum(term)
    # positions of the terms in order, padded with L - 1
    starts = jnp.sort(jnp.where(term, jnp.arange(L), L))
    starts = jnp.concatenate([starts, jnp.full(max(max_terms - L, 0), L, starts.dtype)])
    starts = starts[:max_terms]
    valid = starts < L
    starts = jnp.minimum(starts, L - 1)
    stops = ends[starts]
    mul = op.get("mul", -1)
    first = jnp.minimum(starts + 1, L - 1)
    second = jnp.minimum(ends[first], L - 1)
    is_mul = tokens[starts] == mul
    const_first = is_mul & (tokens[first] == CONST)
    const_second = is_mul & ~const_first & (tokens[second] == CONST)
    start = jnp.where(const_first, starts + 2, jnp.where(const_second, starts + 1, starts))
    stop = jnp.where(const_second, second, stops)
    # a bare constant term is dropped (a constant offset does not change what is conserved)
    bare = (stop - start == 1) & (tokens[jnp.minimum(start, L - 1)] == CONST)
    valid = valid & (~bare | keep_constants)
    return start, stop - start, valid, count <= max_terms


def take_segment(tokens, consts, start, length):
    """`tokens[start : start + length]` (and its constants) left-aligned in `[L]`, PAD after."""
    L = tokens.shape[0]
    j = jnp.arange(L)
    src = jnp.minimum(start + j, L - 1)
    inside = j < length
    return jnp.where(inside, tokens[src], PAD), jnp.where(inside, consts[src], 0.0)


def subtrees(tokens, consts, at, ends):
    """The subtree at `at [K]` of each expression `tokens, consts [K, L]` (`ends`: their
    `subtree_ends`) as an expression of its own: `(length [K], tokens [K, L], consts [K, L])`."""
    length = jnp.take_along_axis(ends, at[:, None], 1)[:, 0] - at
    return length, *jax.vmap(take_segment)(tokens, consts, at, length)


def weighted_sum(spec: Spec, tokens, consts, start, length, keep, w, lead):
    """Rebuild expressions `tokens, consts [K, L]` as weighted sums of their terms.

    Term m of row k is `tokens[k, start[k, m] : start[k, m] + length[k, m]]` (see
    `additive_terms`); kept terms (`keep [K, M]`) become `add(t_lead, add(mul(C, t_i), ...))`
    with constants `w [K, M]` and the term `lead [K]` unweighted. Returns `(tokens [K, L],
    consts [K, L], size [K])`; a size above L means the sum did not fit (its tokens are cut)."""
    K, L = tokens.shape
    M = start.shape[1]
    add_tok = spec.first_op + spec.ops.index("add")
    mul_tok = spec.first_op + spec.ops.index("mul")
    n_keep = jnp.sum(keep, -1)
    order = jnp.argsort(jnp.where(keep, jnp.where(jnp.arange(M) == lead[:, None], -1, 0), 1), -1)
    W = L + 3 * M  # scratch length: the sum may be longer than L before the size check

    def build(start_k, length_k, keep_k, w_k, order_k, lead_k, n_k, tok, con):
        out_t = jnp.zeros(W, jnp.int32)
        out_c = jnp.zeros(W, con.dtype)
        pos = jnp.int32(0)
        for s in range(M):
            m = order_k[s]
            use = keep_k[m]
            has_add = use & (s != n_k - 1)
            has_w = use & (m != lead_k)
            head_t = jnp.stack([jnp.int32(add_tok), jnp.int32(mul_tok), jnp.int32(CONST)])
            head_c = jnp.stack([0.0, 0.0, w_k[m]]).astype(con.dtype)
            body_t, body_c = take_segment(tok, con, start_k[m], length_k[m])
            seg_t = jnp.concatenate([head_t, body_t])
            seg_c = jnp.concatenate([head_c, body_c])
            take = jnp.concatenate(
                [jnp.stack([has_add, has_w, has_w]), use & (jnp.arange(L) < length_k[m])]
            )
            dest = jnp.where(take, pos + jnp.cumsum(take) - 1, W - 1)
            dest = jnp.minimum(dest, W - 1)
            out_t = out_t.at[dest].set(jnp.where(take, seg_t, out_t[dest]))
            out_c = out_c.at[dest].set(jnp.where(take, seg_c, out_c[dest]))
            pos = pos + jnp.sum(take)
        return out_t[:L], out_c[:L], pos

    return jax.vmap(build)(start, length, keep, w, order, lead, n_keep, tokens, consts)


def term_segments(spec: Spec, tokens, consts, max_terms: int, keep_constants=False):
    """The additive terms of each expression `tokens, consts [K, L]` (`additive_terms`) and
    their bodies as expressions: `(terms, tt, tc)` with `tt, tc [K, max_terms, L]`; slots
    without a term hold a lone constant 0. `keep_constants`: a bool or a bool per row."""
    keep = jnp.broadcast_to(jnp.asarray(keep_constants, bool), tokens.shape[:1])
    terms = jax.vmap(lambda t, k: additive_terms(spec, t, max_terms, k))(tokens, keep)
    start, length, valid, _ = terms
    tt, tc = jax.vmap(jax.vmap(take_segment, (None, None, 0, 0)))(tokens, consts, start, length)
    tt = jnp.where(valid[..., None], tt, jnp.zeros_like(tt).at[..., 0].set(CONST))
    return terms, tt, jnp.where(valid[..., None], tc, 0.0)


def apply_term_weights(spec: Spec, tokens, consts, terms, w, live, spread):
    """Rewrite each expression as a weighted sum of its terms (`weighted_sum`) with weights
    `w [K, M]` over the `live` terms, normalised so the term of largest `|w| * spread`
    (`spread`: the term's scale) has weight 1. Returns `(tokens, consts, changed [K])`;
    expressions with fewer than two terms, too many or a sum that does not fit are kept."""
    L = tokens.shape[1]
    start, length, valid, ok = terms
    lead = jnp.argmax(jnp.where(live, jnp.abs(w) * spread, -1.0), -1)
    w = w / jnp.take_along_axis(w, lead[:, None], 1)
    keep = live & (jnp.abs(w) > 1e-6)
    nt, nc, n = weighted_sum(spec, tokens, consts, start, length, keep, w, lead)
    changed = ok & (jnp.sum(valid, -1) >= 2) & (n <= L) & (jnp.sum(keep, -1) >= 1)
    changed = changed & jnp.all(jnp.isfinite(jnp.where(keep, w, 0.0)), -1)
    return (
        jnp.where(changed[:, None], nt, tokens),
        jnp.where(changed[:, None], nc, consts),
        changed,
    )


def splice(tokens, consts, at, old_len, new_tokens, new_consts, new_len):
    """One expression `tokens, consts [L]` with its subtree `[at, at + old_len)` replaced by
    the expression `new_tokens[:new_len]`. Returns `(tokens, consts, size)`; a size above L
    means the result did not fit (its tokens are cut)."""
    L = tokens.shape[0]
    j = jnp.arange(L)
    inside = (j >= at) & (j < at + new_len)
    src_new = jnp.clip(j - at, 0, L - 1)
    src_old = jnp.where(j < at, j, j - new_len + old_len)
    keep_old = (src_old >= 0) & (src_old < L)
    src_old = jnp.clip(src_old, 0, L - 1)
    out_t = jnp.where(inside, new_tokens[src_new], jnp.where(keep_old, tokens[src_old], PAD))
    out_c = jnp.where(inside, new_consts[src_new], jnp.where(keep_old, consts[src_old], 0.0))
    return out_t, out_c, sizes(tokens) - old_len + new_len


def token_is(spec: Spec, token, names) -> jax.Array:
    """Whether `token` is one of the operators `names` (names not in the spec never match)."""
    ids = [spec.first_op + spec.ops.index(n) for n in names if n in spec.ops]
    return jnp.any(jnp.stack([token == i for i in ids] + [jnp.bool_(False)]))


def weighted_sum_position(spec: Spec, tokens: jax.Array, ends=None) -> jax.Array:
    """Where the sum whose terms get weights sits in one expression `tokens [L]`: the root
    when it is `add`/`sub`; otherwise, for a `mul` root, its first or else its second child
    when that is `add`/`sub`, and for a `div` root its numerator when that is. The root (0)
    when there is no such sum: a single term, which gets no weights. Scaling a sum's terms
    under a product or over a divisor is still linear in the weights: f = A (sum_m w_m t_m)
    = sum_m w_m (A t_m). `ends`: the expression's `subtree_ends`, when already at hand."""
    L = tokens.shape[0]

    def is_(t, *names):
        return token_is(spec, t, names)

    ends = subtree_ends(spec, tokens) if ends is None else ends
    c1 = jnp.minimum(1, L - 1)
    c2 = jnp.minimum(ends[c1], L - 1)
    root_sum = is_(tokens[0], "add", "sub")
    mul_root, div_root = is_(tokens[0], "mul"), is_(tokens[0], "div")
    first_sum, second_sum = is_(tokens[c1], "add", "sub"), is_(tokens[c2], "add", "sub")
    return jnp.where(
        root_sum,
        0,
        jnp.where(
            (mul_root | div_root) & first_sum,
            c1,
            jnp.where(mul_root & second_sum, c2, 0),
        ),
    ).astype(jnp.int32)


def inner_term_segments(spec: Spec, tokens, consts, max_terms: int):
    """Like `term_segments`, for the sum at `weighted_sum_position` of each expression
    `tokens, consts [K, L]`: returns `(at, sum_len, sum_t, sum_c, terms, ft, fc)` with the
    sum itself as an expression (`sum_t, sum_c [K, L]`), its terms (`terms`, relative to
    it) and, for each term, the whole expression with the sum replaced by that term alone
    (`ft, fc [K, max_terms, L]`: the term's feature for a least-squares fit of the weights)."""
    at = jax.vmap(lambda t: weighted_sum_position(spec, t))(tokens)
    ends = jax.vmap(lambda t: subtree_ends(spec, t))(tokens)
    sum_len, sum_t, sum_c = subtrees(tokens, consts, at, ends)
    # a constant term of a sum under a product or over a divisor is weighted like the others
    terms, tt, tc = term_segments(spec, sum_t, sum_c, max_terms, keep_constants=at > 0)
    one = jax.vmap(splice, (None, None, None, None, 0, 0, 0))
    ft, fc, _ = jax.vmap(one)(tokens, consts, at, sum_len, tt, tc, sizes(tt))
    return at, sum_len, sum_t, sum_c, terms, ft, fc


def apply_inner_term_weights(spec: Spec, tokens, consts, inner, w, live, spread):
    """`apply_term_weights` on the sums found by `inner_term_segments` (`inner`), each put
    back into its expression. Returns `(tokens, consts, changed [K])`."""
    at, sum_len, sum_t, sum_c, terms, _, _ = inner
    L = tokens.shape[1]
    st, sc, changed = apply_term_weights(spec, sum_t, sum_c, terms, w, live, spread)
    nt, nc, size = jax.vmap(splice)(tokens, consts, at, sum_len, st, sc, sizes(st))
    changed = changed & (size <= L)
    return (
        jnp.where(changed[:, None], nt, tokens),
        jnp.where(changed[:, None], nc, consts),
        changed,
    )


# `power_sum_position` kinds: how a sum S enters the expression f, with P the rest of it
POWER_NONE, POWER_HALF, POWER_INVERSE, POWER_INVERSE_HALF = 0, 1, 2, 3


def power_sum_position(spec: Spec, tokens: jax.Array, ends=None):
    """A sum S in one expression `tokens [L]` that enters it as f = P sqrt(S), P / S or
    P / sqrt(S), with P a subtree, its reciprocal or 1 (so weights on S's terms are
    fitted by least squares on f^2 / P^2 = S, f S = P or f^2 S = P^2, which are linear in
    them). Returns `(at, kind, p_at, p_kind)`: S's position, one of the `POWER_*` kinds
    (`POWER_NONE`: no such sum), P's position and how P is made from the subtree there (0:
    P = 1, 1: P is the subtree, 2: P is its reciprocal). Checked in this order: a `div`
    root's divisor S or sqrt(S) (P the numerator), its numerator sqrt(S) (P = 1 / divisor),
    a `sqrt` root over S, a `mul` root's factor sqrt(S) (P the other factor)."""
    L = tokens.shape[0]
    ends = subtree_ends(spec, tokens) if ends is None else ends
    c1 = jnp.minimum(1, L - 1)
    c2 = jnp.minimum(ends[c1], L - 1)

    def is_(i, *names):
        return token_is(spec, tokens[jnp.minimum(i, L - 1)], names)

    def radical(i):  # sqrt over a sum at position i
        return is_(i, "sqrt") & is_(i + 1, "add", "sub")

    div_root, mul_root, sqrt_root = is_(0, "div"), is_(0, "mul"), is_(0, "sqrt")
    cases = [  # (condition, at, kind, p_at, p_kind)
        (div_root & is_(c2, "add", "sub"), c2, POWER_INVERSE, c1, 1),
        (div_root & radical(c2), c2 + 1, POWER_INVERSE_HALF, c1, 1),
        (div_root & radical(c1), c1 + 1, POWER_HALF, c2, 2),
        (sqrt_root & is_(c1, "add", "sub"), c1, POWER_HALF, 0, 0),
        (mul_root & radical(c1), c1 + 1, POWER_HALF, c2, 1),
        (mul_root & radical(c2), c2 + 1, POWER_HALF, c1, 1),
    ]
    at, kind, p_at, p_kind = jnp.int32(0), jnp.int32(POWER_NONE), jnp.int32(0), jnp.int32(0)
    for cond, a, k, pa, pk in reversed(cases):  # the first case that holds wins
        at = jnp.where(cond, a, at)
        kind = jnp.where(cond, k, kind)
        p_at = jnp.where(cond, pa, p_at)
        p_kind = jnp.where(cond, pk, p_kind)
    return at.astype(jnp.int32), kind, p_at.astype(jnp.int32), p_kind
