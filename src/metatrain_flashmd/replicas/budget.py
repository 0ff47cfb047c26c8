"""How many atoms go into one model call, and which replicas share a call.

A stride's working memory grows with the number of atoms in the call: with the
default hyperparameters (``default_hypers/``, float32) about
:data:`BYTES_PER_ATOM` per atom beyond the loaded process (``benchmarks/README.md``:
1236 MB at 6912 atoms, of which about 480 MB is the process before the first
stride). The default budget keeps the calls within a fraction of the memory
available on the device, with a safety margin for larger neighbourhoods and the
allocator's slack.
"""

import os
from pathlib import Path
from typing import List, Optional, Sequence, Union

import torch


BYTES_PER_ATOM = 110e3
"""Measured working memory of one stride per atom, bytes (default hypers,
float32, fcc Al, cutoff 4.5 A)."""

MARGIN = 2.0
"""Safety factor on :data:`BYTES_PER_ATOM` (denser systems have more neighbours)."""

MEMORY_FRACTION = 0.5
"""Share of the available memory the calls may use."""


def available_memory(device: Union[str, torch.device]) -> Optional[int]:
    """Memory available for new allocations on ``device``, bytes; ``None`` when it
    cannot be told.

    CUDA devices answer :func:`torch.cuda.mem_get_info`; the CPU the kernel's
    ``MemAvailable`` (``/proc/meminfo``), or the free physical pages elsewhere.
    """
    device = torch.device(device)
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return int(free)
    if device.type != "cpu":
        return None
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def default_atom_budget(
    device: Union[str, torch.device], bytes_per_atom: float = BYTES_PER_ATOM
) -> int:
    """Atoms per model call that fit on ``device``: :data:`MEMORY_FRACTION` of its
    available memory over :data:`MARGIN` times ``bytes_per_atom``.

    When the available memory cannot be told, 8 GB are assumed.

    :param device: where the model runs.
    :param bytes_per_atom: working memory of a stride per atom, bytes.
    """
    available = available_memory(device)
    if available is None:
        available = 8 * 1024**3
    return max(1, int(MEMORY_FRACTION * available / (MARGIN * bytes_per_atom)))


def plan_calls(sizes: Sequence[int], budget: int) -> List[List[int]]:
    """Group replicas into as few model calls as hold at most ``budget`` atoms
    each (first fit, largest first).

    A replica larger than the budget gets a call of its own.

    :param sizes: number of atoms of each replica.
    :param budget: the most atoms in one call.
    :return: the replicas (indices into ``sizes``) of each call, each list sorted.
    """
    if budget < 1:
        raise ValueError(f"the atom budget must be at least 1, got {budget}")
    calls: List[List[int]] = []
    loads: List[int] = []
    for index in sorted(range(len(sizes)), key=lambda i: (-sizes[i], i)):
        for call, load in enumerate(loads):
            if load + sizes[index] <= budget:
                calls[call].append(index)
                loads[call] += sizes[index]
                break
        else:
            calls.append([index])
            loads.append(sizes[index])
    return [sorted(call) for call in calls]
