"""Every config in configs/ runs end to end in its smoke variant (and documents itself)."""

from pathlib import Path

import numpy as np
import pytest
from omniglot_fixture import make_fixture

from frontier.config import describe, load_config
from frontier.loop import run_config
from frontier.metrics import read_metrics

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = sorted(p for p in (ROOT / "configs").rglob("*.py") if not p.name.startswith("_"))


def test_there_are_configs():
    assert len(CONFIGS) >= 4


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: str(p.relative_to(ROOT / "configs")))
def test_config_smoke_runs(path, tmp_path):
    doc = describe(str(path))
    assert doc, f"{path} needs a docstring: what it runs, the command, what to expect"
    assert "Run:" in path.read_text(), f"{path}'s docstring should say how to run it"
    full = load_config(str(path))
    smoke = load_config(f"{path}:smoke")
    assert smoke.experiment == full.experiment
    overrides = []
    if "data" in smoke and smoke.data.get("source") == "omniglot":
        # Omniglot cannot be downloaded here: run on a tiny tree in its standard layout.
        layout = {"images_background": {"A": 6, "B": 6}, "images_evaluation": {"C": 6}}
        root = make_fixture(tmp_path / "omniglot", layout, drawers=6)
        overrides = [f"data.root={str(root)!r}", "data.allow_small=True"]
    result = run_config(f"{path}:smoke", tmp_path / "run", overrides, progress=False)
    assert result.final, "evaluation produced no metrics"
    for name, values in result.final.items():
        assert np.all(np.isfinite(values)), name
    assert (tmp_path / "run" / "config.json").exists()
    assert (tmp_path / "run" / "report.md").exists()
    assert read_metrics(tmp_path / "run")
