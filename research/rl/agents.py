"""PPO, REINFORCE with a baseline and DQN as pure `step(state, batch, key)` for `frontier.loop`.

Rollouts run inside the step (`batch` is None): one loop step of PPO or REINFORCE collects
`rollout_length` steps of `num_envs` vmapped environments and updates on them; one step of DQN
collects `rollout_length` steps into the replay buffer (device arrays in the state) and takes
`updates_per_step` gradient steps. The loop vmaps the whole step over seeds, so many seeds
train in one compiled program; the state (environments, buffer, target network, optimiser)
is checkpointed, so a resumed run continues exactly.
"""

from __future__ import annotations

from typing import Any

import flax.struct
import jax
import jax.numpy as jnp
import optax

import frontier
from frontier.experiment import health_metrics
from research.rl import policies
from research.rl.envs import EnvCarry, EnvPool, check_positive, discrete_actions


@flax.struct.dataclass
class ActorCriticState:
    params: Any  # {"actor": ..., "critic": ...}
    opt_state: Any
    env: EnvCarry
    updates: jax.Array  # [] int32, loop steps taken


def _optimizer(o, total_updates: int) -> optax.GradientTransformation:
    """Global-norm clipping, then Adam for the actor (`learning_rate`) and for the critic
    (`critic_learning_rate`), both annealed linearly to 0 if `anneal_lr`. With equal rates
    this is one Adam over all parameters."""

    def adam(lr: float):
        schedule = optax.linear_schedule(lr, 0.0, max(total_updates, 1)) if o.anneal_lr else lr
        return optax.adam(schedule, eps=1e-5)

    def labels(params):  # "actor" / "critic" on every leaf of that half of the params
        return {name: jax.tree.map(lambda _, n=name: n, sub) for name, sub in params.items()}

    return optax.chain(
        optax.clip_by_global_norm(float(o.max_grad_norm)),
        optax.multi_transform(
            {"actor": adam(float(o.learning_rate)), "critic": adam(float(o.critic_learning_rate))},
            labels,
        ),
    )


def _actor_critic(config, pool: EnvPool, algorithm: str):
    num_actions = discrete_actions(pool.env, pool.params, pool.name, algorithm)
    m = config.model
    if m.actor == "mlp":
        actor = policies.mlp(tuple(m.actor_hidden), num_actions, m.activation, 0.01)
    elif m.actor == "quantum":
        actor = policies.quantum_policy(int(m.qubits), int(m.layers), num_actions, pool.obs_size)
    else:
        raise ValueError(f"model.actor must be 'mlp' or 'quantum', got {m.actor!r}")
    critic = policies.mlp(tuple(m.critic_hidden), 1, m.activation, 1.0)
    return actor, critic, num_actions


class _PolicyGradient(frontier.Experiment):
    """What PPO and REINFORCE share: environments, actor and critic, rollouts, evaluation."""

    key_metrics = ("episode_return", "loss")
    algorithm = ""

    def __init__(self, config):
        super().__init__(config)
        e, a = config.env, config.algo
        check_positive(
            **{
                "env.num_envs": e.num_envs,
                "env.eval_envs": e.eval_envs,
                "algo.rollout_length": a.rollout_length,
            }
        )
        self.pool = EnvPool(e.name, e.num_envs)
        (self.actor_init, self.actor), (self.critic_init, critic), _ = _actor_critic(
            config, self.pool, self.algorithm
        )
        self.critic = lambda p, o: critic(p, o)[0]
        self.optimizer = _optimizer(config.optim, self.grad_steps_per_update * config.train.steps)

    grad_steps_per_update = 1

    @property
    def env_steps_per_update(self) -> int:
        return self.pool.num_envs * int(self.config.algo.rollout_length)

    def init(self, key):
        ka, kc, ke = jax.random.split(key, 3)
        params = {
            "actor": self.actor_init(ka, self.pool.obs_size),
            "critic": self.critic_init(kc, self.pool.obs_size),
        }
        return ActorCriticState(
            params, self.optimizer.init(params), self.pool.reset(ke), jnp.zeros((), jnp.int32)
        )

    def rollout(self, params, carry: EnvCarry, key):
        """`rollout_length` steps of every environment; trajectories are [T, num_envs, ...]."""

        def body(carry, k):
            ka, ks = jax.random.split(k)
            obs = carry.obs
            logits = jax.vmap(self.actor, (None, 0))(params["actor"], obs)
            action = jax.random.categorical(ka, logits)
            logp = jnp.take_along_axis(jax.nn.log_softmax(logits), action[:, None], 1)[:, 0]
            value = jax.vmap(self.critic, (None, 0))(params["critic"], obs)
            carry, out = self.pool.step(carry, action, ks)
            # V of the true next state: bootstraps episodes cut by the time limit.
            next_value = jax.vmap(self.critic, (None, 0))(params["critic"], out["next_obs"])
            return carry, dict(
                obs=obs, action=action, logp=logp, value=value, reward=out["reward"],
                done=out["done"], terminated=out["terminated"], finished=out["final_return"],
                next_value=next_value,
            )  # fmt: skip

        carry, traj = jax.lax.scan(
            body, carry, jax.random.split(key, int(self.config.algo.rollout_length))
        )
        carry = self.pool.with_recent_return(carry, traj["finished"], traj["done"])
        return carry, traj

    def _policy_terms(self, params, obs, action):
        logits = jax.vmap(self.actor, (None, 0))(params["actor"], obs)
        logp_all = jax.nn.log_softmax(logits)
        logp = jnp.take_along_axis(logp_all, action[:, None], 1)[:, 0]
        entropy = -jnp.sum(jnp.exp(logp_all) * logp_all, -1)
        value = jax.vmap(self.critic, (None, 0))(params["critic"], obs)
        return logp, entropy, value

    def evaluate(self, state, key):
        def act(obs, k):  # the stochastic policy, as trained
            logits = jax.vmap(self.actor, (None, 0))(state.params["actor"], obs)
            return jax.random.categorical(k, logits)

        return self.pool.evaluate(act, key, int(self.config.env.eval_envs))

    def _metrics(self, state: ActorCriticState, extra):
        return {
            "episode_return": state.env.recent_return,
            "episodes": state.env.episodes.astype(jnp.float32),
            # 1 once an episode has ended: a log window whose mean is 1 holds no placeholder 0
            "return_defined": (state.env.episodes > 0).astype(jnp.float32),
            "env_steps": (state.updates * self.env_steps_per_update).astype(jnp.float32),
            **extra,
        }


@frontier.experiment("rl/ppo", "PPO (clipped, GAE, epochs x minibatches) on gymnax envs")
class PPO(_PolicyGradient):
    """Schulman et al. 2017: clipped surrogate, GAE, `epochs` passes of `minibatches` each."""

    algorithm = "PPO"

    def __init__(self, config):
        a = config.algo
        check_positive(**{"algo.epochs": a.epochs, "algo.minibatches": a.minibatches})
        batch = int(config.env.num_envs) * int(a.rollout_length)
        if batch % int(a.minibatches):
            raise ValueError(
                f"algo.minibatches={a.minibatches} does not divide the batch of "
                f"env.num_envs * algo.rollout_length = {batch} transitions; choose a divisor "
                f"of {batch}"
            )
        self.grad_steps_per_update = int(a.epochs) * int(a.minibatches)
        super().__init__(config)

    def step(self, state, batch, key):
        a = self.config.algo
        k_roll, k_perm = jax.random.split(key)
        carry, traj = self.rollout(state.params, state.env, k_roll)
        adv, targets = gae(traj, float(a.gamma), float(a.gae_lambda))
        flat = {
            "obs": traj["obs"],
            "action": traj["action"],
            "logp": traj["logp"],
            "adv": adv,
            "target": targets,
        }
        flat = jax.tree.map(lambda x: x.reshape(-1, *x.shape[2:]), flat)
        n, m = flat["adv"].shape[0], int(a.minibatches)

        def loss_fn(params, mb):
            logp, entropy, value = self._policy_terms(params, mb["obs"], mb["action"])
            ratio = jnp.exp(logp - mb["logp"])
            adv = (mb["adv"] - mb["adv"].mean()) / (mb["adv"].std() + 1e-8)
            pg = -jnp.mean(
                jnp.minimum(ratio * adv, jnp.clip(ratio, 1 - a.clip_eps, 1 + a.clip_eps) * adv)
            )
            v_loss = 0.5 * jnp.mean((value - mb["target"]) ** 2)
            ent = jnp.mean(entropy)
            loss = pg + a.vf_coef * v_loss - a.ent_coef * ent
            clipped = jnp.mean(jnp.abs(ratio - 1) > a.clip_eps)
            return loss, {"policy_loss": pg, "value_loss": v_loss, "entropy": ent,
                          "clip_fraction": clipped}  # fmt: skip

        def minibatch_step(carry, mb):
            params, opt_state = carry
            (loss, aux), grads = jax.value_and_grad(loss_fn, has_aux=True)(params, mb)
            updates, opt_state = self.optimizer.update(grads, opt_state, params)
            params = optax.apply_updates(params, updates)
            return (params, opt_state), {"loss": loss, **aux,
                                         **health_metrics(grads, params, updates)}  # fmt: skip

        def epoch(carry, k):
            perm = jax.random.permutation(k, n)
            mbs = jax.tree.map(lambda x: x[perm].reshape(m, n // m, *x.shape[1:]), flat)
            return jax.lax.scan(minibatch_step, carry, mbs)

        (params, opt_state), logs = jax.lax.scan(
            epoch, (state.params, state.opt_state), jax.random.split(k_perm, int(a.epochs))
        )
        state = ActorCriticState(params, opt_state, carry, state.updates + 1)
        return state, self._metrics(state, jax.tree.map(jnp.mean, logs))


def gae(traj, gamma: float, lam: float):
    """Generalised advantage estimates and value targets, both [T, num_envs].

    delta_t = r_t + gamma (1 - terminated_t) V(s'_t) - V(s_t), with s'_t the true next state
    (so an episode cut by the time limit is bootstrapped); the advantages do not cross the
    end of an episode (`done`).
    """

    def body(next_adv, t):
        delta = t["reward"] + gamma * (1.0 - t["terminated"]) * t["next_value"] - t["value"]
        adv = delta + gamma * lam * (1.0 - t["done"]) * next_adv
        return adv, adv

    keys = ("done", "terminated", "reward", "value", "next_value")
    _, adv = jax.lax.scan(
        body, jnp.zeros_like(traj["value"][0]), {k: traj[k] for k in keys}, reverse=True
    )
    return adv, adv + traj["value"]


def discounted_returns(traj, gamma: float):
    """Monte Carlo returns-to-go [T, n] within episodes; bootstrapped by V(s') only where an
    episode is cut (by the time limit, or by the end of the rollout)."""

    def body(next_return, t):
        cut = t["done"] - t["terminated"]  # 1 where the time limit ended the episode
        g = t["reward"] + gamma * ((1.0 - t["done"]) * next_return + cut * t["next_value"])
        return g, g

    keys = ("reward", "done", "terminated", "next_value")
    # Past the rollout's last step the return is V(s'_T) (ignored where the episode ended).
    _, g = jax.lax.scan(body, traj["next_value"][-1], {k: traj[k] for k in keys}, reverse=True)
    return g


@frontier.experiment("rl/reinforce", "REINFORCE with a learned value baseline on gymnax envs")
class Reinforce(_PolicyGradient):
    """Williams 1992 with a value baseline: -log pi(a|s) (G - V(s)), one gradient step per rollout.

    G is the discounted return to the end of the episode, bootstrapped by V only where the
    rollout cuts an episode (set `algo.rollout_length` to the episode limit for pure MC).
    """

    algorithm = "REINFORCE"

    def step(self, state, batch, key):
        a = self.config.algo
        carry, traj = self.rollout(state.params, state.env, key)
        g = discounted_returns(traj, float(a.gamma))
        flat = jax.tree.map(
            lambda x: x.reshape(-1, *x.shape[2:]),
            {"obs": traj["obs"], "action": traj["action"], "g": g},
        )

        def loss_fn(params):
            logp, entropy, value = self._policy_terms(params, flat["obs"], flat["action"])
            adv = jax.lax.stop_gradient(flat["g"] - value)
            if a.normalize_advantage:
                adv = (adv - adv.mean()) / (adv.std() + 1e-8)
            pg = -jnp.mean(logp * adv)
            v_loss = 0.5 * jnp.mean((value - flat["g"]) ** 2)
            ent = jnp.mean(entropy)
            loss = pg + a.vf_coef * v_loss - a.ent_coef * ent
            return loss, {"policy_loss": pg, "value_loss": v_loss, "entropy": ent}

        (loss, aux), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params)
        updates, opt_state = self.optimizer.update(grads, state.opt_state, state.params)
        params = optax.apply_updates(state.params, updates)
        state = ActorCriticState(params, opt_state, carry, state.updates + 1)
        extra = {"loss": loss, **aux, **health_metrics(grads, params, updates)}
        return state, self._metrics(state, extra)


# ---------------------------------------------------------------- DQN


@flax.struct.dataclass
class DQNState:
    params: Any
    target_params: Any
    opt_state: Any
    env: EnvCarry
    buffer: dict  # obs, next_obs [C, d]; action [C] int32; reward, done [C]
    buffer_size: jax.Array  # [] int32, filled entries (<= capacity)
    buffer_ptr: jax.Array  # [] int32, next write position
    updates: jax.Array  # [] int32, loop steps taken


@frontier.experiment("rl/dqn", "DQN (device replay buffer, target network, epsilon-greedy)")
class DQN(frontier.Experiment):
    """Mnih et al. 2015: replay buffer in the state, target network, linear epsilon schedule.

    Transitions are written `num_envs` at a time into a ring buffer of `buffer_capacity`
    device arrays; the squared TD error uses max_a Q_target(s', a) (with a Huber loss
    instead the Q-values diverged on CartPole at these settings); the target network is copied
    from the online one every `target_update_every` gradient steps; learning starts after
    `learning_starts` environment steps. An episode cut by the time limit is bootstrapped
    (gymnax 1.0 reports `terminated` and `truncated` apart).
    """

    key_metrics = ("episode_return", "loss")

    def __init__(self, config):
        super().__init__(config)
        e, a = config.env, config.algo
        check_positive(
            **{
                "env.num_envs": e.num_envs,
                "env.eval_envs": e.eval_envs,
                "algo.rollout_length": a.rollout_length,
                "algo.batch_size": a.batch_size,
                "algo.buffer_capacity": a.buffer_capacity,
                "algo.updates_per_step": a.updates_per_step,
                "algo.target_update_every": a.target_update_every,
            }
        )
        if int(a.buffer_capacity) % int(e.num_envs):
            raise ValueError(
                f"algo.buffer_capacity={a.buffer_capacity} must be a multiple of "
                f"env.num_envs={e.num_envs} (transitions are written num_envs at a time)"
            )
        if int(a.batch_size) > int(a.buffer_capacity):
            raise ValueError(
                f"algo.batch_size={a.batch_size} exceeds algo.buffer_capacity="
                f"{a.buffer_capacity}; lower the batch or enlarge the buffer"
            )
        self.pool = EnvPool(e.name, e.num_envs)
        self.num_actions = discrete_actions(self.pool.env, self.pool.params, e.name, "DQN")
        self.q_init, self.q_apply = policies.plain_mlp(
            tuple(config.model.hidden), self.num_actions, config.model.activation
        )
        o = config.optim
        self.optimizer = optax.chain(
            optax.clip_by_global_norm(float(o.max_grad_norm)), optax.adam(float(o.learning_rate))
        )

    @property
    def env_steps_per_update(self) -> int:
        return self.pool.num_envs * int(self.config.algo.rollout_length)

    def init(self, key):
        kq, ke = jax.random.split(key)
        params = self.q_init(kq, self.pool.obs_size)
        c, d = int(self.config.algo.buffer_capacity), self.pool.obs_size
        buffer = {
            "obs": jnp.zeros((c, d)),
            "next_obs": jnp.zeros((c, d)),
            "action": jnp.zeros((c,), jnp.int32),
            "reward": jnp.zeros((c,)),
            "done": jnp.zeros((c,)),
        }
        zero = jnp.zeros((), jnp.int32)
        return DQNState(
            params, params, self.optimizer.init(params), self.pool.reset(ke), buffer, zero, zero,
            zero,
        )  # fmt: skip

    def epsilon(self, env_steps):
        a = self.config.algo
        frac = jnp.clip(env_steps / max(float(a.epsilon_decay_steps), 1.0), 0.0, 1.0)
        return a.epsilon_start + frac * (a.epsilon_end - a.epsilon_start)

    def _q(self, params, obs):
        return jax.vmap(self.q_apply, (None, 0))(params, obs)

    def step(self, state, batch, key):
        a = self.config.algo
        n, c = self.pool.num_envs, int(a.buffer_capacity)
        k_roll, k_upd = jax.random.split(key)
        steps0 = state.updates * self.env_steps_per_update

        def collect(carry, inputs):
            env, buf, ptr, size = carry
            t, k = inputs
            ke, kr, ks = jax.random.split(k, 3)
            eps = self.epsilon(steps0 + t * n)
            greedy = jnp.argmax(self._q(state.params, env.obs), -1)
            random = jax.random.randint(kr, (n,), 0, self.num_actions)
            action = jnp.where(jax.random.uniform(ke, (n,)) < eps, random, greedy)
            obs = env.obs
            env, out = self.pool.step(env, action, ks)
            # next_obs is the true next state and `done` marks terminal states only, so an
            # episode cut by the time limit is bootstrapped.
            new = {"obs": obs, "next_obs": out["next_obs"], "action": action.astype(jnp.int32),
                   "reward": out["reward"], "done": out["terminated"]}  # fmt: skip
            buf = {k: jax.lax.dynamic_update_slice_in_dim(buf[k], new[k], ptr, 0) for k in buf}
            carry = (env, buf, (ptr + n) % c, jnp.minimum(size + n, c))
            return carry, (out["final_return"], out["done"])

        t_len = int(a.rollout_length)
        (env, buf, ptr, size), (finished, dones) = jax.lax.scan(
            collect,
            (state.env, state.buffer, state.buffer_ptr, state.buffer_size),
            (jnp.arange(t_len), jax.random.split(k_roll, t_len)),
        )
        env = self.pool.with_recent_return(env, finished, dones)
        env_steps = steps0 + t_len * n
        learning = env_steps >= int(a.learning_starts)

        def loss_fn(params, target_params, mb):
            q = jnp.take_along_axis(self._q(params, mb["obs"]), mb["action"][:, None], 1)[:, 0]
            q_next = jnp.max(self._q(target_params, mb["next_obs"]), -1)
            target = mb["reward"] + a.gamma * (1.0 - mb["done"]) * q_next
            loss = 0.5 * jnp.mean((q - jax.lax.stop_gradient(target)) ** 2)
            return loss, jnp.mean(q)

        def update(carry, inputs):
            params, target_params, opt_state = carry
            i, k = inputs
            idx = jax.random.randint(k, (int(a.batch_size),), 0, jnp.maximum(size, 1))
            mb = jax.tree.map(lambda x: x[idx], buf)
            (loss, q_mean), grads = jax.value_and_grad(loss_fn, has_aux=True)(
                params, target_params, mb
            )
            updates, new_opt = self.optimizer.update(grads, opt_state, params)
            # Before `learning_starts` nothing moves (and l2_updates logs 0).
            updates = jax.tree.map(lambda u: jnp.where(learning, u, 0.0), updates)
            params = optax.apply_updates(params, updates)
            opt_state = jax.tree.map(lambda x, y: jnp.where(learning, x, y), new_opt, opt_state)
            grad_step = state.updates * int(a.updates_per_step) + i + 1
            copy = learning & (grad_step % int(a.target_update_every) == 0)
            target_params = jax.tree.map(lambda x, y: jnp.where(copy, x, y), params, target_params)
            logs = {"loss": loss, "q_mean": q_mean, **health_metrics(grads, params, updates)}
            return (params, target_params, opt_state), logs

        u = int(a.updates_per_step)
        (params, target_params, opt_state), logs = jax.lax.scan(
            update,
            (state.params, state.target_params, state.opt_state),
            (jnp.arange(u), jax.random.split(k_upd, u)),
        )
        state = DQNState(params, target_params, opt_state, env, buf, size, ptr, state.updates + 1)
        metrics = {
            "episode_return": env.recent_return,
            "episodes": env.episodes.astype(jnp.float32),
            # 1 once an episode has ended: a log window whose mean is 1 holds no placeholder 0
            "return_defined": (env.episodes > 0).astype(jnp.float32),
            "env_steps": env_steps.astype(jnp.float32),
            "epsilon": self.epsilon(env_steps),
            **jax.tree.map(jnp.mean, logs),
        }
        return state, metrics

    def evaluate(self, state, key):
        def act(obs, k):  # greedy, with epsilon 0.01 as in the DQN papers' evaluation
            greedy = jnp.argmax(self._q(state.params, obs), -1)
            k1, k2 = jax.random.split(k)
            random = jax.random.randint(k1, greedy.shape, 0, self.num_actions)
            return jnp.where(jax.random.uniform(k2, greedy.shape) < 0.01, random, greedy)

        return self.pool.evaluate(act, key, int(self.config.env.eval_envs))
