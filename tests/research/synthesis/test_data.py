"""Program generation, equivalence pruning, the train/test split and the array encoding."""

import numpy as np
import pytest

from research.synthesis import data
from research.synthesis.dsl import INT_MIN, LIST, parse, run


def test_shorter_behaviours_cover_shorter_equivalents():
    probes = data.probe_inputs((LIST,), 20, 10)
    one = data.shorter_behaviours((LIST,), 1, 20, 10)
    two = data.shorter_behaviours((LIST,), 2, 20, 10)
    assert one < two and len(two) > 10 * len(one)
    sort_twice = parse("a <- [int]\nb <- SORT a\nc <- SORT b")
    assert data.behaviour(sort_twice, probes) in one  # same as SORT a
    neg_twice = parse("a <- [int]\nb <- REVERSE a\nc <- REVERSE b")
    assert data.behaviour(neg_twice, probes) in one  # same as the input itself
    sum_sorted = parse("a <- [int]\nb <- SORT a\nc <- REVERSE b\nd <- HEAD c")
    assert data.behaviour(sum_sorted, probes) in one  # MAXIMUM a
    deep = parse("a <- [int]\nb <- MAP (*2) a\nc <- FILTER (>0) b\nd <- SUM c")
    assert data.behaviour(deep, probes) not in two


def test_corpus_properties():
    c = data.build_corpus(2, 120, 30, seed=3)
    assert len(c.train) == 120 and len(c.test) == 30 and c.attempts >= 150
    probes_of = {s: data.probe_inputs(s, 20, 10) for s in data.DEFAULT_SIGNATURES}
    behaviours = []
    for task in c.train + c.test:
        p = task.program
        assert p.length == 2 and p.uses_all_variables()
        assert len(task.examples) == 5
        assert len({out for _, out in task.examples}) > 1
        for x, y in task.examples:
            assert run(p, x) == y
        b = (p.input_types, data.behaviour(p, probes_of[p.input_types]))
        assert b[1] not in data.shorter_behaviours(p.input_types, 1, 20, 10)
        behaviours.append(b)
    assert len(set(behaviours)) == 150  # no two programs equivalent, so no test/train overlap
    # deterministic: rebuilding (without the cache) gives the same corpus
    data.build_corpus.cache_clear()
    assert data.build_corpus(2, 120, 30, seed=3) == c
    assert data.build_corpus(2, 120, 30, seed=4) != c


def test_corpus_bad_arguments():
    with pytest.raises(ValueError, match="program_length must be >= 1"):
        data.build_corpus(0, 10, 10)
    with pytest.raises(ValueError, match="max_input_length must be in"):
        data.build_corpus(2, 10, 10, max_input_length=30)
    with pytest.raises(ValueError, match="lower data.num_train/num_test"):
        data.build_corpus(1, 5000, 10, max_attempts_factor=2)


def test_encoding():
    c = data.build_corpus(2, 120, 30, seed=3)
    tasks = list(c.test[:4])
    x = data.encode_tasks(tasks)
    assert x["types"].shape == (4, 5, 4, 2) and x["values"].shape == (4, 5, 4, 20)
    t = tasks[0]
    (inputs, output) = t.examples[0]
    first = inputs[0]
    np.testing.assert_array_equal(x["values"][0, 0, 0, : len(first)], np.array(first) - INT_MIN)
    assert np.all(x["values"][0, 0, 0, len(first) :] == data.NULL_TOKEN)
    assert x["types"][0, 0, 0].tolist() == [0.0, 1.0]  # a list
    assert x["types"][0, 0, len(t.input_types) : -1].sum() == 0  # empty slots
    assert x["types"][0, 0, -1].sum() == 1  # the output slot
    y = data.attribute_targets(tasks)
    assert y.shape == (4, 34) and set(np.unique(y)) <= {0.0, 1.0}
    assert np.all(y.sum(1) >= 2)


def test_resampled_examples_are_fresh_and_consistent():
    corpus = data.build_corpus(2, 40, 5, seed=2)
    out = data.resample_examples(corpus.train, 4, 10, seed=0)
    assert len(out) == 4 * len(corpus.train)
    fresh = 0
    for i, task in enumerate(corpus.train):
        copies = out[4 * i : 4 * i + 4]
        assert copies[0] is task
        for c in copies:
            assert c.program is task.program and c.input_types == task.input_types
            assert len(c.examples) == len(task.examples)
            assert all(run(c.program, x) == y for x, y in c.examples)
        fresh += sum(c.examples != task.examples for c in copies[1:])
    assert fresh > 0.9 * 3 * len(corpus.train)
    again = data.resample_examples(corpus.train, 4, 10, seed=0)
    assert [t.examples for t in again] == [t.examples for t in out]
    assert data.resample_examples(corpus.train, 1, 10) == corpus.train
    with pytest.raises(ValueError, match="example_sets must be >= 1"):
        data.resample_examples(corpus.train, 0, 10)
