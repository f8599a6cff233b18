"""Device mesh and data-parallel sharding over every device of every host.

One mesh axis, `data`. State is replicated; each batch leaf is split along its batch axis.
The same code runs on one CPU, on 8 fake CPU devices
(`XLA_FLAGS=--xla_force_host_platform_device_count=8`, set before jax is imported) and on
many accelerators across hosts.

Multi-host: launch the same command on every host with the coordinator's address in the
environment (`FRONTIER_COORDINATOR=host0:1234 FRONTIER_NUM_PROCESSES=4 FRONTIER_PROCESS_ID=k`,
or on a cluster JAX detects by itself, `FRONTIER_DISTRIBUTED=1`); `initialize_distributed()`
then calls `jax.distributed.initialize()` before any device is used. Each host feeds its own
slice of every batch (`process_local_batch`), only process 0 writes logs and reports, and
orbax checkpoints are written collectively.
"""

from __future__ import annotations

import functools
import os

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

DATA_AXIS = "data"
_INITIALIZED = False


def initialize_distributed() -> None:
    """Call `jax.distributed.initialize()` when launched multi-host (see module doc)."""
    global _INITIALIZED
    if _INITIALIZED:
        return
    coordinator = os.environ.get("FRONTIER_COORDINATOR")
    if coordinator:
        jax.distributed.initialize(
            coordinator_address=coordinator,
            num_processes=int(os.environ["FRONTIER_NUM_PROCESSES"]),
            process_id=int(os.environ["FRONTIER_PROCESS_ID"]),
        )
    elif os.environ.get("FRONTIER_DISTRIBUTED") == "1":
        jax.distributed.initialize()  # cluster environments (SLURM, TPU pods) auto-detect
    _INITIALIZED = True


def make_mesh() -> Mesh:
    """A 1-D data-parallel mesh over all devices of all processes."""
    return Mesh(np.asarray(jax.devices()), (DATA_AXIS,))


def replicated(mesh: Mesh) -> NamedSharding:
    return NamedSharding(mesh, P())


def batch_sharding(mesh: Mesh, ndim: int, batch_axis: int) -> NamedSharding:
    """Split axis `batch_axis` of an `ndim`-dimensional leaf over the data axis."""
    if ndim <= batch_axis:
        return NamedSharding(mesh, P())
    spec = [None] * ndim
    spec[batch_axis] = DATA_AXIS
    return NamedSharding(mesh, P(*spec))


def shard_batch(batch, mesh: Mesh, batch_axis: int):
    """Place a host batch (global on one process, local slice on many) on the mesh.

    Leaves whose batch axis does not divide evenly over the devices are replicated rather than
    split, so odd-sized evaluation sets still work; training batches should divide evenly.
    On one process the whole tree goes over in one batched transfer.
    """
    leaves, treedef = jax.tree.flatten(batch)
    leaves = [np.asarray(x) for x in leaves]
    procs, devices = jax.process_count(), mesh.devices.size
    shardings = [
        _placement(
            mesh,
            x.ndim,
            batch_axis,
            split=x.ndim > batch_axis and (x.shape[batch_axis] * procs) % devices == 0,
        )
        for x in leaves
    ]
    if procs == 1:
        placed = jax.device_put(leaves, shardings)
    else:
        placed = [
            jax.make_array_from_process_local_data(s, x)
            for s, x in zip(shardings, leaves, strict=True)
        ]
    return jax.tree.unflatten(treedef, placed)


@functools.lru_cache(maxsize=256)
def _placement(mesh: Mesh, ndim: int, batch_axis: int, split: bool) -> NamedSharding:
    """The sharding of a batch leaf, cached: one object per leaf layout, not one per step."""
    return batch_sharding(mesh, ndim, batch_axis) if split else replicated(mesh)


def process_local_batch(global_batch, batch_axis: int):
    """This process's slice of a batch every process built identically (multi-host feeding)."""
    if jax.process_count() == 1:
        return global_batch
    k, i = jax.process_count(), jax.process_index()

    def take(x):
        x = np.asarray(x)
        size = x.shape[batch_axis] // k
        return np.take(x, np.arange(i * size, (i + 1) * size), axis=batch_axis)

    return jax.tree.map(take, global_batch)


def is_main_process() -> bool:
    return jax.process_index() == 0
