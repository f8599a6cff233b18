"""benchmarks/device_check.py: its pieces run and it prints a table with numbers.

The full check takes minutes; here it runs the toy config as its smoke run and the two
cheapest figures at tiny sizes.
"""

import importlib.util
import re
import sys

import pytest

from tests.conftest import ROOT, TOY_CONFIG


@pytest.fixture(scope="module")
def device_check():
    spec = importlib.util.spec_from_file_location(
        "device_check", ROOT / "benchmarks" / "device_check.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass looks its module up there
    spec.loader.exec_module(module)
    yield module
    del sys.modules[spec.name]


def _numbers(text: str, heading: str) -> dict[str, float]:
    """`what -> value` of the markdown table under `### heading`."""
    block = text.split(f"### {heading}", 1)[1].split("\n\n", 2)[1]
    rows = [line.split("|")[1:-1] for line in block.splitlines()[2:]]
    return {cells[0].strip(): float(cells[1]) for cells in rows}


def test_the_check_prints_the_device_and_tables_with_numbers(
    device_check, tmp_path, monkeypatch, capsys
):
    def figures(quick):
        assert quick
        sr = device_check._guarded(
            "symbolic regression, evaluate_jit",
            "node-rows/s",
            lambda: device_check.sr_node_rows_per_second(16, 64, 1),
        )
        return [*device_check.maml_rows(quick, conv=False), sr]

    monkeypatch.setattr(device_check, "QUICK_SMOKE", (("toy", TOY_CONFIG),))
    monkeypatch.setattr(device_check, "figure_rows", figures)
    rows = device_check.run(quick=True, workdir=tmp_path)
    out = capsys.readouterr().out

    assert not [r for r in rows if r.failed]
    assert re.search(r"- platform: \w+", out) and "- device kind: " in out
    smoke = _numbers(out, "Smoke runs")
    [(name, wall)] = smoke.items()
    assert name.startswith("toy: ") and wall > 0
    assert "10 steps; mse = " in out  # the toy run's own evaluation
    figs = _numbers(out, "Figures that differ between devices")
    assert figs["MAML meta-step, sinusoid MLP 1-40-40-1"] > 0
    assert figs["symbolic regression, evaluate_jit"] > 1e3


def test_a_failing_row_is_reported_not_raised(device_check, capsys):
    def broken():
        raise RuntimeError("no such device")

    row = device_check._guarded("broken figure", "ms", broken)
    assert row.failed and row.value is None and "RuntimeError: no such device" in row.note
    assert "| broken figure | — | ms | failed: RuntimeError" in device_check.table("t", [row])
    capsys.readouterr()
