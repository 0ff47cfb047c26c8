"""Many independent FlashMD replicas advanced together, one model call per stride.

Small systems use a machine poorly: a stride of 32 atoms costs twice as much per
atom as one of 2,048 (``benchmarks/README.md``). Independent replicas (seeds,
temperature ladders, committor shots, ensembles, screening) can share the model
calls instead: :class:`Replicas` runs one integrator of
:mod:`metatrain_flashmd.ase` per replica, each with its own thermostat, random
generator, observers and files, and evaluates the strides of all of them
together. :func:`batched_stride` is the same evaluation on flat tensors, for
engines that keep their own state. :func:`run_replicas` runs replicas from files.
"""

from metatrain_flashmd.replicas.budget import default_atom_budget, plan_calls
from metatrain_flashmd.replicas.build import make_replicas, replica_seeds
from metatrain_flashmd.replicas.checks import ReplicaInputError
from metatrain_flashmd.replicas.driver import (
    ReplicaBlowUpError,
    ReplicaOutcome,
    Replicas,
)
from metatrain_flashmd.replicas.files import (
    ReplicaOptions,
    numbered_paths,
    run_replicas,
)
from metatrain_flashmd.replicas.stride import batched_stride


__all__ = [
    "ReplicaBlowUpError",
    "ReplicaInputError",
    "ReplicaOptions",
    "ReplicaOutcome",
    "Replicas",
    "batched_stride",
    "default_atom_budget",
    "make_replicas",
    "numbered_paths",
    "plan_calls",
    "replica_seeds",
    "run_replicas",
]
