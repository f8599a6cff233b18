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

# Configs whose `:smoke` variant a reproduction test already trains end to end through
# frontier.loop (and checks more closely); training them here again would double the suite's
# slowest compiles. Their docstrings and smoke/full consistency are still checked below.
_CARTPOLE = (
    "tests/research/rl/test_rl.py::test_cartpole_reproduction_smoke_runs_every_cartpole_config"
)
_ACROBOT = "tests/research/rl/test_rl.py::test_acrobot_and_minatar_smoke"
_FEWSHOT = "tests/research/meta/test_meta_experiments.py::test_fewshot_reproduction_smoke"
_SINUSOID = "tests/research/meta/test_meta_experiments.py::test_sinusoid_reproduction_smoke"
TRAINED_BY = {
    "rl/cartpole_ppo.py": _CARTPOLE,
    "rl/cartpole_dqn.py": _CARTPOLE,
    "rl/cartpole_reinforce.py": _CARTPOLE,
    "rl/cartpole_quantum.py": _CARTPOLE,
    "rl/cartpole_small_mlp.py": _CARTPOLE,
    "rl/acrobot_ppo.py": _ACROBOT,
    "rl/acrobot_dqn.py": _ACROBOT,
    "rl/breakout_ppo.py": _ACROBOT,
    "meta/fewshot_digits_maml.py": _FEWSHOT,
    "meta/fewshot_digits_protonet.py": _FEWSHOT,
    "meta/sinusoid_maml.py": _SINUSOID,
    "meta/sinusoid_pretrained.py": _SINUSOID,
    "synthesis/guide_quality.py": (
        "tests/research/synthesis/test_guide.py::test_guide_quality_smoke"
    ),
    "synthesis/deepcoder_t3.py": (
        "tests/research/synthesis/test_guide.py::test_reproduce_smoke_through_the_cli"
    ),
    "synthesis/deepcoder_t5.py": "tests/research/synthesis/test_guide.py::test_reproduce_t5_smoke",
}


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
    rel = str(path.relative_to(ROOT / "configs"))
    if rel in TRAINED_BY:
        test_file, _, test_name = TRAINED_BY[rel].partition("::")
        source = (ROOT / test_file).read_text()
        assert f"def {test_name}(" in source, f"{TRAINED_BY[rel]} no longer exists"
        assert path.name in source or path.name in _reproduction_sources(), (
            f"{TRAINED_BY[rel]} does not train {rel}; run it here instead"
        )
        return
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


def _reproduction_sources() -> str:
    return "".join(p.read_text() for p in (ROOT / "research").rglob("reproduce.py"))
