"""N-way K-shot classification as a `frontier.Experiment`: MAML, first-order MAML, Meta-SGD,
Reptile and Prototypical Networks on a Conv-4 backbone, selected by `meta.algorithm`.

Data (`data.source`):
- "digits": scikit-learn's bundled 8x8 digits, each (digit, 90-degree rotation) its own class;
  digits 0-5 train (24 classes), 6-9 test (16 classes): disjoint, runs offline.
- "omniglot": the Omniglot folders at `data.root` (images_background/, images_evaluation/),
  28x28, rotations as classes, the MAML 1200/423 split (`data.split="vinyals"` for
  1028/172/423). Omniglot is not shipped with any dependency: bring your own copy.
Evaluation uses a fixed set of test tasks (`eval.num_tasks`, the same for every method and
seed) drawn from the test classes only.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

import frontier
from frontier.experiment import TrainState
from research.meta import algorithms as alg
from research.meta.models import Conv4
from research.meta.omniglot import load_omniglot
from research.meta.tasks import FewShotSampler, digits_fewshot_split
from research.meta.training import MetaExperiment

ALGORITHMS = ("maml", "fomaml", "metasgd", "reptile", "protonet")
SOURCES = ("digits", "omniglot")


@functools.cache
def load_classes(source: str, root: str, split: str, split_seed: int, allow_small: bool = False):
    """(train_images, train_labels, test_images, test_labels) for a data source."""
    if source == "digits":
        return digits_fewshot_split(split_seed)
    if source == "omniglot":
        if not root:
            raise ValueError(
                "data.root is empty: set it to the folder holding images_background/ and "
                "images_evaluation/ (e.g. --set data.root=/data/omniglot)"
            )
        splits = load_omniglot(root, split=split, allow_small=allow_small)
        return (
            splits["train"].images,
            splits["train"].labels,
            splits["test"].images,
            splits["test"].labels,
        )
    raise ValueError(f"data.source must be one of {SOURCES}, got {source!r}")


@frontier.experiment(
    "meta/fewshot", "Few-shot classification: MAML, FOMAML, Meta-SGD, Reptile, ProtoNets"
)
class FewShot(MetaExperiment):
    key_metrics = ("loss", "query_accuracy")
    # Seeds vmapped would give every convolution a seed axis of weights (a grouped
    # convolution, slow on CPU): run them one after another instead.
    vmap_seeds = False
    task_loss = staticmethod(alg.cross_entropy_loss)

    def __init__(self, config):
        super().__init__(config)
        m, d = config.meta, config.data
        if m.algorithm not in ALGORITHMS:
            raise ValueError(f"meta.algorithm must be one of {ALGORITHMS}, got {m.algorithm!r}")
        xtr, ytr, xte, yte = load_classes(d.source, d.root, d.split, d.split_seed, d.allow_small)
        # The samplers check ways against the class count and shots + queries against the
        # smallest class, with errors that name both.
        self.train_sampler = functools.partial(FewShotSampler, xtr, ytr, m.ways, m.shots, m.queries)
        self._samplers: dict[int, FewShotSampler] = {}
        self.train_sampler(seed=0)  # validate now, not at the first step
        test = FewShotSampler(xte, yte, m.ways, m.shots, m.queries, seed=config.eval.task_seed)
        tasks = test.sample(0, config.eval.num_tasks)
        self._eval_tasks = {k: tasks[k] for k in alg.TASK_KEYS}
        self.net = Conv4(
            num_classes=m.ways,
            num_filters=config.model.filters,
            num_blocks=config.model.blocks,
            norm=config.model.norm,
            pool_padding=config.model.pool_padding,
        )
        self.image_shape = xtr.shape[1:]
        self.optimizer = frontier.make_optimizer(config.optim.name, config.optim.learning_rate)

    # -- model -------------------------------------------------------------------------------
    def apply(self, params, x):
        return self.net.apply({"params": params}, x)

    def embed(self, params, x):
        return self.net.apply({"params": params}, x, method="embed")

    def init(self, key):
        params = self.net.init(key, jnp.zeros((1, *self.image_shape)))["params"]
        if self.config.meta.algorithm == "metasgd":
            params = alg.metasgd_init(params, self.config.meta.inner_lr)
        return TrainState(params, self.optimizer.init(params))

    def _adapt_kwargs(self, params):
        if self.config.meta.algorithm == "metasgd":
            return {"per_param_lr": alg.metasgd_lr(params)}
        return {"inner_lr": self.config.meta.inner_lr}

    def _base(self, params):
        return params["params"] if self.config.meta.algorithm == "metasgd" else params

    # -- training ----------------------------------------------------------------------------
    def batch(self, step, seed):
        if seed not in self._samplers:
            self._samplers[seed] = self.train_sampler(seed=seed)
        tasks = self._samplers[seed].sample(step, self.config.meta.meta_batch)
        return {k: tasks[k] for k in alg.TASK_KEYS}

    def meta_loss(self, params, tasks):
        m = self.config.meta
        if m.algorithm == "protonet":
            return alg.protonet_meta_batch_loss(
                params, tasks, embed_fn=self.embed, num_classes=m.ways
            )
        common = dict(
            apply_fn=self.apply,
            loss_fn=alg.cross_entropy_loss,
            num_steps=m.inner_steps,
            remat=m.remat,
            metric_fn=lambda logits, y: {"accuracy": alg.accuracy(logits, y)},
            task_map=m.task_map,
        )
        if m.algorithm == "metasgd":
            return alg.metasgd_meta_batch_loss(params, tasks, first_order=m.first_order, **common)
        first_order = m.first_order or m.algorithm == "fomaml"
        return alg.maml_meta_batch_loss(
            params, tasks, inner_lr=m.inner_lr, first_order=first_order, **common
        )

    # -- evaluation --------------------------------------------------------------------------
    def per_task_accuracy(self, params) -> jax.Array:
        """Query accuracy `[tasks]` on the fixed test tasks (after `eval.inner_steps`)."""
        m = self.config.meta
        if m.algorithm == "protonet":

            def one(task):
                return alg.protonet_loss(params, task, embed_fn=self.embed, num_classes=m.ways)[1][
                    "query_accuracy"
                ]

            return jax.lax.map(one, self._eval_tasks)
        steps = self.config.eval.inner_steps
        out = alg.adapt_and_evaluate(
            self._base(params),
            self._eval_tasks,
            (steps,),
            apply_fn=self.apply,
            loss_fn=alg.cross_entropy_loss,
            metric_fn=lambda logits, y: {"accuracy": alg.accuracy(logits, y)},
            task_map=m.task_map,
            **self._adapt_kwargs(params),
        )
        return out["query_accuracy"][:, 0]

    def evaluate(self, state, key):
        return {"accuracy": jnp.mean(self.per_task_accuracy(state.params))}


def per_task_accuracy(exp: FewShot, state) -> np.ndarray:
    """Host helper: per-task accuracy `[seeds, tasks]` of a stacked state."""
    fn = jax.jit(exp.per_task_accuracy)
    n = jax.tree.leaves(state.params)[0].shape[0]
    return np.stack(
        [np.asarray(fn(jax.tree.map(lambda x, i=i: x[i], state.params))) for i in range(n)]
    )
