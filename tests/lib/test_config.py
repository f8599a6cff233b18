import json

import pytest

from frontier.config import ConfigError, apply_overrides, config_diff, load_config, to_json


def test_overrides_are_typed_and_applied(toy_config):
    cfg = load_config(toy_config, ["train.steps=7", "optim.learning_rate=1", "data.dim=3"])
    assert cfg.train.steps == 7
    assert cfg.optim.learning_rate == 1.0 and isinstance(cfg.optim.learning_rate, float)
    assert cfg.data.dim == 3


def test_unknown_key_names_closest(toy_config):
    with pytest.raises(ConfigError, match=r"unknown config key 'train.step'.*train\.steps"):
        load_config(toy_config, ["train.step=5"])


def test_wrong_type_names_expected_type(toy_config):
    with pytest.raises(ConfigError, match=r"train.steps=.*expected int.*got str"):
        load_config(toy_config, ["train.steps=many"])
    with pytest.raises(ConfigError, match=r"expected int.*got float"):
        load_config(toy_config, ["data.dim=2.5"])


def test_malformed_override(toy_config):
    with pytest.raises(ConfigError, match="not of the form key=value"):
        load_config(toy_config, ["train.steps"])


def test_missing_and_broken_files(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(str(tmp_path / "nope.py"))
    broken = tmp_path / "broken.py"
    broken.write_text("def get_config(:\n")
    with pytest.raises(ConfigError, match="failed to import: SyntaxError"):
        load_config(str(broken))
    empty = tmp_path / "empty.py"
    empty.write_text("x = 1\n")
    with pytest.raises(ConfigError, match="no get_config"):
        load_config(str(empty))
    wrong = tmp_path / "wrong.py"
    wrong.write_text("def get_config():\n    return {'a': 1}\n")
    with pytest.raises(ConfigError, match="returned dict, expected a ConfigDict"):
        load_config(str(wrong))


def test_bad_values_rejected(toy_config):
    with pytest.raises(ConfigError, match="train.log_every must be >= 1"):
        load_config(toy_config, ["train.log_every=0"])
    with pytest.raises(ConfigError, match="seeds must be >= 1"):
        load_config(toy_config, ["seeds=0"])


def test_locked(toy_config):
    cfg = load_config(toy_config)
    with pytest.raises(AttributeError):
        cfg.new_field = 1


def test_variant_is_passed(toy_config):
    assert load_config(toy_config + ":smoke").train.steps == 10


def test_diff_names_keys(toy_config):
    a = load_config(toy_config)
    b = apply_overrides(a, ["train.steps=5", "optim.learning_rate=0.2"])
    assert config_diff(json.loads(to_json(a)), b.to_dict()) == [
        "optim.learning_rate",
        "train.steps",
    ]


def test_table_verdicts():
    from frontier.report import Row, Table

    t = Table("t", [], lower_is_better=True)
    assert t.verdict(Row("a", "s", [1.0, 1.1, 0.9], 1.0)) == "matches (within CI)"
    assert t.verdict(Row("a", "s", [0.5, 0.51, 0.49], 1.0)) == "better"
    assert t.verdict(Row("a", "s", [2.0], 1.0)) == "worse"
    assert t.verdict(Row("a", "s", [2.0], 1.0, interval=(0.5, 2.5))) == "matches (within CI)"
    assert t.verdict(Row("a", "s", [float("nan")], 1.0)) == "not measured"
    assert t.verdict(Row("a", "s", [2.0], None)) == "no reference"
    assert Table("t", [], lower_is_better=None).verdict(Row("a", "s", [2.0], 1.0)) == "differs"
    md = Table("t", [Row("m", "s", [0.5, 0.7], 0.4)], metric="acc").to_markdown()
    assert "| m | s | 0.400 | 0.600 ± 1.271 | +0.200 | matches (within CI) | 2 |" in md
