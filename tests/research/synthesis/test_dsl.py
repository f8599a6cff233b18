"""The DSL: semantics by hand, bounds, text round trip, parse errors, example validation."""

import numpy as np
import pytest

from research.synthesis import dsl
from research.synthesis.data import DEFAULT_SIGNATURES, Task, sample_program
from research.synthesis.dsl import (
    INT,
    INT_MAX,
    INT_MIN,
    LIST,
    MAX_LIST_LENGTH,
    OPERATION_BY_NAME,
    OPERATIONS,
    ParseError,
    parse,
    run,
    to_text,
)


def op(name, *args):
    return OPERATION_BY_NAME[name].fn(*args)


def test_counts_match_the_paper():
    assert dsl.NUM_ATTRIBUTES == 34
    assert len(dsl.OPERATIONS) == 10 + 10 + 4 + 4 + 5 + 5
    assert dsl.ATTRIBUTES[:2] == ("HEAD", "LAST") and "(*(-1))" in dsl.ATTRIBUTES
    for o in dsl.OPERATIONS:
        assert o.attributes[0] == dsl.ATTRIBUTE_INDEX[o.function]
        assert len(o.attributes) == (1 if o.lam is None else 2)


def test_first_order_semantics():
    xs = (3, -1, 4, -1, 5)
    assert op("HEAD", xs) == 3 and op("LAST", xs) == 5
    assert op("HEAD", ()) is None and op("MINIMUM", ()) is None and op("MAXIMUM", ()) is None
    assert op("TAKE", 2, xs) == (3, -1) and op("TAKE", -3, xs) == () and op("TAKE", 9, xs) == xs
    assert op("DROP", 2, xs) == (4, -1, 5) and op("DROP", -1, xs) == xs
    assert op("ACCESS", 2, xs) == 4 and op("ACCESS", 5, xs) is None
    assert op("ACCESS", -1, xs) is None
    assert op("MINIMUM", xs) == -1 and op("MAXIMUM", xs) == 5
    assert op("REVERSE", xs) == (5, -1, 4, -1, 3) and op("SORT", xs) == (-1, -1, 3, 4, 5)
    assert op("SUM", xs) == 10 and op("SUM", ()) == 0


def test_negative_division_is_floor_and_modulo_is_pythons():
    xs = (-3, -4, 3, 0)
    assert op("MAP (/2)", xs) == (-2, -2, 1, 0)
    assert op("MAP (/3)", xs) == (-1, -2, 1, 0)
    assert op("MAP (/4)", xs) == (-1, -1, 0, 0)
    assert op("FILTER (%2==1)", xs) == (-3, 3)
    assert op("FILTER (%2==0)", xs) == (-4, 0)
    assert op("COUNT (<0)", xs) == 2 and op("COUNT (>0)", xs) == 1


def test_higher_order_semantics():
    assert op("MAP (*(-1))", (1, -2)) == (-1, 2) and op("MAP (**2)", (-3,)) == (9,)
    assert op("ZIPWITH (-)", (5, 6, 7), (1, 2)) == (4, 4)
    assert op("ZIPWITH (MAX)", (5, 1), (2, 9)) == (5, 9)
    assert op("SCANL1 (+)", (1, 2, 3)) == (1, 3, 6) and op("SCANL1 (+)", ()) == ()
    assert op("SCANL1 (MIN)", (3, 5, 1, 2)) == (3, 3, 1, 1)
    assert op("SCANL1 (-)", (10, 1, 2)) == (10, 9, 7)


def test_values_leaving_the_bounds_are_invalid():
    assert op("MAP (**2)", (16,)) is None  # 256 > 255
    assert op("MAP (**2)", (15,)) == (225,)
    assert op("MAP (*4)", (-64,)) == (-256,) and op("MAP (*4)", (-65,)) is None
    assert op("MAP (+1)", (255,)) is None and op("MAP (-1)", (-256,)) is None
    assert op("MAP (*(-1))", (-256,)) is None
    assert op("SUM", (200, 100)) is None
    assert op("SCANL1 (*)", (16, 16)) is None
    assert op("ZIPWITH (+)", (200,), (100,)) is None


def test_run_a_program():
    p = parse("a <- [int]\nb <- int\nc <- TAKE b a\nd <- MAP (*2) c\ne <- SORT d")
    assert p.input_types == (LIST, INT) and p.length == 3 and p.output_type == LIST
    assert run(p, ((3, -1, 4, 7), 3)) == (-2, 6, 8)
    assert run(p, ((200, 1), 1)) is None  # 400 is out of range
    names = [dsl.ATTRIBUTES[i] for i in p.attributes()]
    assert names == ["TAKE", "SORT", "MAP", "(*2)"]
    assert p.uses_all_variables()
    q = parse("a <- [int]\nb <- int\nc <- SORT a\nd <- REVERSE c")
    assert not q.uses_all_variables()  # b is unused
    dead = parse("a <- [int]\nb <- int\nc <- HEAD a\nd <- TAKE b a\ne <- LAST a\nf <- SORT d")
    assert to_text(dead.without_dead_code()) == "a <- [int]\nb <- int\nc <- TAKE b a\nd <- SORT c"


def test_text_round_trip_on_random_programs():
    rng = np.random.default_rng(0)
    for i in range(300):
        sig = DEFAULT_SIGNATURES[i % len(DEFAULT_SIGNATURES)]
        p = sample_program(sig, 1 + i % 5, rng)
        text = to_text(p)
        assert parse(text) == p
        assert str(parse(text)) == text


@pytest.mark.parametrize(
    "text, message, line, column",
    [
        ("a <- [int]\nb <- SORTT a", "unknown function or type 'SORTT'", 2, 6),
        ("a <- [int]\nb <- SORT z", "undefined variable 'z'", 2, 11),
        ("a <- [int]\nb <- HEAD a\nc <- SORT b", "SORT needs a [int] here, 'b' is int", 3, 11),
        ("a <- [int]\nb <- TAKE a", "TAKE takes 2 argument(s), got 1", 2, 11),
        ("a <- [int]\nb <- MAP (*5) a", "'(*5)' is not a lambda of MAP", 2, 10),
        ("a <- [int]\nb <- MAP", "MAP needs a lambda", 2, 6),
        ("a <- [int]\na <- SORT a", "variable 'a' is already defined", 2, 1),
        ("a <- [int]\nb SORT a", "expected `NAME <- TYPE`", 2, 1),
        ("a <- [int]\nb <- SORT a\nc <- int", "inputs must come before", 3, 6),
        ("a <- [int]", "no statements", 1, 1),
    ],
)
def test_parse_errors_name_the_position(text, message, line, column):
    with pytest.raises(
        ParseError,
        match=message.replace("(", r"\(")
        .replace(")", r"\)")
        .replace("[", r"\[")
        .replace("]", r"\]")
        .replace("*", r"\*"),
    ) as e:
        parse(text)
    assert (e.value.line, e.value.column) == (line, column)
    assert str(e.value).startswith(f"line {line}, column {column}:")


def test_bad_examples_name_the_example():
    good = [(((1, 2), 1), (1,)), (((3,), 0), ())]
    task = Task.from_examples([LIST, INT], LIST, good)
    assert task.examples[0] == (((1, 2), 1), (1,))
    with pytest.raises(ValueError, match="example 1, input 1 should be an int"):
        Task.from_examples([LIST, INT], LIST, [good[0], (((3,), [0]), ())])
    with pytest.raises(ValueError, match=r"example 0, input 0 holds 300, outside \[-256, 255\]"):
        Task.from_examples([LIST, INT], LIST, [(((300,), 1), ())])
    with pytest.raises(ValueError, match="example 0, output = -999 is outside"):
        Task.from_examples([LIST], INT, [(((1,),), -999)])
    with pytest.raises(ValueError, match="example 0 has 1 inputs"):
        Task.from_examples([LIST, INT], LIST, [(((1,),), ())])
    with pytest.raises(ValueError, match="example 0, input 0 has 21 elements; at most 20"):
        Task.from_examples([LIST], INT, [((tuple(range(21)),), 0)])
    with pytest.raises(ValueError, match="at least one input/output example"):
        Task.from_examples([LIST], INT, [])
    with pytest.raises(ValueError, match="the program takes 1 inputs, got 2"):
        run(parse("a <- [int]\nb <- SORT a"), ((1,), (2,)))


def test_fast_operations_equal_the_reference_ones():
    rng = np.random.default_rng(0)
    edge = [(), (INT_MIN,), (INT_MAX,), (0, -1, 1), (INT_MIN, INT_MAX), tuple(range(-10, 10))]
    lists = edge + [
        tuple(int(v) for v in rng.integers(lo, hi, size=rng.integers(0, MAX_LIST_LENGTH + 1)))
        for lo, hi in ((-256, 256), (-20, 20), (-3, 4), (100, 256), (-256, -100))
        for _ in range(60)
    ]
    ints = [INT_MIN, -3, -1, 0, 1, 2, 5, 19, 25, INT_MAX]
    checked = 0
    for op in OPERATIONS:
        assert op.fast is not None
        if op.arg_types == (LIST,):
            cases = [(xs,) for xs in lists]
        elif op.arg_types == (INT, LIST):
            cases = [(n, xs) for n in ints for xs in lists[::7]]
        else:
            cases = [(xs, ys) for xs in lists[::5] for ys in lists[::9]]
        for args in cases:
            assert op.fast(*args) == op.fn(*args), (op.name, args)
            checked += 1
    assert checked > 10_000
