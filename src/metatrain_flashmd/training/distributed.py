"""Data-parallel training across processes: set-up, collectives, and clean exit.

Ranks are started either by SLURM (``srun mtt train ...``: one task per GPU or CPU
slot, ranks read from ``SLURM_PROCID``/``SLURM_NTASKS``/``SLURM_LOCALID``, the first
host of the job is the rendezvous address) or by ``torchrun`` (``RANK``,
``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR``, ``MASTER_PORT``). GPUs communicate
through NCCL, CPUs through gloo.
"""

import datetime
import logging
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, List, Optional

import torch
import torch.distributed as dist


TIMEOUT_VARIABLE = "METATRAIN_FLASHMD_DIST_TIMEOUT"
TIMEOUT = datetime.timedelta(seconds=float(os.environ.get(TIMEOUT_VARIABLE, 600)))
"""How long a rank waits for the others before giving up (a dead rank)."""


@dataclass
class Launch:
    """What the launcher told this process."""

    rank: int
    world_size: int
    local_rank: int
    launcher: str
    """``"torchrun"`` or ``"slurm"``."""


def detect_launch() -> Optional[Launch]:
    """The launcher's rank information, or None in a plain single process."""
    if "RANK" in os.environ and "WORLD_SIZE" in os.environ:
        return Launch(
            rank=int(os.environ["RANK"]),
            world_size=int(os.environ["WORLD_SIZE"]),
            local_rank=int(os.environ.get("LOCAL_RANK", 0)),
            launcher="torchrun",
        )
    if "SLURM_JOB_ID" in os.environ and "SLURM_PROCID" in os.environ:
        return Launch(
            rank=int(os.environ["SLURM_PROCID"]),
            world_size=int(os.environ.get("SLURM_NTASKS", 1)),
            local_rank=int(os.environ.get("SLURM_LOCALID", 0)),
            launcher="slurm",
        )
    return None


@dataclass
class Context:
    """Where this process trains, and how it talks to the other ranks (a single
    process by default)."""

    device: torch.device
    rank: int = 0
    world_size: int = 1

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    def wrap(self, module: torch.nn.Module) -> torch.nn.Module:
        """``module`` prepared for gradient synchronisation across ranks."""
        return module

    def all_reduce(self, tensor: torch.Tensor) -> torch.Tensor:
        """Sum of ``tensor`` over ranks."""
        return tensor

    def barrier(self) -> None:
        """Wait for all ranks."""

    def finish(self, checkpoint_dir: Path) -> None:
        """Leave the process group; see :class:`DistributedContext`."""


@dataclass
class DistributedContext(Context):
    """A rank of a data-parallel run, in an initialised process group."""

    launcher: str = "torchrun"

    def wrap(self, module: torch.nn.Module) -> torch.nn.Module:
        device_ids = [self.device] if self.device.type == "cuda" else None
        return torch.nn.parallel.DistributedDataParallel(module, device_ids=device_ids)

    def all_reduce(self, tensor: torch.Tensor) -> torch.Tensor:
        reduced = tensor.to(self.device)
        dist.all_reduce(reduced)
        return reduced.to(tensor.device)

    def barrier(self) -> None:
        dist.barrier()

    def finish(self, checkpoint_dir: Path) -> None:
        """Leave the process group. Under torchrun, metatrain's command line does not
        know that ranks other than 0 are secondary (it only reads SLURM's
        variables), so those ranks remove the output directory they created for
        themselves and exit here, leaving the final checkpoint, export and logs to
        rank 0."""
        names: List[Any] = [str(checkpoint_dir.resolve())]
        dist.broadcast_object_list(names, src=0)
        dist.barrier()
        dist.destroy_process_group()
        if self.launcher != "torchrun" or self.rank == 0:
            return
        mine = checkpoint_dir.resolve()
        if str(mine) != names[0] and "outputs" in mine.parts:
            logging.shutdown()
            shutil.rmtree(mine, ignore_errors=True)
        sys.exit(0)


def _rendezvous_address(launch: Launch, port: int) -> None:
    """Set ``MASTER_ADDR``/``MASTER_PORT`` where the launcher did not."""
    if launch.launcher == "slurm":
        import hostlist

        hosts = hostlist.expand_hostlist(os.environ.get("SLURM_JOB_NODELIST", ""))
        os.environ.setdefault("MASTER_ADDR", hosts[0] if hosts else "127.0.0.1")
    os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
    os.environ.setdefault("MASTER_PORT", str(port))


def setup(hypers: Any, devices: List[torch.device]) -> Context:
    """The training context of this process, joining the process group if the run
    is distributed (``training.distributed``, or detected from the launcher)."""
    launch = detect_launch()
    wanted = hypers.get("distributed")
    if wanted is None:
        wanted = launch is not None and launch.world_size > 1
    if not wanted:
        return Context(device=devices[0])
    if launch is None:
        raise ValueError(
            "training.distributed is true, but this process was not started by "
            "torchrun or SLURM: launch it with `torchrun --nproc-per-node N "
            "$(which mtt) train options.yaml` or `srun mtt train options.yaml`"
        )
    if hypers["batch_size"] < launch.world_size:
        raise ValueError(
            f"training.batch_size ({hypers['batch_size']}) is smaller than the number "
            f"of ranks ({launch.world_size}): each rank needs at least one pair per "
            "batch"
        )
    if launch.rank != 0:
        logging.getLogger().setLevel(logging.ERROR)
    _rendezvous_address(launch, int(hypers["distributed_port"]))
    use_cuda = devices[0].type == "cuda"
    if use_cuda:
        device = torch.device("cuda", launch.local_rank)
        torch.cuda.set_device(device)
    else:
        device = torch.device("cpu")
    backend = "nccl" if use_cuda else "gloo"
    try:
        dist.init_process_group(
            backend=backend,
            rank=launch.rank,
            world_size=launch.world_size,
            timeout=TIMEOUT,
        )
    except Exception as error:  # torch raises several kinds here
        address = f"{os.environ['MASTER_ADDR']}:{os.environ['MASTER_PORT']}"
        raise RuntimeError(
            f"rank {launch.rank} could not join the {launch.world_size} training "
            f"processes at {address} ({backend}): {error}. If the port is in use, "
            "choose another with training.distributed_port (SLURM) or torchrun's "
            "--master-port."
        ) from error
    logging.info(
        f"Distributed training on {launch.world_size} ranks ({backend}, started "
        f"by {launch.launcher})"
    )
    return DistributedContext(
        device=device,
        rank=launch.rank,
        world_size=launch.world_size,
        launcher=launch.launcher,
    )
