"""rl: bad input is named (environment, action space, sizes, minibatch divisibility)."""

import pytest

from frontier.loop import run_config

PPO = "configs/rl/cartpole_ppo.py:smoke"
DQN = "configs/rl/cartpole_dqn.py:smoke"


@pytest.mark.parametrize(
    "spec, overrides, match",
    [
        (PPO, ["env.name=CartPole-v9"], "unknown environment 'CartPole-v9'.*CartPole-v1"),
        (DQN, ["env.name=Pendulum-v1"], "DQN here needs a discrete action space"),
        (PPO, ["env.name=Pendulum-v1"], "PPO here needs a discrete action space"),
        (PPO, ["algo.rollout_length=0"], "algo.rollout_length must be a positive integer"),
        (PPO, ["env.num_envs=-1"], "env.num_envs must be a positive integer"),
        (DQN, ["algo.batch_size=0"], "algo.batch_size must be a positive integer"),
        (PPO, ["algo.minibatches=3"], "algo.minibatches=3 does not divide the batch"),
        (DQN, ["algo.buffer_capacity=401"], "must be a multiple of env.num_envs"),
    ],
)
def test_bad_input_is_named(tmp_path, spec, overrides, match):
    with pytest.raises(ValueError, match=match):
        run_config(spec, tmp_path / "run", overrides, progress=False)
