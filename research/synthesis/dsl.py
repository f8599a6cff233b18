"""The DeepCoder DSL (Balog et al., ICLR 2017): values, operations, programs, interpreter, text.

A program is a straight-line sequence of statements over int and [int] variables. Its inputs
are the first variables; each statement applies one operation to earlier variables and binds
a new one; the program's output is the last variable. In text:

    a <- [int]
    b <- int
    c <- TAKE b a
    d <- MAP (*2) c
    e <- SORT d

Semantics and bounds (chosen here, documented because the paper leaves them open):
- Integers live in [INT_MIN, INT_MAX] = [-256, 255]; lists hold at most MAX_LIST_LENGTH = 20
  elements. A value that leaves the range makes the program invalid on that input (the
  interpreter returns None), as does an undefined operation: HEAD, LAST, MINIMUM, MAXIMUM of
  an empty list, and ACCESS with an index outside [0, len).
- Division is floor division and modulo is Python's: (/2) of -3 is -2 and (%2==1) holds for
  -3 (-3 % 2 == 1), so (%2==0) and (%2==1) partition all integers.
- TAKE n xs keeps the first max(n, 0) elements, DROP n xs removes them; ZIPWITH stops at the
  shorter list; SCANL1 f [x0, x1, ...] = [x0, f(x0, x1), f(f(x0, x1), x2), ...]; SORT is
  ascending; SUM of an empty list is 0; COUNT returns the number of elements satisfying the
  predicate.
- Lists are represented as Python tuples (hashable, cheap to compare).

The 34 attributes the neural guide predicts are the 10 first-order functions, the 5
higher-order functions and the 19 lambdas (ATTRIBUTES); each of the 38 operations (OPERATIONS:
a first-order function, or a higher-order function with its lambda) sets one or two of them.
"""

from __future__ import annotations

import dataclasses
import itertools
import operator
import re
from collections.abc import Callable, Sequence

INT, LIST = "int", "[int]"
TYPES = (INT, LIST)
INT_MIN, INT_MAX = -256, 255
MAX_LIST_LENGTH = 20

Value = int | tuple[int, ...]


class ParseError(ValueError):
    """Malformed program text; the message names the line and column."""

    def __init__(self, message: str, line: int, column: int):
        super().__init__(f"line {line}, column {column}: {message}")
        self.line, self.column = line, column


def _in_range(x: int) -> bool:
    return INT_MIN <= x <= INT_MAX


def _checked_int(x: int) -> int | None:
    return x if INT_MIN <= x <= INT_MAX else None


def _checked_list(xs: tuple[int, ...]) -> tuple[int, ...] | None:
    if xs and (min(xs) < INT_MIN or max(xs) > INT_MAX):
        return None
    return xs


# --- lambdas --------------------------------------------------------------------------------

MAP_LAMBDAS: dict[str, Callable[[int], int]] = {
    "+1": lambda x: x + 1,
    "-1": lambda x: x - 1,
    "*2": lambda x: x * 2,
    "/2": lambda x: x // 2,
    "*(-1)": lambda x: -x,
    "**2": lambda x: x * x,
    "*3": lambda x: x * 3,
    "/3": lambda x: x // 3,
    "*4": lambda x: x * 4,
    "/4": lambda x: x // 4,
}
PREDICATES: dict[str, Callable[[int], bool]] = {
    ">0": lambda x: x > 0,
    "<0": lambda x: x < 0,
    "%2==0": lambda x: x % 2 == 0,
    "%2==1": lambda x: x % 2 == 1,
}
BINARY: dict[str, Callable[[int, int], int]] = {
    "+": lambda x, y: x + y,
    "-": lambda x, y: x - y,
    "*": lambda x, y: x * y,
    "MIN": min,
    "MAX": max,
}
# Lambdas that can leave the integer range (the others cannot, given in-range arguments).
_GROWING = {"+1", "-1", "*2", "*(-1)", "**2", "*3", "*4", "+", "-", "*"}

FIRST_ORDER = (
    "HEAD",
    "LAST",
    "TAKE",
    "DROP",
    "ACCESS",
    "MINIMUM",
    "MAXIMUM",
    "REVERSE",
    "SORT",
    "SUM",
)
HIGHER_ORDER = ("MAP", "FILTER", "COUNT", "ZIPWITH", "SCANL1")
LAMBDA_NAMES = tuple(f"({n})" for n in (*MAP_LAMBDAS, *PREDICATES, *BINARY))
ATTRIBUTES: tuple[str, ...] = FIRST_ORDER + HIGHER_ORDER + LAMBDA_NAMES
NUM_ATTRIBUTES = len(ATTRIBUTES)  # 34
ATTRIBUTE_INDEX = {name: i for i, name in enumerate(ATTRIBUTES)}


# --- first-order implementations (single example; None = undefined) --------------------------


def _head(xs):
    return xs[0] if xs else None


def _last(xs):
    return xs[-1] if xs else None


def _take(n, xs):
    return xs[: max(n, 0)]


def _drop(n, xs):
    return xs[max(n, 0) :]


def _access(n, xs):
    return xs[n] if 0 <= n < len(xs) else None


def _minimum(xs):
    return min(xs) if xs else None


def _maximum(xs):
    return max(xs) if xs else None


def _reverse(xs):
    return xs[::-1]


def _sort(xs):
    return tuple(sorted(xs))


def _sum(xs):
    return _checked_int(sum(xs))


_FIRST_ORDER_IMPL = {
    "HEAD": (_head, (LIST,), INT),
    "LAST": (_last, (LIST,), INT),
    "TAKE": (_take, (INT, LIST), LIST),
    "DROP": (_drop, (INT, LIST), LIST),
    "ACCESS": (_access, (INT, LIST), INT),
    "MINIMUM": (_minimum, (LIST,), INT),
    "MAXIMUM": (_maximum, (LIST,), INT),
    "REVERSE": (_reverse, (LIST,), LIST),
    "SORT": (_sort, (LIST,), LIST),
    "SUM": (_sum, (LIST,), INT),
}


def _make_map(f, check):
    if check:
        return lambda xs: _checked_list(tuple(f(x) for x in xs))
    return lambda xs: tuple(f(x) for x in xs)


def _make_filter(p):
    return lambda xs: tuple(x for x in xs if p(x))


def _make_count(p):
    return lambda xs: sum(1 for x in xs if p(x))


def _make_zipwith(f, check):
    if check:
        return lambda xs, ys: _checked_list(tuple(f(x, y) for x, y in zip(xs, ys, strict=False)))
    return lambda xs, ys: tuple(f(x, y) for x, y in zip(xs, ys, strict=False))


def _make_scanl1(f):
    def scan(xs):
        if not xs:
            return ()
        acc = xs[0]
        out = [acc]
        for x in xs[1:]:
            acc = f(acc, x)
            if not INT_MIN <= acc <= INT_MAX:
                return None
            out.append(acc)
        return tuple(out)

    return scan


# --- the same operations through C-level iterators (the fast engine's) ----------------------
# `map`, `filter`, `accumulate` over functions of the `operator` module run without a Python
# frame per element (MAP, ZIPWITH, COUNT, FILTER (>0) (<0), SCANL1 (MIN) (MAX): 1.3-2.2x
# faster on 5 lists of 10); results equal the reference implementations above (tested on
# random inputs, including the range checks and undefined cases). None: use the reference.


def _fast_map(lam: str):
    if lam == "*(-1)":
        return lambda xs: _checked_list(tuple(map(operator.neg, xs)))
    if lam == "**2":
        return lambda xs: _checked_list(tuple(map(operator.mul, xs, xs)))
    fn, k = {
        "+1": (operator.add, 1),
        "-1": (operator.sub, 1),
        "*2": (operator.mul, 2),
        "*3": (operator.mul, 3),
        "*4": (operator.mul, 4),
        "/2": (operator.floordiv, 2),
        "/3": (operator.floordiv, 3),
        "/4": (operator.floordiv, 4),
    }[lam]
    if lam in _GROWING:
        return lambda xs: _checked_list(tuple(map(fn, xs, itertools.repeat(k))))
    return lambda xs: tuple(map(fn, xs, itertools.repeat(k)))


_FAST_PREDICATES = {">0": (0).__lt__, "<0": (0).__gt__}
_FAST_BINARY = {"+": operator.add, "-": operator.sub, "*": operator.mul, "MIN": min, "MAX": max}


def _fast_filter(lam: str):
    # the parity filters gain nothing over the reference (a Python test per element either way)
    return {">0": lambda xs: tuple(filter((0).__lt__, xs)),
            "<0": lambda xs: tuple(filter((0).__gt__, xs))}.get(lam)  # fmt: skip


def _fast_count(lam: str):
    if lam in ("%2==0", "%2==1"):

        def odd(xs):
            return sum(map(operator.and_, xs, itertools.repeat(1)))

        return odd if lam == "%2==1" else (lambda xs: len(xs) - odd(xs))
    p = _FAST_PREDICATES[lam]
    return lambda xs: sum(map(p, xs))


def _fast_zipwith(lam: str):
    f = _FAST_BINARY[lam]
    if lam in _GROWING:
        return lambda xs, ys: _checked_list(tuple(map(f, xs, ys)))
    return lambda xs, ys: tuple(map(f, xs, ys))


def _fast_scanl1(lam: str):
    # + - *: the reference, which stops at the first value out of range, is as fast or faster
    if lam in ("MIN", "MAX"):
        f = _FAST_BINARY[lam]
        return lambda xs: tuple(itertools.accumulate(xs, f))
    return None


@dataclasses.dataclass(frozen=True)
class Operation:
    """One callable of the DSL: a first-order function, or a higher-order one with its lambda.

    `name` is how a statement spells it (`SORT`, `MAP (*2)`); `attributes` are the indices into
    ATTRIBUTES that a program using it has.
    """

    index: int
    name: str
    function: str
    lam: str | None
    arg_types: tuple[str, ...]
    out_type: str
    fn: Callable = dataclasses.field(repr=False, compare=False)
    attributes: tuple[int, ...] = ()
    # the same function through C-level iterators (`_fast_*`), used by the fast search engine;
    # `fn` is the reference
    fast: Callable | None = dataclasses.field(default=None, repr=False, compare=False)


def _build_operations() -> tuple[Operation, ...]:
    ops: list[Operation] = []

    def add(function, lam, fn, arg_types, out_type, fast=None):
        attrs = (ATTRIBUTE_INDEX[function],) + ((ATTRIBUTE_INDEX[f"({lam})"],) if lam else ())
        name = function if lam is None else f"{function} ({lam})"
        ops.append(
            Operation(len(ops), name, function, lam, arg_types, out_type, fn, attrs, fast or fn)
        )

    for name, (fn, args, out) in _FIRST_ORDER_IMPL.items():
        add(name, None, fn, args, out)
    for lam, f in MAP_LAMBDAS.items():
        add("MAP", lam, _make_map(f, lam in _GROWING), (LIST,), LIST, _fast_map(lam))
    for lam, p in PREDICATES.items():
        add("FILTER", lam, _make_filter(p), (LIST,), LIST, _fast_filter(lam))
    for lam, p in PREDICATES.items():
        add("COUNT", lam, _make_count(p), (LIST,), INT, _fast_count(lam))
    for lam, f in BINARY.items():
        add(
            "ZIPWITH",
            lam,
            _make_zipwith(f, lam in _GROWING),
            (LIST, LIST),
            LIST,
            _fast_zipwith(lam),
        )
    for lam, f in BINARY.items():
        add("SCANL1", lam, _make_scanl1(f), (LIST,), LIST, _fast_scanl1(lam))
    return tuple(ops)


OPERATIONS: tuple[Operation, ...] = _build_operations()  # 38
OPERATION_BY_NAME = {op.name: op for op in OPERATIONS}


# --- programs ----------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Statement:
    """`op` applied to the variables numbered `args` (inputs first, then earlier statements)."""

    op: int
    args: tuple[int, ...]


@dataclasses.dataclass(frozen=True)
class Program:
    """Inputs of `input_types`, then `statements`; the output is the last variable."""

    input_types: tuple[str, ...]
    statements: tuple[Statement, ...]

    def __post_init__(self):
        types = list(self.input_types)
        for t in types:
            if t not in TYPES:
                raise ValueError(f"input type {t!r} is not one of {TYPES}")
        for i, s in enumerate(self.statements):
            op = OPERATIONS[s.op]
            if len(s.args) != len(op.arg_types):
                raise ValueError(
                    f"statement {i} ({op.name}) takes {len(op.arg_types)} arguments, "
                    f"got {len(s.args)}"
                )
            for a, want in zip(s.args, op.arg_types, strict=True):
                if not 0 <= a < len(types):
                    raise ValueError(f"statement {i} ({op.name}) uses undefined variable {a}")
                if types[a] != want:
                    raise ValueError(
                        f"statement {i} ({op.name}) needs a {want} argument, variable "
                        f"{variable_name(a)} is {types[a]}"
                    )
            types.append(op.out_type)
        if not self.statements:
            raise ValueError("a program needs at least one statement")

    @property
    def length(self) -> int:
        return len(self.statements)

    @property
    def variable_types(self) -> tuple[str, ...]:
        return self.input_types + tuple(OPERATIONS[s.op].out_type for s in self.statements)

    @property
    def output_type(self) -> str:
        return OPERATIONS[self.statements[-1].op].out_type

    def attributes(self) -> tuple[int, ...]:
        """Sorted indices into ATTRIBUTES of the functions and lambdas the program uses."""
        return tuple(sorted({a for s in self.statements for a in OPERATIONS[s.op].attributes}))

    def uses_all_variables(self) -> bool:
        """True when every input and every intermediate variable feeds a later statement."""
        used = {a for s in self.statements for a in s.args}
        return all(v in used for v in range(len(self.input_types) + self.length - 1))

    def without_dead_code(self) -> Program:
        """The same program without the statements its output does not depend on."""
        n = len(self.input_types)
        needed = {n + self.length - 1}
        for j in range(self.length - 1, -1, -1):
            if n + j in needed:
                needed.update(self.statements[j].args)
        keep = [j for j in range(self.length) if n + j in needed]
        renumber = {i: i for i in range(n)} | {n + j: n + k for k, j in enumerate(keep)}
        statements = tuple(
            Statement(self.statements[j].op, tuple(renumber[a] for a in self.statements[j].args))
            for j in keep
        )
        return Program(self.input_types, statements)

    def __str__(self) -> str:
        return to_text(self)


def variable_name(i: int) -> str:
    """a, b, ..., z, v26, v27, ..."""
    return chr(ord("a") + i) if i < 26 else f"v{i}"


def to_text(program: Program) -> str:
    """The program in DeepCoder's notation, one binding per line."""
    lines = [f"{variable_name(i)} <- {t}" for i, t in enumerate(program.input_types)]
    n = len(program.input_types)
    for j, s in enumerate(program.statements):
        args = " ".join(variable_name(a) for a in s.args)
        lines.append(f"{variable_name(n + j)} <- {OPERATIONS[s.op].name} {args}")
    return "\n".join(lines)


_LINE = re.compile(r"^\s*(\S+)\s*<-\s*")
_TOKEN = re.compile(r"\S+")


def parse(text: str) -> Program:
    """Parse DeepCoder notation (see `to_text`); errors name the line and column (1-based)."""
    names: dict[str, int] = {}
    types: list[str] = []
    input_types: list[str] = []
    statements: list[Statement] = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        m = _LINE.match(line)
        if not m:
            col = len(line) - len(line.lstrip()) + 1
            raise ParseError("expected `NAME <- TYPE` or `NAME <- FUNCTION ARGS`", lineno, col)
        name = m.group(1)
        if not re.fullmatch(r"[A-Za-z_]\w*", name):
            raise ParseError(f"invalid variable name {name!r}", lineno, m.start(1) + 1)
        if name in names:
            raise ParseError(f"variable {name!r} is already defined", lineno, m.start(1) + 1)
        tokens = [(t.group(), t.start() + 1) for t in _TOKEN.finditer(line, m.end())]
        if not tokens:
            raise ParseError("missing a type or a function after `<-`", lineno, m.end() + 1)
        rest = line[m.end() :].strip()
        if rest in TYPES:
            if statements:
                raise ParseError("inputs must come before all statements", lineno, m.end() + 1)
            input_types.append(rest)
        else:
            word, col = tokens[0]
            if word in OPERATION_BY_NAME:
                op, arg_tokens = OPERATION_BY_NAME[word], tokens[1:]
            elif word in HIGHER_ORDER:
                if len(tokens) < 2:
                    raise ParseError(f"{word} needs a lambda such as (+1)", lineno, col)
                lam_tok, lam_col = tokens[1]
                full = f"{word} {lam_tok}"
                if full not in OPERATION_BY_NAME:
                    valid = [o.lam for o in OPERATIONS if o.function == word]
                    raise ParseError(
                        f"{lam_tok!r} is not a lambda of {word}; use one of "
                        + ", ".join(f"({v})" for v in valid),
                        lineno,
                        lam_col,
                    )
                op, arg_tokens = OPERATION_BY_NAME[full], tokens[2:]
            else:
                raise ParseError(
                    f"unknown function or type {word!r}; functions: "
                    f"{', '.join(FIRST_ORDER + HIGHER_ORDER)}; types: int, [int]",
                    lineno,
                    col,
                )
            if len(arg_tokens) != len(op.arg_types):
                col = arg_tokens[-1][1] if arg_tokens else len(line) + 1
                raise ParseError(
                    f"{op.name} takes {len(op.arg_types)} argument(s), got {len(arg_tokens)}",
                    lineno,
                    col,
                )
            args = []
            for (tok, tcol), want in zip(arg_tokens, op.arg_types, strict=True):
                if tok not in names:
                    raise ParseError(f"undefined variable {tok!r}", lineno, tcol)
                if types[names[tok]] != want:
                    raise ParseError(
                        f"{op.name} needs a {want} here, {tok!r} is {types[names[tok]]}",
                        lineno,
                        tcol,
                    )
                args.append(names[tok])
            statements.append(Statement(op.index, tuple(args)))
        names[name] = len(types)
        types.append(input_types[-1] if rest in TYPES else op.out_type)
    if not statements:
        raise ParseError("the program has no statements", max(1, len(text.splitlines())), 1)
    return Program(tuple(input_types), tuple(statements))


# --- interpreter -----------------------------------------------------------------------------


def check_value(value: object, type_: str, what: str) -> Value:
    """`value` as a DSL value of `type_` (lists become tuples); ValueError naming `what`."""
    if type_ == INT:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{what} should be an int, got {value!r}")
        if not _in_range(value):
            raise ValueError(f"{what} = {value} is outside [{INT_MIN}, {INT_MAX}]")
        return int(value)
    if not isinstance(value, list | tuple):
        raise ValueError(f"{what} should be a list of ints, got {value!r}")
    if len(value) > MAX_LIST_LENGTH:
        raise ValueError(f"{what} has {len(value)} elements; at most {MAX_LIST_LENGTH} allowed")
    for x in value:
        if isinstance(x, bool) or not isinstance(x, int):
            raise ValueError(f"{what} should hold only ints, found {x!r}")
        if not _in_range(x):
            raise ValueError(f"{what} holds {x}, outside [{INT_MIN}, {INT_MAX}]")
    return tuple(int(x) for x in value)


def check_examples(
    input_types: Sequence[str], output_type: str, examples: Sequence[tuple[Sequence, object]]
) -> list[tuple[tuple[Value, ...], Value]]:
    """Validate I/O examples `[(inputs, output), ...]`; errors name the example."""
    if not examples:
        raise ValueError("a task needs at least one input/output example")
    out = []
    for i, example in enumerate(examples):
        if len(example) != 2:
            raise ValueError(f"example {i} should be a pair (inputs, output)")
        inputs, output = example
        if len(inputs) != len(input_types):
            raise ValueError(
                f"example {i} has {len(inputs)} inputs; the task's signature "
                f"{list(input_types)} needs {len(input_types)}"
            )
        ins = tuple(
            check_value(v, t, f"example {i}, input {k}")
            for k, (v, t) in enumerate(zip(inputs, input_types, strict=True))
        )
        out.append((ins, check_value(output, output_type, f"example {i}, output")))
    return out


def run_trace(program: Program, inputs: Sequence[Value]) -> list[Value] | None:
    """Values of all variables (inputs first) on one input, or None if the program fails."""
    if len(inputs) != len(program.input_types):
        raise ValueError(f"the program takes {len(program.input_types)} inputs, got {len(inputs)}")
    env = list(inputs)
    for s in program.statements:
        v = OPERATIONS[s.op].fn(*[env[a] for a in s.args])
        if v is None:
            return None
        env.append(v)
    return env


def run(program: Program, inputs: Sequence[Value]) -> Value | None:
    """The program's output on one input (tuple for a list), or None if it is invalid there."""
    env = run_trace(program, inputs)
    return None if env is None else env[-1]
