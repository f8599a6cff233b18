"""Program searches over the DSL, each guided by attribute probabilities or gradient-free.

- `dfs_search`: depth-first search over programs of up to `max_length` statements, trying
  operations in a fixed order (by predicted probability for the guided search, by corpus
  frequency for the baseline) at every depth.
- `sort_and_add_search`: DFS restricted to an active set of the most probable attributes;
  on failure the next `step` attributes join and the search runs again over the programs
  that use a newly active operation only (DeepCoder §4.3, without its repeated work).
- `genetic_search`: a population of programs evolved by tournament selection, one-point
  crossover and statement mutation, fitness from the I/O examples: a second, gradient-free
  search. It is a plain host-side function (not a `frontier.Experiment`): one generation
  mutates a variable-length symbolic population, which is not a jittable array step.

All searches run on the host. The enumerative searches (and the genetic search's fitness)
use the fast engine by default: a variable is a column (its values on all examples at once)
interned to an integer id in a `ValueStore`, each distinct statement (operation, argument
columns) is executed once per task and memoised, and partial programs whose variables hold the
same set of columns are one search node (observational equivalence). `engine="plain"` is the
reference enumerator that executes every statement (the "before" of
`benchmarks/synthesis_throughput.py`). A node is one statement considered (executed, or found
in the memo). Every search stops at the first program whose new variable matches all
outputs, when `max_nodes` nodes were considered, or after `time_budget` seconds. In the
enumerative searches a statement that fails on an example, or whose values equal an existing
variable's, is not extended (the same pruning for baseline and guided searches).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence

import numpy as np

from research.synthesis.data import Task, argument_choices
from research.synthesis.dsl import (
    BINARY,
    INT,
    LIST,
    MAP_LAMBDAS,
    NUM_ATTRIBUTES,
    OPERATIONS,
    Operation,
    Program,
    Statement,
    check_examples,
)


@dataclasses.dataclass(frozen=True)
class SearchResult:
    """Outcome of one search on one task."""

    solved: bool
    program: Program | None
    nodes: int
    seconds: float


class _Stop(Exception):
    pass


def operation_scores(attribute_probs: np.ndarray) -> np.ndarray:
    """`[38]` score of each operation: product of its attributes' probabilities (`[34]`)."""
    p = np.asarray(attribute_probs, np.float64)
    if p.shape != (NUM_ATTRIBUTES,):
        raise ValueError(f"attribute_probs should have shape ({NUM_ATTRIBUTES},), got {p.shape}")
    return np.append(p, 1.0)[_OP_ATTRIBUTES].prod(axis=1)


# per operation its one or two attribute indices (NUM_ATTRIBUTES: none, probability 1)
_OP_ATTRIBUTES = np.array(
    [(*op.attributes, NUM_ATTRIBUTES)[:2] for op in OPERATIONS], dtype=np.int64
)


def operation_order(attribute_probs: np.ndarray) -> list[Operation]:
    """Operations by descending score (ties by DSL order, so the order is deterministic)."""
    scores = operation_scores(attribute_probs)
    return [OPERATIONS[i] for i in np.argsort(-scores, kind="stable")]


def _columns(task: Task) -> tuple[list[tuple], tuple]:
    """Per-variable value tuples over examples, and the target output tuple."""
    inputs = [tuple(ex[0][i] for ex in task.examples) for i in range(len(task.input_types))]
    return inputs, tuple(ex[1] for ex in task.examples)


class _PlainEnumerator:
    """The reference DFS: executes every statement on the examples in plain Python.

    Kept as the "before" engine of `benchmarks/synthesis_throughput.py` (`engine="plain"`)
    and as an independent check of the fast enumerator in the tests.
    """

    trace: list[tuple[Statement, ...]] | None = None  # a list: every program considered

    def __init__(self, task: Task, max_length: int, deadline: float, max_nodes: int):
        self.values, self.target = _columns(task)
        self.types = list(task.input_types)
        self.out_type = task.output_type
        self.n_inputs = len(task.input_types)
        self.max_length = max_length
        self.deadline = deadline
        self.max_nodes = max_nodes
        self.nodes = 0
        self.revisits = 0
        self.skipped = 0
        self.statements: list[Statement] = []
        self.solution: list[Statement] | None = None
        self.timed_out = False

    def run(
        self,
        ops: Sequence[Operation],
        new_ops: Sequence[Operation] | None = None,
        record: bool = False,
    ) -> bool:
        """DFS over `ops`; with `new_ops`, only programs using at least one of them (the
        other programs were considered by an earlier run, see `sort_and_add_search`).
        `record` is the fast engine's and ignored here."""
        new = frozenset(op.index for op in (ops if new_ops is None else new_ops))
        try:
            self._rec([(op, op.index in new) for op in ops], 0, new_ops is None)
        except _Stop:
            pass
        return self.solution is not None

    def _rec(self, ops: list, depth: int, fresh: bool) -> None:
        values, types, target = self.values, self.types, self.target
        last = depth + 1 == self.max_length
        for op, is_new in ops:
            old = not (fresh or is_new)  # its programs were all considered in an earlier run
            if old and last:
                continue
            for args in argument_choices(op.arg_types, types):
                if old:
                    self.revisits += 1
                else:
                    self.nodes += 1
                    if self.trace is not None:
                        self.trace.append((*self.statements, Statement(op.index, args)))
                    if self.nodes >= self.max_nodes or (
                        self.nodes & 127 == 0 and time.perf_counter() > self.deadline
                    ):
                        self.timed_out = True
                        raise _Stop
                if len(args) == 1:
                    v = tuple(map(op.fn, values[args[0]]))
                else:
                    v = tuple(map(op.fn, values[args[0]], values[args[1]]))
                if None in v:
                    continue
                if not old and op.out_type == self.out_type and v == target:
                    self.solution = [*self.statements, Statement(op.index, args)]
                    raise _Stop
                if last or v in values:
                    continue
                values.append(v)
                types.append(op.out_type)
                self.statements.append(Statement(op.index, args))
                self._rec(ops, depth + 1, not old)
                self.statements.pop()
                types.pop()
                values.pop()

    def program(self) -> Program | None:
        if self.solution is None:
            return None
        program = Program(tuple(self.types[: self.n_inputs]), tuple(self.solution))
        return program.without_dead_code()


INVALID, UNSTORED = -1, -2  # memo entries: statement fails on an example / valid, not interned
_KEY = 1 << 31  # value ids below this fit the packed integer memo keys (more than memory holds)


class ValueStore:
    """Value columns (one value per example, all examples at once) interned to integer ids,
    with every statement's result memoised by (operation, argument ids).

    A column is the tuple of a variable's values over the task's examples, so a statement is
    executed on all examples at once and only the first time its (operation, arguments) occur;
    every later occurrence, in any branch of any search on the same task, is a dict lookup.
    Two partial programs whose variables hold the same columns are the same search state
    (observational equivalence). `memo_limit` bounds memory: past it the memo is cleared
    (values stay interned, so correctness is unaffected).
    """

    def __init__(self, task: Task, memo_limit: int = 3_000_000, reference: bool = False):
        inputs, target = _columns(task)
        self.reference = reference  # True: execute `Operation.fn`, else `Operation.fast`
        self.ids: dict[tuple, int] = {}
        self.columns: list[tuple] = []
        self.memo: dict[int, int] = {}
        # last-depth answers per packed (signature, arguments) key: (operations checked,
        # operations that give the target, operations that give the target's first value)
        self._hits: dict[int, tuple[int, int, int]] = {}
        self._first: dict[int, int] = {}
        self._first_ids: dict = {}
        self.first: list[int] = []  # per column: id of its value on the first example
        self.first_len: list[int] = []  # per column: its first example's length (-1: int)
        # sort-and-add: per state at the last depth but one and per operation, what the
        # children's last statements can still give (see `_FastEnumerator._walk`)
        self.groups: dict[frozenset, dict[int, tuple[int, int, int]]] = {}
        self.memo_limit = memo_limit
        self.executed = 0  # statements actually executed (memo misses)
        self.inputs = [self.intern(c) for c in inputs]
        self.target_column = target
        self.target_first_len = len(target[0]) if task.output_type == LIST else -1
        self.target = self.intern(target)
        self.target_type = task.output_type
        self._lengths: dict[int, tuple] = {}
        self.target_lengths = tuple(map(len, target)) if task.output_type == LIST else None

    def intern(self, column: tuple) -> int:
        i = self.ids.get(column)
        if i is None:
            i = len(self.columns)
            self.ids[column] = i
            self.columns.append(column)
            f = self._first_ids.setdefault(column[0], len(self._first_ids))
            self.first.append(f)
            self.first_len.append(len(column[0]) if isinstance(column[0], tuple) else -1)
        return i

    def execute(self, op: Operation, args: tuple[int, ...], store: bool) -> int:
        """Id of `op` applied to the columns `args` (INVALID if it fails on some example;
        UNSTORED if valid, not the target and `store` is False). Memoises the answer."""
        self.executed += 1
        cols = self.columns
        fn = op.fn if self.reference else op.fast
        if len(args) == 1:
            v = tuple(map(fn, cols[args[0]]))
        else:
            v = tuple(map(fn, cols[args[0]], cols[args[1]]))
        if None in v:
            r = INVALID
        elif store or v == self.target_column:
            r = self.intern(v)
        else:
            r = UNSTORED
        if len(self.memo) >= self.memo_limit:
            self.memo.clear()
        self.memo[_memo_key(op.index, args)] = r
        return r

    def lengths(self, i: int) -> tuple[int, ...] | None:
        """Per-example lengths of list column `i` (None for an int column)."""
        n = self._lengths.get(i)
        if n is None:
            col = self.columns[i]
            n = tuple(map(len, col)) if isinstance(col[0], tuple) else ()
            self._lengths[i] = n
        return n or None

    def _candidates(self, sig: tuple[str, ...], args: tuple[int, ...]) -> list[Operation]:
        """Operations of argument types `sig` whose result on `args` can equal the target:
        the target's type and, for a list target, lengths it can have (no execution)."""
        groups = _GROUPS[(sig, self.target_type)]
        want = self.target_lengths
        if want is None:
            return groups["any"]
        if sig == (LIST,):
            ls = self.lengths(args[0])
            out = groups["same"] if ls == want else []
            if all(k >= w for k, w in zip(ls, want, strict=True)):
                out = out + groups["shorter"]
            return out
        if sig == (LIST, LIST):
            la, lb = self.lengths(args[0]), self.lengths(args[1])
            ok = all(min(x, y) == w for x, y, w in zip(la, lb, want, strict=True))
            return groups["zip"] if ok else []
        ns, ls = self.columns[args[0]], self.lengths(args[1])
        out = []
        if all(min(max(n, 0), k) == w for n, k, w in zip(ns, ls, want, strict=True)):
            out += groups["take"]
        if all(max(k - max(n, 0), 0) == w for n, k, w in zip(ns, ls, want, strict=True)):
            out += groups["drop"]
        return out

    def hits(self, sig: tuple[str, ...], args: tuple[int, ...], mask: int) -> int:
        """Bit mask of the operations in `mask` (bit `op.index`) of argument types `sig` that
        map the columns `args` to the target column. Cached per argument tuple together with
        the operations already checked, so an operation is executed on `args` at most once
        and only when asked for (a restricted search never runs the inactive operations);
        an operation is executed only when its value on the first example is the target's
        and the result lengths it gives can be the target's."""
        b = args[1] if len(args) == 2 else -1
        return self.entry(((args[0] * _KEY + b + 1) << 2) | _SIG_CODE[sig], mask)[1] & mask

    def entry(self, key: int, mask: int) -> tuple[int, int, int]:
        """`hits` on the packed key ((a * 2**31 + b + 1) * 4 + signature code; b = -1 for
        one argument), as the cached (checked, found, agree) triple: `agree` holds every
        operation of the signature (active or not) whose value on the first example is the
        target's, a superset of the operations that can ever be found for these arguments."""
        code = key & 3
        a, b = divmod(key >> 2, _KEY)
        b -= 1
        entry = self._hits.get(key)
        if entry is not None:
            checked, found, agree = entry
            missing = mask & ~checked
            if not missing:
                return entry
        else:
            checked = found = 0
            missing = mask
            # most operations already differ from the target on the first example, and many
            # columns share their first value: which operations of the signature give the
            # target's first value is cached per first value(s), so most argument tuples
            # execute nothing
            first = self.first
            fkey = ((first[a] * _KEY + (first[b] if b >= 0 else -1) + 1) << 2) | code
            agree = self._first.get(fkey)
            if agree is None:
                cols, want = self.columns, self.target_column[0]
                a0, b0 = cols[a][0], cols[b][0] if b >= 0 else None
                agree = 0
                ops = _GROUPS[(_CODE_SIG[code], self.target_type)]["any"]
                if ops and code == 2:  # ZIPWITH: the shorter list's length, then elementwise
                    if len(want) != min(len(a0), len(b0)):
                        ops = ()
                    elif want:
                        x, y, w = a0[0], b0[0], want[0]
                        ops = [op for op in ops if BINARY[op.lam](x, y) == w]
                elif code == 0 and self.target_type == LIST:
                    # list -> list: the result's length, and the first element where the
                    # operation keeps the length, without building the result
                    la, lw = len(a0), len(want)
                    same = _LIST_TO_LIST["same"] if la == lw else ()
                    if same and lw:
                        same = [op for op in same if _HEAD[op.index](a0) == want[0]]
                    ops = [*same, *(_LIST_TO_LIST["shorter"] if la >= lw else ())]
                for op in ops:
                    fn = op.fn if self.reference else op.fast
                    if (fn(a0) if b0 is None else fn(a0, b0)) == want:
                        agree |= 1 << op.index
                if len(self._first) >= self.memo_limit:
                    self._first.clear()
                self._first[fkey] = agree
        todo = missing & agree
        if todo:
            memo = self.memo
            args = (a,) if b < 0 else (a, b)
            off = _memo_key(0, args)  # the key of (op, args) is op * _KEY**2 + off
            for op in self._candidates(_CODE_SIG[code], args):
                if not todo >> op.index & 1:
                    continue
                r = memo.get(op.index * _KEY2 + off)
                if r is None or r == UNSTORED:
                    r = self.execute(op, args, store=False)
                if r == self.target:
                    found |= 1 << op.index
        if len(self._hits) >= self.memo_limit:
            self._hits.clear()
        entry = self._hits[key] = (checked | missing, found, agree)
        return entry


_SIG_CODE = {(LIST,): 0, (INT, LIST): 1, (LIST, LIST): 2}
_CODE_SIG = {c: sig for sig, c in _SIG_CODE.items()}


def _ops_by_signature() -> dict[tuple, list[Operation]]:
    out: dict[tuple, list[Operation]] = {}
    for op in OPERATIONS:
        out.setdefault(op.arg_types, []).append(op)
    return out


_OPS_BY_SIGNATURE = _ops_by_signature()


def _groups() -> dict[tuple, dict[str, list[Operation]]]:
    """Per (argument types, output type): operations grouped by how result lengths follow
    from argument lengths (`same`, `shorter` for FILTER, `zip`, `take`, `drop`; `any` all)."""
    kind = {"FILTER": "shorter", "ZIPWITH": "zip", "TAKE": "take", "DROP": "drop"}
    out: dict[tuple, dict[str, list[Operation]]] = {}
    for sig, ops in _OPS_BY_SIGNATURE.items():
        for t in (INT, LIST):
            g = {k: [] for k in ("any", "same", "shorter", "zip", "take", "drop")}
            for op in ops:
                if op.out_type == t:
                    g["any"].append(op)
                    g[kind.get(op.function, "same")].append(op)
            out[(sig, t)] = g
    return out


_GROUPS = _groups()
_LIST_TO_LIST = _GROUPS[((LIST,), LIST)]


def _head_of(op: Operation) -> Callable[[tuple], int]:
    """The first element of a length-keeping list operation's result (a non-empty input)."""
    if op.function == "MAP":
        return lambda xs, f=MAP_LAMBDAS[op.lam]: f(xs[0])
    return {"SCANL1": lambda xs: xs[0], "REVERSE": lambda xs: xs[-1], "SORT": min}[op.function]


_HEAD = {op.index: _head_of(op) for op in _LIST_TO_LIST["same"]}


_KEY2 = _KEY * _KEY


def _memo_key(op: int, args: tuple[int, ...]) -> int:
    if len(args) == 1:
        return (op * _KEY + args[0]) * _KEY
    return (op * _KEY + args[0]) * _KEY + args[1] + 1


class _FastEnumerator:
    """DFS over straight-line programs on interned value columns (see `ValueStore`).

    Per node it does one dict lookup (executing the statement on all examples only on a memo
    miss) and prunes: a statement that fails on an example or recomputes an existing column;
    a state (set of columns) already expanded with at least as many statements left
    (observational equivalence); at the last depth, statements of the wrong output type and
    statements not reading the newest variable (that variable would be dead, so the program
    is a shorter one, already tried at a smaller depth).

    The last depth is checked in one batch per state: which operations map the newest column
    (alone, or with one other column) to the target is computed once per column (pair) and
    cached, so all the state's leaf statements cost a few lookups; only a state with a hit
    is walked statement by statement, to return the first solution in the search order. A
    node is one statement considered, as for `_PlainEnumerator`.
    """

    prune_states = True  # False: no observational-equivalence pruning (exact counts in tests)

    def __init__(
        self, task: Task, store: ValueStore, max_length: int, deadline: float, max_nodes: int
    ):
        self.store = store
        self.in_types = tuple(task.input_types)
        self.out_type = task.output_type
        self.max_length = max_length
        self.deadline = deadline
        self.max_nodes = max_nodes
        self.nodes = 0
        self.revisits = 0
        self.skipped = 0  # groups of old statements counted without re-traversal (`record`)
        self.timed_out = False
        self.solution: list[tuple[int, tuple[int, ...]]] | None = None

    def run(
        self,
        ops: Sequence[Operation],
        new_ops: Sequence[Operation] | None = None,
        record: bool = False,
    ) -> bool:
        """DFS over `ops` in their order; with `new_ops` (a subset of `ops`), only the programs
        using at least one of them: the others were considered by an earlier run on the same
        `ValueStore` (see `sort_and_add_search`). A statement of an old operation on a path
        without a new one is re-traversed (one memo lookup, counted in `revisits`, not in
        `nodes`) but not checked again, and at the last depth such a path only tries new
        operations, so no program is considered twice across runs.

        `record` (the runs of one sort-and-add search): at the last depth but one, keep per
        (state, operation) which operations the children's last statements can still give
        (their first-example agreement) and how many there are of each kind, in
        `ValueStore.groups`. A later run re-traverses such a group only when one of its new
        last operations is among them; otherwise it adds the group's node count without
        walking it (the same nodes, none of which could have been a solution)."""
        store = self.store
        self.vars = list(store.inputs)
        self.types = list(self.in_types)
        self.lists = [v for v, t in zip(self.vars, self.types, strict=True) if t == LIST]
        self.ints = [v for v, t in zip(self.vars, self.types, strict=True) if t == INT]
        self.present = set(self.vars)
        self.statements: list[tuple[int, tuple[int, ...]]] = []
        self.record = record
        # (observational equivalence) state -> most statements left it was expanded with,
        # for paths that already use a new operation (`fresh`) and for those that do not yet
        self.visited: dict[frozenset, int] = {}
        self.visited_old: dict[frozenset, int] = {}
        new = frozenset(op.index for op in (ops if new_ops is None else new_ops))
        self.ops = [(op, op.index * _KEY, op.arg_types, op.index in new) for op in ops]
        last_ops = [op for op in ops if op.out_type == self.out_type]
        self.last_ops = [(op, op.index * _KEY, op.arg_types, True) for op in last_ops]
        self.new_last_ops = [t for t in self.last_ops if t[0].index in new]
        # per path kind (fresh or not), the last statements' mask, their counts per signature
        # and which signatures to check (with `record`, every one that has operations of the
        # target's type, so the answers cover the operations of later runs)
        has_ops = tuple(bool(_GROUPS[(sig, self.out_type)]["any"]) for sig in _SIG_CODE)
        self.batch = {}
        for fresh, group in ((True, self.last_ops), (False, self.new_last_ops)):
            count = tuple(sum(t[2] == sig for t in group) for sig in _SIG_CODE)
            check = has_ops if record else tuple(c > 0 for c in count)
            self.batch[fresh] = (sum(1 << t[0].index for t in group), count, check)
        self.next_check = min(self.nodes + 1024, self.max_nodes)
        try:
            self._rec(0, new_ops is None)
        except _Stop:
            pass
        return self.solution is not None

    def _tick(self, n: int) -> None:
        self.nodes += n
        if self.nodes >= self.max_nodes:
            self.nodes = self.max_nodes
            self.timed_out = True
            raise _Stop
        if self.nodes >= self.next_check:
            self.next_check = min(self.nodes + 1024, self.max_nodes)
            if time.perf_counter() > self.deadline:
                self.timed_out = True
                raise _Stop

    def _choices(self, last: bool) -> dict[tuple, list]:
        vars_, types = self.vars, self.types
        n = len(vars_)
        by_type = {INT: [], LIST: []}
        for i in range(n - 1, -1, -1):
            by_type[types[i]].append(i)
        newest = n - 1 if last and n > len(self.in_types) else -1
        choices: dict[tuple, list] = {}
        for sig in _SIG_CODE:
            cs = [()]
            for t in sig:
                cs = [c + (i,) for c in cs for i in by_type[t]]
            if newest >= 0:
                cs = [c for c in cs if newest in c]
            choices[sig] = [(c, tuple(vars_[i] for i in c)) for c in cs]
        return choices

    def _rec(self, depth: int, fresh: bool) -> None:
        if depth + 1 == self.max_length:  # a one-statement search
            last_ops = self.last_ops if fresh else self.new_last_ops
            self._walk(last_ops, self._choices(True), True, fresh)
        else:
            self._walk(self.ops, self._choices(False), False, fresh, depth)

    def _walk(self, ops, choices, last: bool, fresh: bool, depth: int = 0) -> None:
        """Statements one by one in the search order (recursing unless `last`). At the last
        depth but one, a statement's last statements are checked in one batch
        (`_last_batch`) and walked one by one only when one of them gives the target."""
        store = self.store
        memo, target = store.memo, store.target
        vars_, types, present = self.vars, self.types, self.present
        lists, ints = self.lists, self.ints
        prune = self.prune_states
        penultimate = not last and depth + 2 == self.max_length
        # an old path entering the last depth with no new operation there has nothing new
        old_dead_end = penultimate and not self.new_last_ops
        # sort-and-add: the last depth but one keeps what each operation's children can give
        group_level = self.record and penultimate
        if group_level:
            state = frozenset(present)
            groups = store.groups.get(state)
            if groups is None:
                if len(store.groups) >= store.memo_limit // 64:
                    store.groups.clear()
                groups = store.groups[state] = {}
            new_mask, (c1, c2, c3), _ = self.batch[False]
            per_list = c1 + c2 * len(ints) + c3 * (2 * len(lists) + 1)
            per_int = c2 * len(lists)
        for op, base, sig, is_new in ops:
            old = not (fresh or is_new)  # considered by an earlier run: re-traversed only
            if old and (last or old_dead_end):
                continue
            if group_level:
                group = groups.get(op.index)
                if old and group is not None and not group[0] & new_mask:
                    # no child can give a new operation's value on the first example
                    n = per_list * group[1] + per_int * group[2]
                    self.skipped += 1
                    if n:
                        self._tick(n)
                    continue
                agree = n_list = n_int = 0
            out_type = op.out_type
            for pos, ids in choices[sig]:
                if old:
                    self.revisits += 1
                else:
                    self.nodes += 1
                    if self.nodes >= self.next_check:
                        self._tick(0)
                key = (
                    (base + ids[0]) * _KEY if len(ids) == 1 else (base + ids[0]) * _KEY + ids[1] + 1
                )
                r = memo.get(key)
                if r is None or (r == UNSTORED and not last):
                    r = store.execute(op, ids, store=not last)
                if r == target and not old:
                    self.solution = [*self.statements, (op.index, pos)]
                    raise _Stop
                if last or r < 0 or r in present:
                    continue
                if penultimate:
                    child_fresh = not old
                    agree_r = self._last_batch(r, out_type, child_fresh)
                    if agree_r < 0:  # a last statement gives the target: find it in order
                        vars_.append(r)
                        types.append(out_type)
                        self.statements.append((op.index, pos))
                        last_ops = self.last_ops if child_fresh else self.new_last_ops
                        self._walk(last_ops, self._choices(True), True, child_fresh)
                        self.statements.pop()  # not reached: the walk finds the target
                        types.pop()
                        vars_.pop()
                    if group_level:  # (-1: every operation, never skipped)
                        agree |= agree_r
                        if out_type == LIST:
                            n_list += 1
                        else:
                            n_int += 1
                    continue
                left = self.max_length - depth - 1
                present.add(r)
                if prune:
                    state_r = frozenset(present)
                    # a state expanded on a fresh path covers the same state on an old one
                    if self.visited.get(state_r, -1) >= left or (
                        old and self.visited_old.get(state_r, -1) >= left
                    ):
                        present.discard(r)
                        continue
                    (self.visited_old if old else self.visited)[state_r] = left
                vars_.append(r)
                types.append(out_type)
                by_type = lists if out_type == LIST else ints
                by_type.append(r)
                self.statements.append((op.index, pos))
                self._rec(depth + 1, not old)
                self.statements.pop()
                by_type.pop()
                types.pop()
                vars_.pop()
                present.discard(r)
            if group_level and group is None:
                groups[op.index] = (agree, n_list, n_int)

    def _last_batch(self, r: int, out_type: str, fresh: bool) -> int:
        """All last-depth statements after a new variable `r` of `out_type` (not yet on the
        variable stacks) at once, see the class doc; on a path without a new operation only
        the new operations are tried. Returns -1 when one of them gives the target (nothing
        counted: the caller walks them), else counts them as nodes and returns the
        operations (active or not) that give the target's first value on one of their
        argument tuples (all signatures with `record`, else the active ones')."""
        store, lists = self.store, self.lists
        mask, (c1, c2, c3), (k1, k2, k3) = self.batch[fresh]
        # packed (signature, arguments) keys to check (see `ValueStore.entry`); answers
        # already cached for every operation of `mask` are read here without a call (the
        # common case in sort-and-add's rounds)
        rk = r * _KEY
        if out_type == LIST:
            ints = self.ints
            n = c1 + c2 * len(ints) + c3 * (2 * len(lists) + 1)
            keys = [rk << 2] if k1 else []  # (r,): code 0, b = -1
            if k2:
                for i in ints:
                    keys.append(((i * _KEY + r + 1) << 2) | 1)
            if k3:
                # ZIPWITH gives the shorter list's length: only partners that give the
                # target's length on the first example can give the target
                fl, want = store.first_len, store.target_first_len
                lr = fl[r]
                if lr >= want:
                    for x in lists:
                        if (fl[x] if fl[x] < lr else lr) == want:
                            keys.append(((rk + x + 1) << 2) | 2)
                            keys.append(((x * _KEY + r + 1) << 2) | 2)
                    if lr == want:
                        keys.append(((rk + r + 1) << 2) | 2)
        else:
            n = c2 * len(lists)
            keys = [((rk + x + 1) << 2) | 1 for x in lists] if k2 else []
        cache, answer = store._hits, store.entry
        hits = agree = 0
        for key in keys:
            entry = cache.get(key)
            # operations not checked yet matter only where they agree on the first example
            if entry is None or mask & ~entry[0] & entry[2]:
                entry = answer(key, mask)
            hits |= entry[1]
            agree |= entry[2]
        if hits & mask:
            return -1
        self.nodes += n
        if self.nodes >= self.next_check:
            self._tick(0)
        return agree

    def program(self) -> Program | None:
        if self.solution is None:
            return None
        statements = tuple(Statement(op, args) for op, args in self.solution)
        return Program(self.in_types, statements).without_dead_code()


def _enumerator(task, store, engine, max_length, deadline, max_nodes):
    if engine == "fast":
        return _FastEnumerator(task, store, max_length, deadline, max_nodes)
    return _PlainEnumerator(task, max_length, deadline, max_nodes)


ENGINES = ("fast", "plain")


def check_task(task: Task) -> None:
    """Raise ValueError naming the example whose arity, types or value range disagree with
    the task's signature (see `dsl.check_examples`)."""
    if not isinstance(task, Task):
        raise ValueError(f"expected a synthesis Task, got {type(task).__name__}")
    for t in task.input_types:
        if t not in (INT, LIST):
            raise ValueError(f"task input type {t!r} is not one of int, [int]")
    if task.output_type not in (INT, LIST):
        raise ValueError(f"task output type {task.output_type!r} is not one of int, [int]")
    check_examples(task.input_types, task.output_type, task.examples)


def _check(
    task: Task, max_length: int, time_budget: float, max_nodes: int | None, engine: str = "fast"
) -> int:
    check_task(task)
    if max_length < 1:
        raise ValueError(f"max_length must be >= 1, got {max_length}")
    if not time_budget > 0:
        raise ValueError(f"time_budget must be > 0 seconds, got {time_budget}")
    if max_nodes is not None and max_nodes < 1:
        raise ValueError(f"max_nodes must be >= 1 or None, got {max_nodes}")
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}, got {engine!r}")
    return max_nodes if max_nodes is not None else 2**62


def dfs_search(
    task: Task,
    attribute_probs: np.ndarray,
    max_length: int,
    time_budget: float,
    max_nodes: int | None = None,
    engine: str = "fast",
) -> SearchResult:
    """DFS trying operations in descending order of `attribute_probs [34]`-derived score.

    `engine="fast"` (default) enumerates on interned, memoised value columns with
    observational-equivalence pruning; `"plain"` is the reference Python enumerator."""
    max_nodes = _check(task, max_length, time_budget, max_nodes, engine)
    order = operation_order(attribute_probs)
    start = time.perf_counter()
    store = ValueStore(task) if engine == "fast" else None
    e = _enumerator(task, store, engine, max_length, start + time_budget, max_nodes)
    solved = e.run(order)
    return SearchResult(solved, e.program(), e.nodes, time.perf_counter() - start)


def sort_and_add_search(
    task: Task,
    attribute_probs: np.ndarray,
    max_length: int,
    time_budget: float,
    max_nodes: int | None = None,
    initial: int = 12,
    step: int = 4,
    engine: str = "fast",
    stats: dict | None = None,
    unit: str = "attribute",
) -> SearchResult:
    """Sort-and-add enumeration (DeepCoder §4.3), incremental.

    The attributes (functions and lambdas) are sorted by predicted probability; the active
    set starts as the `initial` most probable ones and an operation is active when all its
    attributes are. Round 1 is a DFS (in descending operation score) over the active
    operations; when it fails, the next `step` attributes join and the next round runs. A
    round considers only the programs that use at least one operation that became active in
    it (the others were all considered before), on one shared `ValueStore`, so no program is
    considered twice and a statement executed in an earlier round costs a lookup. Rounds that
    activate no operation are skipped. `nodes` adds up over the rounds; `stats`, if given,
    receives `rounds`, `revisits` (statements re-traversed to reach the new operations),
    `skipped` (groups of old last-but-one statements not re-traversed because none of their
    last statements can give a new operation's value, see `_FastEnumerator.run`) and
    `active_ops` (active operations in the last round). `unit="operation"` ranks the 38
    operations by score instead and activates them `initial`, `step` at a time."""
    max_nodes = _check(task, max_length, time_budget, max_nodes, engine)
    if initial < 1 or step < 1:
        raise ValueError(f"sort-and-add needs initial >= 1 and step >= 1, got {initial}, {step}")
    if unit not in ("attribute", "operation"):
        raise ValueError(f"unit must be 'attribute' or 'operation', got {unit!r}")
    total = NUM_ATTRIBUTES if unit == "attribute" else len(OPERATIONS)
    order = operation_order(attribute_probs)
    start = time.perf_counter()
    ranked = list(np.argsort(-np.asarray(attribute_probs, np.float64), kind="stable"))
    store = ValueStore(task) if engine == "fast" else None
    nodes, k, seen = 0, initial, set()
    info = {"rounds": 0, "revisits": 0, "skipped": 0, "active_ops": 0}

    def done(solved: bool, program) -> SearchResult:
        if stats is not None:
            stats.update(info)
        return SearchResult(solved, program, nodes, time.perf_counter() - start)

    while True:
        if unit == "attribute":
            active = set(int(a) for a in ranked[:k])
            ops = [op for op in order if all(a in active for a in op.attributes)]
        else:
            ops = order[:k]
        new = [op for op in ops if op.index not in seen]
        if new:
            e = _enumerator(task, store, engine, max_length, start + time_budget, max_nodes - nodes)
            solved = e.run(ops, new if seen else None, record=True)
            nodes += e.nodes
            info["rounds"] += 1
            info["revisits"] += e.revisits
            info["skipped"] += e.skipped
            info["active_ops"] = len(ops)
            if solved or e.timed_out:
                return done(solved, e.program())
            seen.update(op.index for op in new)
        if k >= total:
            return done(False, None)
        k += step


# --- genetic search -------------------------------------------------------------------------


def _similarity(a, b, type_: str) -> float:
    """In [0, 1]; 1 iff equal. Ints: closeness; lists: length match and positional matches."""
    if a == b:
        return 1.0
    if type_ == INT:
        return 0.5 * max(0.0, 1.0 - abs(a - b) / 64.0)
    n = max(len(a), len(b))
    same = sum(1 for x, y in zip(a, b, strict=False) if x == y)
    return 0.3 * (len(a) == len(b)) + 0.6 * same / n


def _fitness(
    store: ValueStore, similarity: dict[int, float], statements, use_memo: bool = True
) -> tuple[float, int, int]:
    """Best similarity of any variable of a program to the outputs (mean over examples), the
    statement where it is reached, and the statements executed (nodes).

    `statements` is a sequence of `(operation index, argument variables)`. Statements run on
    interned columns with the memo of `ValueStore`, so a prefix shared by many programs is
    executed once; a statement that fails on an example ends the program. 1.0 means the
    variable equals the target column."""
    memo, target = store.memo, store.target
    values = list(store.inputs)
    out_type = store.target_type
    best, where = 0.0, -1
    for j, (op_index, args) in enumerate(statements):
        op = OPERATIONS[op_index]
        ids = tuple(values[a] for a in args)
        r = memo.get(_memo_key(op_index, ids)) if use_memo else None
        if r is None or r == UNSTORED:
            r = store.execute(op, ids, store=True)
        if r == INVALID:
            return best, where, j + 1
        values.append(r)
        if op.out_type == out_type:
            if r == target:
                return 1.0, j, j + 1
            f = similarity.get(r) if use_memo else None
            if f is None:
                v = store.columns[r]
                f = sum(
                    _similarity(x, y, out_type) for x, y in zip(v, store.target_column, strict=True)
                ) / len(v)
                similarity[r] = f
            if f > best:
                best, where = f, j
    return best, where, len(statements)


class _Genetic:
    def __init__(self, task: Task, max_length: int, rng: np.random.Generator, memo: bool = True):
        self.task = task
        self.use_memo = memo
        self.store = ValueStore(task, reference=not memo)
        self.similarity: dict[int, float] = {}
        self.in_types = list(task.input_types)
        self.max_length = max_length
        self.rng = rng
        self.nodes = 0

    def random_statement(self, var_types: list[str]) -> Statement:
        ops = [op for op in OPERATIONS if all(t in var_types for t in op.arg_types)]
        op = ops[int(self.rng.integers(len(ops)))]
        args = tuple(
            int(self.rng.choice([i for i, vt in enumerate(var_types) if vt == t]))
            for t in op.arg_types
        )
        return Statement(op.index, args)

    def random_program(self) -> list[Statement]:
        types = list(self.in_types)
        out = []
        for _ in range(self.max_length):
            s = self.random_statement(types)
            out.append(s)
            types.append(OPERATIONS[s.op].out_type)
        return out

    def repair(self, statements: list[Statement]) -> list[Statement]:
        """Resample arguments that point past the end or at a variable of the wrong type."""
        types = list(self.in_types)
        out = []
        for s in statements:
            op = OPERATIONS[s.op]
            args = []
            for a, t in zip(s.args, op.arg_types, strict=True):
                if a < len(types) and types[a] == t:
                    args.append(a)
                    continue
                pool = [i for i, vt in enumerate(types) if vt == t]
                if not pool:
                    break
                args.append(int(self.rng.choice(pool)))
            s = Statement(op.index, tuple(args)) if len(args) == len(op.arg_types) else None
            if s is None:
                s = self.random_statement(types)
            out.append(s)
            types.append(OPERATIONS[s.op].out_type)
        return out

    def fitness(self, statements: list[Statement]) -> tuple[float, int]:
        """Best similarity of any variable to the outputs (mean over examples), and where
        (see `_fitness`; the plain engine executes every statement)."""
        f, where, n = _fitness(
            self.store, self.similarity, [(s.op, s.args) for s in statements], self.use_memo
        )
        self.nodes += n
        return f, where

    def mutate(self, statements: list[Statement]) -> list[Statement]:
        out = list(statements)
        i = int(self.rng.integers(len(out)))
        types = list(self.in_types) + [OPERATIONS[s.op].out_type for s in out[:i]]
        if self.rng.random() < 0.5:
            out[i] = self.random_statement(types)
        else:  # keep the operation, redraw its arguments
            op = OPERATIONS[out[i].op]
            args = tuple(
                int(self.rng.choice([k for k, vt in enumerate(types) if vt == t] or [0]))
                for t in op.arg_types
            )
            out[i] = Statement(op.index, args)
        return self.repair(out)


# operation tables for the array genetic search: argument types (1 list, 0 int, -1 none)
_ARITY = np.array([len(op.arg_types) for op in OPERATIONS])
_ARG_TYPES = np.array(
    [[int(t == LIST) for t in op.arg_types] + [-1] * (2 - len(op.arg_types)) for op in OPERATIONS]
)
_ARITY_LIST = _ARITY.tolist()
_OUT_LIST = np.array([int(op.out_type == LIST) for op in OPERATIONS])
_NEEDS = np.stack([(_ARG_TYPES == t).any(1) for t in (0, 1)], axis=1)  # [38, 2] int, list


class _ArrayGenetic:
    """The genetic search's population as arrays: `ops [P, T]`, `args [P, T, 2]` (the second
    argument 0 for a one-argument operation). Crossover, mutation and repair act on the
    whole population at once, one statement position at a time (a position's valid
    arguments depend on the types of the variables before it); fitness is computed per
    distinct program (`_fitness`, memoised statements) and cached by program."""

    def __init__(self, task: Task, max_length: int, rng: np.random.Generator):
        self.n_in = len(task.input_types)
        self.in_types = np.array([int(t == LIST) for t in task.input_types])
        self.T = max_length
        self.rng = rng
        self.store = ValueStore(task)
        self.similarity: dict[int, float] = {}
        self.cache: dict[tuple, tuple[float, int, int]] = {}
        self.nodes = 0

    def _choose(self, allowed: np.ndarray) -> np.ndarray:
        """Per row, a uniformly drawn column where `allowed [n, k]` is True (0 if none)."""
        return np.argmax(np.where(allowed, self.rng.random(allowed.shape), -1.0), axis=1)

    def fix(self, ops: np.ndarray, args: np.ndarray, redraw: np.ndarray) -> None:
        """In place: draw a new statement where `redraw [P, T]`, and new arguments for every
        argument that is out of range or of the wrong type (a new statement if no variable
        of that type exists)."""
        P, T, n_in = ops.shape[0], self.T, self.n_in
        types = np.empty((P, n_in + T), np.int64)
        types[:, :n_in] = self.in_types
        rows = np.arange(P)
        for j in range(T):
            n = n_in + j
            avail = types[:, :n]
            has = np.stack([(avail == 0).any(1), (avail == 1).any(1)], axis=1)  # [P, 2]
            want = _ARG_TYPES[ops[:, j]]  # [P, 2]
            valid = np.ones((P, 2), bool)
            for k in range(2):
                a = args[:, j, k]
                inside = (a >= 0) & (a < n)
                got = avail[rows, np.minimum(np.maximum(a, 0), n - 1)]
                valid[:, k] = (want[:, k] < 0) | (inside & (got == want[:, k]))
            need = (want >= 0) & ~valid  # arguments to redraw
            # a statement is redrawn when asked, or when an argument type has no variable
            missing = (need & ~has[rows[:, None], np.maximum(want, 0)]).any(1)
            new = redraw[:, j] | missing
            if new.any():
                ok = ~(_NEEDS[None, :, 0] & ~has[new, None, 0]) & ~(
                    _NEEDS[None, :, 1] & ~has[new, None, 1]
                )
                ops[new, j] = self._choose(ok)
                want = _ARG_TYPES[ops[:, j]]
                need[new] = want[new] >= 0
            for k in range(2):
                m = need[:, k]
                if m.any():
                    args[m, j, k] = self._choose(avail[m] == want[m, k][:, None])
            args[:, j, 1] = np.where(want[:, 1] < 0, 0, args[:, j, 1])
            types[:, n] = _OUT_LIST[ops[:, j]]

    def random_population(self, P: int) -> tuple[np.ndarray, np.ndarray]:
        ops = np.zeros((P, self.T), np.int64)
        args = np.zeros((P, self.T, 2), np.int64)
        self.fix(ops, args, np.ones((P, self.T), bool))
        return ops, args

    def fitness(self, ops: np.ndarray, args: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Fitness and best statement of every program; a program seen before costs a dict
        lookup (its statements are still counted as nodes, as a memo hit is)."""
        flat = np.concatenate([ops[:, :, None], args], axis=2).reshape(len(ops), -1).tolist()
        fit = np.empty(len(ops))
        where = np.empty(len(ops), np.int64)
        arity, cache = _ARITY_LIST, self.cache
        for p, row in enumerate(flat):
            key = tuple(row)
            hit = cache.get(key)
            if hit is None:
                statements = [
                    (o, (row[i + 1],) if arity[o] == 1 else (row[i + 1], row[i + 2]))
                    for i, o in zip(range(0, len(row), 3), row[::3], strict=True)
                ]
                hit = _fitness(self.store, self.similarity, statements)
                cache[key] = hit
            fit[p], where[p] = hit[0], hit[1]
            self.nodes += hit[2]
            if hit[0] == 1.0:
                return fit[: p + 1], where[: p + 1]
        return fit, where

    def program(self, ops: np.ndarray, args: np.ndarray, j: int, input_types) -> Program:
        statements = tuple(
            Statement(int(o), tuple(int(a) for a in args[i, : _ARITY[o]]))
            for i, o in enumerate(ops[: j + 1])
        )
        return Program(tuple(input_types), statements).without_dead_code()


def genetic_search(
    task: Task,
    max_length: int,
    time_budget: float,
    max_nodes: int | None = None,
    seed: int = 0,
    population: int = 100,
    tournament: int = 4,
    crossover_rate: float = 0.5,
    elite: int = 2,
    engine: str = "fast",
) -> SearchResult:
    """Evolve programs of `max_length` statements towards the examples (see module doc).

    Each generation keeps the `elite` fittest programs and fills the rest with children: a
    tournament winner, with probability `crossover_rate` crossed at one point with a second
    winner, then one statement mutated (redrawn, or its arguments redrawn) and references
    to missing or wrongly typed variables repaired. `engine="fast"` runs the variation on
    the population as arrays and memoises statements and fitness (`_ArrayGenetic`);
    `"plain"` is the reference version that varies one program at a time and executes every
    statement of every program (the search before the fast engine; the two draw different
    random numbers, so they are the same search in distribution, not program for program).
    A task without a list input has no program in the DSL (every operation reads a list):
    unsolved at once."""
    max_nodes = _check(task, max_length, time_budget, max_nodes, engine)
    if population < 2 or not 1 <= tournament <= population or not 0 <= elite < population:
        raise ValueError(
            f"genetic search needs population >= 2, 1 <= tournament <= population and "
            f"0 <= elite < population; got {population}, {tournament}, {elite}"
        )
    start = time.perf_counter()
    if LIST not in task.input_types:
        return SearchResult(False, None, 0, time.perf_counter() - start)
    rng = np.random.default_rng(seed)
    if engine == "fast":
        return _genetic_arrays(
            task, max_length, time_budget, max_nodes, rng, population, tournament,
            crossover_rate, elite, start,
        )  # fmt: skip
    g = _Genetic(task, max_length, rng, memo=False)
    pop = [g.random_program() for _ in range(population)]

    def solution(prog, j):
        types = tuple(task.input_types)
        return Program(types, tuple(prog[: j + 1])).without_dead_code()

    while True:
        scored = []
        for prog in pop:
            f, j = g.fitness(prog)
            if f == 1.0:
                return SearchResult(True, solution(prog, j), g.nodes, time.perf_counter() - start)
            scored.append(f)
        if g.nodes >= max_nodes or time.perf_counter() - start > time_budget:
            return SearchResult(False, None, g.nodes, time.perf_counter() - start)
        fit = np.asarray(scored)
        order = np.argsort(-fit, kind="stable")
        nxt = [pop[i] for i in order[:elite]]

        def pick(pop=pop, fit=fit):
            idx = g.rng.integers(population, size=tournament)
            return pop[int(idx[np.argmax(fit[idx])])]

        while len(nxt) < population:
            a = pick()
            if g.rng.random() < crossover_rate and max_length > 1:
                b = pick()
                cut = int(g.rng.integers(1, max_length))
                child = g.repair(a[:cut] + b[cut:])
            else:
                child = list(a)
            nxt.append(g.mutate(child))
        pop = nxt


def _genetic_arrays(
    task, T, time_budget, max_nodes, rng, population, tournament, crossover_rate, elite, start
) -> SearchResult:
    """`genetic_search` with the population as arrays (see `_ArrayGenetic`)."""
    g = _ArrayGenetic(task, T, rng)
    ops, args = g.random_population(population)
    n_children = population - elite
    positions = np.arange(T)
    while True:
        fit, where = g.fitness(ops, args)
        if fit[-1] == 1.0:
            p = len(fit) - 1
            program = g.program(ops[p], args[p], int(where[p]), task.input_types)
            return SearchResult(True, program, g.nodes, time.perf_counter() - start)
        if g.nodes >= max_nodes or time.perf_counter() - start > time_budget:
            return SearchResult(False, None, g.nodes, time.perf_counter() - start)
        elites = np.argsort(-fit, kind="stable")[:elite]

        def pick(fit=fit):
            idx = rng.integers(population, size=(n_children, tournament))
            return idx[np.arange(n_children), np.argmax(fit[idx], axis=1)]

        a, b = pick(), pick()
        cross = (rng.random(n_children) < crossover_rate) & (T > 1)
        cut = rng.integers(1, max(T, 2), size=n_children)
        from_a = ~cross[:, None] | (positions[None, :] < cut[:, None])  # [C, T]
        c_ops = np.where(from_a, ops[a], ops[b])
        c_args = np.where(from_a[:, :, None], args[a], args[b])
        # mutation: one position per child; half redraw the statement, half its arguments
        at = rng.integers(T, size=n_children)
        whole = rng.random(n_children) < 0.5
        rows = np.arange(n_children)
        c_args[rows[~whole], at[~whole]] = -1
        redraw = np.zeros((n_children, T), bool)
        redraw[rows[whole], at[whole]] = True
        g.fix(c_ops, c_args, redraw)
        ops = np.concatenate([ops[elites], c_ops])
        args = np.concatenate([args[elites], c_args])
