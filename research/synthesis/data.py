"""Random programs, their I/O examples, the train/test corpus and its array encoding.

Generation (all host-side numpy, deterministic given the seed):
1. Sample a program of the requested length for one of the input signatures (uniform over
   the operations whose argument types are available, then uniform over the arguments).
2. Drop it if a variable is unused, if it is constant on the probe inputs, or if its
   behaviour (its outputs on a fixed set of probe inputs, `behaviour`) equals that of a
   shorter program: every program of length up to `prune_max_length` is enumerated once per
   signature (`shorter_behaviours`) for this.
3. Drop it if its behaviour was already seen: the corpus holds one program per behaviour, so
   after a random split no test program is equivalent (on the probes) to a training program.
4. Draw inputs until `num_examples` of them give valid outputs (not all equal): else drop it.

Inputs: a list has 1..max_input_length elements drawn uniformly from [-s, s - 1], with the
scale s drawn per example from (8, 32, 128, 256); an int input is drawn from
[0, max_input_length] (usually a sensible TAKE/DROP/ACCESS index) or, one time in five, from
[-s, s - 1].
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence

import numpy as np

from research.synthesis.dsl import (
    INT,
    INT_MIN,
    LIST,
    MAX_LIST_LENGTH,
    NUM_ATTRIBUTES,
    OPERATIONS,
    Program,
    Statement,
    Value,
    check_examples,
    run_trace,
)

DEFAULT_SIGNATURES: tuple[tuple[str, ...], ...] = ((LIST,), (LIST, INT), (LIST, LIST))
SCALES = (8, 32, 128, 256)
MAX_INPUTS = 3
NULL_TOKEN = 512  # integer tokens are value - INT_MIN in [0, 511]; 512 pads
VOCAB = NULL_TOKEN + 1


@dataclasses.dataclass(frozen=True)
class Task:
    """A synthesis task: I/O examples of one signature (and the program that made them)."""

    input_types: tuple[str, ...]
    output_type: str
    examples: tuple[tuple[tuple[Value, ...], Value], ...]
    program: Program | None = None

    @classmethod
    def from_examples(
        cls, input_types: Sequence[str], output_type: str, examples: Sequence
    ) -> Task:
        """Validated task; a badly typed or out-of-range example raises naming its index."""
        checked = check_examples(tuple(input_types), output_type, examples)
        if len(input_types) > MAX_INPUTS:
            raise ValueError(f"at most {MAX_INPUTS} inputs are supported, got {len(input_types)}")
        return cls(tuple(input_types), output_type, tuple(checked))


def random_input(types: Sequence[str], rng: np.random.Generator, max_input_length: int):
    """One input tuple of the given types (see the module docstring for the distribution)."""
    s = int(SCALES[rng.integers(len(SCALES))])
    out = []
    for t in types:
        if t == LIST:
            n = int(rng.integers(1, max_input_length + 1))
            out.append(tuple(int(x) for x in rng.integers(-s, s, size=n)))
        elif rng.random() < 0.8:
            out.append(int(rng.integers(0, max_input_length + 1)))
        else:
            out.append(int(rng.integers(-s, s)))
    return tuple(out)


@functools.cache
def probe_inputs(types: tuple[str, ...], num_probes: int, max_input_length: int) -> tuple:
    """The fixed probe inputs on which behaviours are compared (seeded by the signature)."""
    seed = [len(types), *(1 + TYPES_ID[t] for t in types), num_probes, max_input_length]
    rng = np.random.default_rng(seed)
    return tuple(random_input(types, rng, max_input_length) for _ in range(num_probes))


TYPES_ID = {INT: 0, LIST: 1}


def behaviour(program: Program, probes: Sequence[tuple]) -> tuple:
    """The program's outputs on the probes (None where it is invalid)."""
    out = []
    for p in probes:
        env = run_trace(program, p)
        out.append(None if env is None else env[-1])
    return tuple(out)


def _apply(fn, argvals: list[tuple]) -> tuple:
    """Apply `fn` per probe; a None argument or result gives None at that probe."""
    return tuple(
        None if any(a is None for a in args) else fn(*args) for args in zip(*argvals, strict=True)
    )


def argument_choices(arg_types: tuple[str, ...], var_types: Sequence[str]) -> list[tuple]:
    """Every tuple of variable indices of the right types, most recent variables first."""
    by_type = {
        t: [i for i in range(len(var_types) - 1, -1, -1) if var_types[i] == t] for t in (INT, LIST)
    }
    choices: list[tuple] = [()]
    for t in arg_types:
        choices = [c + (i,) for c in choices for i in by_type[t]]
    return choices


@functools.cache
def shorter_behaviours(
    types: tuple[str, ...], max_length: int, num_probes: int, max_input_length: int
) -> frozenset:
    """Behaviours of all programs of length <= max_length (and of the inputs themselves)."""
    probes = probe_inputs(types, num_probes, max_input_length)
    inputs = [tuple(p[i] for p in probes) for i in range(len(types))]
    # Iterative deepening: `shortest[v]` is the fewest statements that compute behaviour v.
    # A variable reached with more statements than that is not extended (its extensions are
    # computable with fewer statements too); a global "seen" set would wrongly cut branches.
    shortest: dict[tuple, int] = {v: 0 for v in inputs}

    def rec(values: list[tuple], var_types: list[str], depth: int, limit: int):
        for op in OPERATIONS:
            for args in argument_choices(op.arg_types, var_types):
                v = _apply(op.fn, [values[a] for a in args])
                d = depth + 1
                best = shortest.setdefault(v, d)
                if best < d or d == limit:
                    continue
                values.append(v)
                var_types.append(op.out_type)
                rec(values, var_types, d, limit)
                values.pop()
                var_types.pop()

    for limit in range(1, max_length + 1):
        rec(list(inputs), list(types), 0, limit)
    seen = set(shortest)
    return frozenset(seen)


def sample_program(types: tuple[str, ...], length: int, rng: np.random.Generator) -> Program | None:
    """A random program of `length` statements (None if no operation fits at some point)."""
    var_types = list(types)
    statements = []
    for _ in range(length):
        ops = [op for op in OPERATIONS if all(t in var_types for t in op.arg_types)]
        if not ops:
            return None
        op = ops[int(rng.integers(len(ops)))]
        args = tuple(
            int(rng.choice([i for i, vt in enumerate(var_types) if vt == t])) for t in op.arg_types
        )
        statements.append(Statement(op.index, args))
        var_types.append(op.out_type)
    return Program(tuple(types), tuple(statements))


def make_examples(
    program: Program,
    num_examples: int,
    rng: np.random.Generator,
    max_input_length: int,
    max_tries: int = 20,
) -> tuple | None:
    """`num_examples` valid (inputs, output) pairs with not all outputs equal, or None."""
    examples = []
    for _ in range(max_tries * num_examples):
        x = random_input(program.input_types, rng, max_input_length)
        env = run_trace(program, x)
        if env is not None:
            examples.append((x, env[-1]))
            if len(examples) == num_examples:
                break
    if len(examples) < num_examples:
        return None
    if num_examples > 1 and len({out for _, out in examples}) == 1:
        return None
    return tuple(examples)


@dataclasses.dataclass(frozen=True)
class Corpus:
    train: tuple[Task, ...]
    test: tuple[Task, ...]
    attempts: int  # programs sampled to reach this many distinct behaviours


@functools.cache
def build_corpus(
    length: int,
    num_train: int,
    num_test: int,
    num_examples: int = 5,
    max_input_length: int = 10,
    num_probes: int = 20,
    prune_max_length: int = 2,
    seed: int = 0,
    signatures: tuple[tuple[str, ...], ...] = DEFAULT_SIGNATURES,
    max_attempts_factor: int = 200,
) -> Corpus:
    """Distinct-behaviour programs of `length` with I/O examples, split train/test at random."""
    if length < 1:
        raise ValueError(f"data.program_length must be >= 1, got {length}")
    if num_train < 1 or num_test < 1:
        raise ValueError(f"need num_train >= 1 and num_test >= 1, got {num_train}, {num_test}")
    if num_examples < 1:
        raise ValueError(f"data.num_examples must be >= 1, got {num_examples}")
    if not 1 <= max_input_length <= MAX_LIST_LENGTH:
        raise ValueError(
            f"data.max_input_length must be in [1, {MAX_LIST_LENGTH}], got {max_input_length}"
        )
    for sig in signatures:
        if len(sig) > MAX_INPUTS or any(t not in (INT, LIST) for t in sig):
            raise ValueError(f"bad input signature {sig}: up to {MAX_INPUTS} of int, [int]")
    rng = np.random.default_rng([seed, length, 7919])
    prune = min(prune_max_length, length - 1)
    shorter = {
        sig: shorter_behaviours(sig, prune, num_probes, max_input_length) for sig in signatures
    }
    seen: set = set()
    tasks: list[Task] = []
    want = num_train + num_test
    attempts = 0
    while len(tasks) < want:
        attempts += 1
        if attempts > max_attempts_factor * want:
            raise ValueError(
                f"only {len(tasks)} distinct programs of length {length} found in {attempts} "
                f"samples; lower data.num_train/num_test (asked for {want})"
            )
        sig = signatures[int(rng.integers(len(signatures)))]
        program = sample_program(sig, length, rng)
        if program is None or not program.uses_all_variables():
            continue
        probes = probe_inputs(sig, num_probes, max_input_length)
        b = (sig, behaviour(program, probes))
        if b in seen or b[1] in shorter[sig] or len(set(b[1])) == 1:
            continue
        seen.add(b)
        examples = make_examples(program, num_examples, rng, max_input_length)
        if examples is None:
            continue
        tasks.append(Task(sig, program.output_type, examples, program))
    order = np.random.default_rng([seed, length, 104729]).permutation(want)
    tasks = [tasks[i] for i in order]
    return Corpus(tuple(tasks[num_test:]), tuple(tasks[:num_test]), attempts)


def resample_examples(
    tasks: Sequence[Task], sets: int, max_input_length: int, seed: int = 0
) -> tuple[Task, ...]:
    """Each task followed by `sets - 1` copies with fresh I/O examples of its program (drawn as
    `make_examples` draws them; a copy keeps the original examples where no fresh set is
    found). Training on several example sets per program shows the guide what a program does
    rather than what its one set of examples happens to show, at the cost of running the
    interpreter, not of generating new distinct programs. Deterministic in `seed`."""
    if sets < 1:
        raise ValueError(f"data.example_sets must be >= 1, got {sets}")
    rng = np.random.default_rng([seed, 15485863])
    out: list[Task] = []
    for i, task in enumerate(tasks):
        if task.program is None:
            raise ValueError(f"task {i} has no program to draw fresh examples from")
        out.append(task)
        for _ in range(sets - 1):
            ex = make_examples(task.program, len(task.examples), rng, max_input_length)
            out.append(task if ex is None else dataclasses.replace(task, examples=ex))
    return tuple(out)


def attribute_targets(tasks: Sequence[Task]) -> np.ndarray:
    """`[n, 34]` float32 multi-hot: which functions and lambdas each task's program uses."""
    out = np.zeros((len(tasks), NUM_ATTRIBUTES), np.float32)
    for i, t in enumerate(tasks):
        if t.program is None:
            raise ValueError(f"task {i} has no program, so no attribute targets")
        out[i, list(t.program.attributes())] = 1.0
    return out


def encode_tasks(tasks: Sequence[Task]) -> dict[str, np.ndarray]:
    """Network inputs for tasks with the same number E of examples.

    Slots K = MAX_INPUTS + 1 (inputs, padded with empty slots, then the output). Returns
    `types [n, E, K, 2]` float32 one-hot (int, list; all zero for an empty slot) and
    `values [n, E, K, 20]` int32 tokens (value - INT_MIN; an int takes position 0; NULL_TOKEN
    pads).
    """
    if not tasks:
        raise ValueError("encode_tasks needs at least one task")
    e = len(tasks[0].examples)
    k = MAX_INPUTS + 1
    types = np.zeros((len(tasks), e, k, 2), np.float32)
    values = np.full((len(tasks), e, k, MAX_LIST_LENGTH), NULL_TOKEN, np.int32)
    for i, task in enumerate(tasks):
        if len(task.examples) != e:
            raise ValueError(
                f"task {i} has {len(task.examples)} examples, task 0 has {e}: encode tasks "
                "with the same number of examples together"
            )
        slot_types = list(task.input_types) + [None] * (MAX_INPUTS - len(task.input_types))
        slot_types.append(task.output_type)
        for j, (inputs, output) in enumerate(task.examples):
            vals = list(inputs) + [None] * (MAX_INPUTS - len(inputs)) + [output]
            for s, (t, v) in enumerate(zip(slot_types, vals, strict=True)):
                if t is None:
                    continue
                types[i, j, s, TYPES_ID[t]] = 1.0
                seq = (v,) if t == INT else v
                values[i, j, s, : len(seq)] = np.asarray(seq, np.int64) - INT_MIN
    return {"types": types, "values": values}
