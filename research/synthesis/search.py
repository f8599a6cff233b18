"""Program searches over the DSL, each guided by attribute probabilities or gradient-free.

- `dfs_search`: depth-first search over programs of up to `max_length` statements, trying
  operations in a fixed order (by predicted probability for the guided search, by corpus
  frequency for the baseline) at every depth.
- `sort_and_add_search`: DFS restricted to an active set of the most probable attributes;
  on failure the next `step` attributes join and the search restarts (DeepCoder §4.3).
- `genetic_search`: a population of programs evolved by tournament selection, one-point
  crossover and statement mutation, fitness from the I/O examples: a second, gradient-free
  search. It is a plain host-side function (not a `frontier.Experiment`): one generation
  mutates a variable-length symbolic population, which is not a jittable array step.

All searches run on the host over Python values. A node is one statement executed on all
examples. Every search stops at the first program whose last (or any new) variable matches
all outputs, when `max_nodes` nodes were executed, or after `time_budget` seconds. In the
enumerative searches a statement that fails on an example, or whose values equal an existing
variable's, is not extended (the same pruning for baseline and guided searches).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence

import numpy as np

from research.synthesis.data import Task, argument_choices
from research.synthesis.dsl import (
    INT,
    NUM_ATTRIBUTES,
    OPERATIONS,
    Operation,
    Program,
    Statement,
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
    return np.array([np.prod(p[list(op.attributes)]) for op in OPERATIONS])


def operation_order(attribute_probs: np.ndarray) -> list[Operation]:
    """Operations by descending score (ties by DSL order, so the order is deterministic)."""
    scores = operation_scores(attribute_probs)
    return [OPERATIONS[i] for i in np.argsort(-scores, kind="stable")]


def _columns(task: Task) -> tuple[list[tuple], tuple]:
    """Per-variable value tuples over examples, and the target output tuple."""
    inputs = [tuple(ex[0][i] for ex in task.examples) for i in range(len(task.input_types))]
    return inputs, tuple(ex[1] for ex in task.examples)


class _Enumerator:
    """Shared state of one DFS: node counter, budget, the solution."""

    def __init__(self, task: Task, max_length: int, deadline: float, max_nodes: int):
        self.values, self.target = _columns(task)
        self.types = list(task.input_types)
        self.out_type = task.output_type
        self.n_inputs = len(task.input_types)
        self.max_length = max_length
        self.deadline = deadline
        self.max_nodes = max_nodes
        self.nodes = 0
        self.statements: list[Statement] = []
        self.solution: list[Statement] | None = None
        self.timed_out = False

    def run(self, ops: Sequence[Operation]) -> bool:
        try:
            self._rec(ops, 0)
        except _Stop:
            pass
        return self.solution is not None

    def _rec(self, ops: Sequence[Operation], depth: int) -> None:
        values, types, target = self.values, self.types, self.target
        last = depth + 1 == self.max_length
        for op in ops:
            for args in argument_choices(op.arg_types, types):
                self.nodes += 1
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
                if op.out_type == self.out_type and v == target:
                    self.solution = [*self.statements, Statement(op.index, args)]
                    raise _Stop
                if last or v in values:
                    continue
                values.append(v)
                types.append(op.out_type)
                self.statements.append(Statement(op.index, args))
                self._rec(ops, depth + 1)
                self.statements.pop()
                types.pop()
                values.pop()

    def program(self) -> Program | None:
        if self.solution is None:
            return None
        program = Program(tuple(self.types[: self.n_inputs]), tuple(self.solution))
        return program.without_dead_code()


def _check(max_length: int, time_budget: float, max_nodes: int | None) -> int:
    if max_length < 1:
        raise ValueError(f"max_length must be >= 1, got {max_length}")
    if time_budget <= 0:
        raise ValueError(f"time_budget must be > 0 seconds, got {time_budget}")
    if max_nodes is not None and max_nodes < 1:
        raise ValueError(f"max_nodes must be >= 1 or None, got {max_nodes}")
    return max_nodes if max_nodes is not None else 2**62


def dfs_search(
    task: Task,
    attribute_probs: np.ndarray,
    max_length: int,
    time_budget: float,
    max_nodes: int | None = None,
) -> SearchResult:
    """DFS trying operations in descending order of `attribute_probs [34]`-derived score."""
    max_nodes = _check(max_length, time_budget, max_nodes)
    start = time.perf_counter()
    e = _Enumerator(task, max_length, start + time_budget, max_nodes)
    solved = e.run(operation_order(attribute_probs))
    return SearchResult(solved, e.program(), e.nodes, time.perf_counter() - start)


def sort_and_add_search(
    task: Task,
    attribute_probs: np.ndarray,
    max_length: int,
    time_budget: float,
    max_nodes: int | None = None,
    initial: int = 8,
    step: int = 2,
) -> SearchResult:
    """DFS over the operations whose attributes are all among the `k` most probable ones,
    `k = initial, initial + step, ...` until solved or out of budget (nodes add up)."""
    max_nodes = _check(max_length, time_budget, max_nodes)
    if initial < 1 or step < 1:
        raise ValueError(f"sort-and-add needs initial >= 1 and step >= 1, got {initial}, {step}")
    start = time.perf_counter()
    ranked = list(np.argsort(-np.asarray(attribute_probs, np.float64), kind="stable"))
    order = operation_order(attribute_probs)
    nodes, k, prev_ops = 0, initial, None
    while True:
        active = set(int(a) for a in ranked[:k])
        ops = [op for op in order if all(a in active for a in op.attributes)]
        if ops and ops != prev_ops:
            e = _Enumerator(task, max_length, start + time_budget, max_nodes - nodes)
            solved = e.run(ops)
            nodes += e.nodes
            if solved or e.timed_out:
                return SearchResult(solved, e.program(), nodes, time.perf_counter() - start)
            prev_ops = ops
        if k >= NUM_ATTRIBUTES:
            return SearchResult(False, None, nodes, time.perf_counter() - start)
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


class _Genetic:
    def __init__(self, task: Task, max_length: int, rng: np.random.Generator):
        self.task = task
        self.values, self.target = _columns(task)
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
        """Best similarity of any variable to the outputs (mean over examples), and where."""
        values = list(self.values)
        out_type = self.task.output_type
        best, where = 0.0, -1
        for j, s in enumerate(statements):
            op = OPERATIONS[s.op]
            self.nodes += 1
            v = tuple(map(op.fn, *[values[a] for a in s.args]))
            if None in v:
                break
            values.append(v)
            if op.out_type == out_type:
                if v == self.target:
                    return 1.0, j
                f = sum(
                    _similarity(x, y, out_type) for x, y in zip(v, self.target, strict=True)
                ) / len(v)
                if f > best:
                    best, where = f, j
        return best, where

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
) -> SearchResult:
    """Evolve programs of `max_length` statements towards the examples (see module doc)."""
    max_nodes = _check(max_length, time_budget, max_nodes)
    if population < 2 or not 1 <= tournament <= population or not 0 <= elite < population:
        raise ValueError(
            f"genetic search needs population >= 2, 1 <= tournament <= population and "
            f"0 <= elite < population; got {population}, {tournament}, {elite}"
        )
    start = time.perf_counter()
    g = _Genetic(task, max_length, np.random.default_rng(seed))
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
