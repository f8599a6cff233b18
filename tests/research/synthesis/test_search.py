"""DFS, sort-and-add and genetic search: correctness, guidance, budgets, bad input."""

import numpy as np
import pytest

from research.synthesis import data, search
from research.synthesis.data import Task
from research.synthesis.dsl import ATTRIBUTE_INDEX, INT, LIST, NUM_ATTRIBUTES, parse, run
from research.synthesis.reproduce import bootstrap_ratio, paper_numbers, time_to_solve

PROGRAM = parse("a <- [int]\nb <- FILTER (>0) a\nc <- MAP (*3) b\nd <- SUM c")


def make_task(program, seed=0):
    ex = data.make_examples(program, 5, np.random.default_rng(seed), 10)
    return Task(program.input_types, program.output_type, ex, program)


def unsolvable_task():
    """Outputs that no short program computes from the inputs (a fixed pseudo-random map)."""
    rng = np.random.default_rng(5)
    examples = []
    for _ in range(5):
        x = tuple(int(v) for v in rng.integers(-50, 50, size=6))
        examples.append(((x,), tuple(int(v) for v in rng.integers(-50, 50, size=4))))
    return Task.from_examples([LIST], LIST, examples)


def oracle(program, low=0.02):
    p = np.full(NUM_ATTRIBUTES, low)
    p[list(program.attributes())] = 0.95
    return p


def check_solution(task, result):
    assert result.solved
    for x, y in task.examples:
        assert run(result.program, x) == y


def test_dfs_finds_the_program_and_guidance_helps():
    task = make_task(PROGRAM)
    uniform = search.dfs_search(task, np.full(NUM_ATTRIBUTES, 0.5), 3, 30.0)
    guided = search.dfs_search(task, oracle(PROGRAM), 3, 30.0)
    check_solution(task, uniform)
    check_solution(task, guided)
    assert guided.nodes * 20 < uniform.nodes
    # deterministic node counts
    assert search.dfs_search(task, oracle(PROGRAM), 3, 30.0).nodes == guided.nodes


def test_sort_and_add_finds_the_program():
    task = make_task(PROGRAM)
    r = search.sort_and_add_search(task, oracle(PROGRAM), 3, 30.0, initial=4, step=1)
    check_solution(task, r)
    # the four needed attributes are the four most probable: one DFS over 4 ops suffices
    assert r.nodes < 200
    bad = np.full(NUM_ATTRIBUTES, 0.9)
    bad[ATTRIBUTE_INDEX["(*3)"]] = 0.01
    slow = search.sort_and_add_search(task, bad, 3, 30.0, initial=4, step=4)
    check_solution(task, slow)
    assert slow.nodes > 10 * r.nodes


def test_budgets_stop_the_search():
    task = make_task(PROGRAM)
    r = search.dfs_search(task, np.full(NUM_ATTRIBUTES, 0.5), 3, 30.0, max_nodes=50)
    assert not r.solved and r.program is None and r.nodes == 50
    for engine in search.ENGINES:
        r = search.dfs_search(
            unsolvable_task(), np.full(NUM_ATTRIBUTES, 0.5), 5, 0.05, None, engine
        )
        assert not r.solved and r.nodes > 100 and r.seconds < 0.5
    r = search.genetic_search(task, 3, 30.0, max_nodes=300)
    assert not r.solved or r.nodes <= 300 + 3 * 100


def test_genetic_search_solves_an_easy_task_deterministically():
    p = parse("a <- [int]\nb <- int\nc <- SORT a\nd <- TAKE b c")
    task = make_task(p, seed=1)
    r1 = search.genetic_search(task, 2, 30.0, seed=0, population=60)
    r2 = search.genetic_search(task, 2, 30.0, seed=0, population=60)
    check_solution(task, r1)
    assert r1.nodes == r2.nodes and r1.program == r2.program


def test_shorter_solutions_are_found():
    p = parse("a <- [int]\nb <- SORT a\nc <- SORT b")
    task = make_task(p)
    r = search.dfs_search(task, np.full(NUM_ATTRIBUTES, 0.5), 3, 30.0)
    check_solution(task, r)
    assert r.program.length <= 2  # dead statements are dropped from the found program
    assert r.program.uses_all_variables()


def test_bad_search_arguments():
    task = make_task(PROGRAM)
    with pytest.raises(ValueError, match=r"attribute_probs should have shape \(34,\)"):
        search.dfs_search(task, np.ones(5), 3, 1.0)
    with pytest.raises(ValueError, match="time_budget must be > 0"):
        search.dfs_search(task, np.ones(34), 3, 0.0)
    with pytest.raises(ValueError, match="max_length must be >= 1"):
        search.sort_and_add_search(task, np.ones(34), 0, 1.0)
    with pytest.raises(ValueError, match="population >= 2"):
        search.genetic_search(task, 3, 1.0, population=1)


def test_time_to_solve_and_bootstrap():
    costs = np.array([1.0, 2.0, 3.0, 4.0, np.inf])
    assert time_to_solve(costs, 0.2) == 1.0
    assert time_to_solve(costs, 0.4) == 2.0
    assert time_to_solve(costs, 0.6) == 3.0
    assert time_to_solve(costs, 1.0) == np.inf
    base = np.arange(1.0, 101.0)
    lo, hi = bootstrap_ratio(base * 4, base, 0.5)
    assert lo == pytest.approx(4.0) and hi == pytest.approx(4.0)
    assert np.isnan(bootstrap_ratio(np.full(10, np.inf), base[:10], 0.5)[0])


def test_user_task_from_examples():
    task = Task.from_examples(
        [LIST, INT],
        LIST,
        [
            (([5, 3, 9, 1], 2), [1, 3]),
            (([4, 8, -2], 1), [-2]),
            (([7, 6, 5, 4, 3], 3), [3, 4, 5]),
        ],
    )
    r = search.dfs_search(task, np.full(NUM_ATTRIBUTES, 0.5), 2, 30.0)
    check_solution(task, r)


def test_fast_enumerator_solutions_run_in_the_plain_interpreter_and_lose_no_task():
    corpus = data.build_corpus(2, 20, 30, seed=3)
    uniform = np.full(NUM_ATTRIBUTES, 0.5)
    for task in corpus.test:
        plain = search.dfs_search(task, uniform, 2, 60.0, engine="plain")
        fast = search.dfs_search(task, uniform, 2, 60.0)
        guided = search.sort_and_add_search(task, oracle(task.program), 2, 60.0)
        assert fast.solved == plain.solved  # exhaustive searches: pruning loses nothing
        assert plain.solved  # the generating program has length 2
        for r in (fast, guided):
            check_solution(task, r)
            assert r.program.length <= 2
        assert fast.nodes <= plain.nodes


def test_equivalence_pruning_keeps_deeper_programs():
    # needs 4 statements; every prefix's state must stay expandable
    p = parse("a <- [int]\nb <- SORT a\nc <- REVERSE b\nd <- ZIPWITH (+) b c\ne <- MAP (*2) d")
    task = make_task(p, seed=2)
    r = search.dfs_search(task, oracle(p), 4, 60.0)
    check_solution(task, r)
    r = search.sort_and_add_search(task, oracle(p), 4, 60.0, initial=2, step=1)
    check_solution(task, r)


def test_inconsistent_examples_name_the_example():
    good = make_task(PROGRAM)
    bad_type = Task(good.input_types, good.output_type, good.examples[:2] + (((3,), 5),))
    with pytest.raises(ValueError, match="example 2, input 0 should be a list"):
        search.dfs_search(bad_type, np.ones(34), 3, 1.0)
    bad_arity = Task(good.input_types, good.output_type, good.examples[:1] + ((((1,), 2), 5),))
    with pytest.raises(ValueError, match="example 1 has 2 inputs"):
        search.sort_and_add_search(bad_arity, np.ones(34), 3, 1.0)
    bad_range = Task(
        good.input_types,
        good.output_type,
        good.examples[:3] + ((((1000,),), 5),),
    )
    with pytest.raises(ValueError, match=r"example 3, input 0 holds 1000, outside \[-256, 255\]"):
        search.genetic_search(bad_range, 3, 1.0)
    with pytest.raises(ValueError, match="time_budget must be > 0"):
        search.sort_and_add_search(good, np.ones(34), 3, -1.0)
    with pytest.raises(ValueError, match="engine must be one of"):
        search.dfs_search(good, np.ones(34), 3, 1.0, engine="jit")


def test_missing_guide_checkpoint_is_a_clear_error(tmp_path):
    from frontier.config import load_config
    from research.synthesis.reproduce import guide_run_dir

    config = load_config("configs/synthesis/deepcoder_t5.py:smoke")
    assert guide_run_dir(config, tmp_path) == tmp_path / "guide"
    config.search.guide_checkpoint = str(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match="holds no guide checkpoint"):
        guide_run_dir(config, tmp_path)


@pytest.mark.parametrize("length", [2, 3])
def test_incremental_sort_and_add_considers_each_program_once(monkeypatch, length):
    # exhaustive (unsolvable task): the rounds together consider exactly the programs of one
    # unrestricted DFS, none twice: traced on the plain engine (length 2: the plain length-3
    # enumeration takes seconds), counted on the fast one without state pruning
    task, probs = unsolvable_task(), np.random.default_rng(0).random(NUM_ATTRIBUTES)
    if length == 2:
        monkeypatch.setattr(search._PlainEnumerator, "trace", [])
        dfs = search.dfs_search(task, probs, length, 600.0, engine="plain")
        dfs_programs = list(search._PlainEnumerator.trace)
        monkeypatch.setattr(search._PlainEnumerator, "trace", [])
        stats = {}
        sa = search.sort_and_add_search(task, probs, length, 600.0, None, 3, 2, "plain", stats)
        sa_programs = search._PlainEnumerator.trace
        assert not dfs.solved and not sa.solved and stats["rounds"] > 5
        assert len(sa_programs) == len(set(sa_programs)) == sa.nodes == dfs.nodes
        assert set(sa_programs) == set(dfs_programs)
    monkeypatch.setattr(search._FastEnumerator, "prune_states", False)  # exact counts
    stats = {}
    fast_dfs = search.dfs_search(task, probs, length, 600.0)
    fast_sa = search.sort_and_add_search(task, probs, length, 600.0, None, 3, 2, stats=stats)
    assert not fast_sa.solved and stats["rounds"] > 5 and stats["skipped"] > 0
    assert stats["revisits"] > 0 or length == 2  # length 2: every old group is skipped
    assert fast_sa.nodes == fast_dfs.nodes


def test_sort_and_add_accepts_what_the_interpreter_accepts():
    corpus = data.build_corpus(2, 20, 30, seed=4)
    probs = np.random.default_rng(1).random(NUM_ATTRIBUTES)
    for task in corpus.test:
        plain = search.sort_and_add_search(task, probs, 2, 60.0, None, 2, 1, "plain")
        fast = search.sort_and_add_search(task, probs, 2, 60.0, None, 2, 1)
        assert plain.solved and fast.solved
        for r in (plain, fast):
            check_solution(task, r)
        # all attributes active from the start: one round, the unrestricted DFS itself
        for engine in search.ENGINES:
            full = search.sort_and_add_search(task, probs, 2, 60.0, None, NUM_ATTRIBUTES, 1, engine)
            dfs = search.dfs_search(task, probs, 2, 60.0, engine=engine)
            assert (full.program, full.nodes) == (dfs.program, dfs.nodes)


def test_sort_and_add_with_every_attribute_equals_dfs_on_length_3():
    tasks = data.build_corpus(3, 20, 8, seed=5).test
    for i, task in enumerate(tasks):
        probs = np.random.default_rng(i).random(NUM_ATTRIBUTES)
        full = search.sort_and_add_search(task, probs, 3, 60.0, None, NUM_ATTRIBUTES, 1)
        dfs = search.dfs_search(task, probs, 3, 60.0)
        assert (full.solved, full.program, full.nodes) == (dfs.solved, dfs.program, dfs.nodes)
        check_solution(task, full)


def test_paper_numbers_follow_the_test_program_length():
    ms3, speed3 = paper_numbers(3)
    assert ms3[("sort-and-add", "guided")] == (1.3, 6.1, 27.0)
    assert speed3["DFS"] == (15.2, 3.9, 2.9)
    ms5, speed5 = paper_numbers(5)
    assert ms5[("sort-and-add", "guided")] == (9_000.0, 264_000.0, 4_640_000.0)
    assert ms5[("sort-and-add", "baseline")] == (8_181_000.0, None, None)
    assert ms5[("DFS", "guided")] == (None, None, None)  # §5.2 reports sort-and-add only
    assert speed5["sort-and-add"][0] == pytest.approx(909.0, abs=0.2)
    ms4, speed4 = paper_numbers(4)  # no paper number: never the T = 3 ones
    assert all(v == (None, None, None) for v in ms4.values())
    assert all(v == (None, None, None) for v in speed4.values())


def test_array_genetic_variation_keeps_every_program_well_typed():
    task = make_task(parse("a <- [int]\nb <- int\nc <- TAKE b a\nd <- MAP (*2) c\ne <- SUM d"))
    g = search._ArrayGenetic(task, 4, np.random.default_rng(0))
    ops, args = g.random_population(200)
    # scramble: out-of-range and wrongly typed references, then repair half by redrawing
    rng = np.random.default_rng(1)
    args[:] = rng.integers(-2, 7, size=args.shape)
    redraw = rng.random(ops.shape) < 0.5
    g.fix(ops, args, redraw)
    for p in range(200):
        program = g.program(ops[p], args[p], 3, task.input_types)  # Program() checks types
        assert program.length >= 1
    assert len(set(map(bytes, ops))) > 50  # the draws are spread over the operations
    fit, where = g.fitness(ops, args)
    assert fit.shape == (200,) or fit[-1] == 1.0
    nodes = g.nodes
    g.fitness(ops[:10], args[:10])  # cached programs: counted again, not executed again
    executed = g.store.executed
    g.fitness(ops[:10], args[:10])
    assert g.store.executed == executed and g.nodes > nodes


def test_genetic_search_without_a_list_input_is_unsolved_at_once():
    task = Task.from_examples([INT], INT, [((3,), 4), ((5,), 6)])
    r = search.genetic_search(task, 3, 5.0)
    assert not r.solved and r.nodes == 0 and r.seconds < 1.0


def test_last_depth_hits_equal_brute_force_execution():
    """`ValueStore.hits` (first-example cache, length filter, per-argument cache) names
    exactly the operations whose result on all examples is the target, for every argument
    tuple of the columns a short search interns, and asking again (or for a subset) agrees."""
    from research.synthesis.dsl import OPERATIONS

    corpus = data.build_corpus(2, 20, 12, seed=4)
    uniform = np.full(NUM_ATTRIBUTES, 0.5)
    checked = hits_seen = 0
    for task in corpus.test:
        store = search.ValueStore(task)
        e = search._FastEnumerator(task, store, 2, float("inf"), 20_000)
        e.run(search.operation_order(uniform))
        cols = list(range(len(store.columns)))[:40]
        kind = {i: (INT if isinstance(store.columns[i][0], int) else LIST) for i in cols}
        full = sum(1 << op.index for op in OPERATIONS)
        pairs = [(a, b) for a in cols for b in cols]
        sigs = {
            (LIST,): [(a,) for a in cols if kind[a] == LIST],
            (INT, LIST): [(a, b) for a, b in pairs if (kind[a], kind[b]) == (INT, LIST)],
            (LIST, LIST): [(a, b) for a, b in pairs if kind[a] == kind[b] == LIST],
        }
        for sig, tuples in sigs.items():
            for args in tuples[:300]:
                want = 0
                for op in OPERATIONS:
                    if op.arg_types != sig or op.out_type != task.output_type:
                        continue
                    out = tuple(op.fn(*(store.columns[a][k] for a in args)) for k in range(5))
                    if out == store.target_column:
                        want |= 1 << op.index
                half = full & 0x5555555555
                assert store.hits(sig, args, half) == want & half
                assert store.hits(sig, args, full) == want
                checked += 1
                hits_seen += want != 0
    assert checked > 1000 and hits_seen > 0, (checked, hits_seen)
