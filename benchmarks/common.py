"""Shared pieces of the speed benchmarks: subprocess launching, machine facts.

Every model (ours and metatrain's built-in FlashMD) is built, and every timing is
taken, in a fresh Python subprocess, so that the two implementations never share a
process: the built-in one runs with ``METATRAIN_FLASHMD_DISABLE=1``, which switches
off this package's import hook.
"""

import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional


HERE = Path(__file__).resolve().parent
IMPLEMENTATIONS = ("ours", "builtin")
"""``ours`` is metatrain-flashmd, ``builtin`` metatrain's experimental.flashmd."""
ATOMIC_TYPES = [13, 29, 79]
"""Elements every benchmark model knows: Al (fcc systems), Cu and Au (alloy melt)."""
TIMESTEP_FS = 16.0
"""Stride stored in the benchmark models, fs (irrelevant to the timings)."""


def environment(implementation: str, threads: int) -> Dict[str, str]:
    """Environment of a subprocess running ``implementation`` on ``threads``."""
    if implementation not in IMPLEMENTATIONS:
        raise ValueError(f"unknown implementation '{implementation}'")
    env = dict(os.environ)
    env.pop("METATRAIN_FLASHMD_DISABLE", None)
    if implementation == "builtin":
        env["METATRAIN_FLASHMD_DISABLE"] = "1"
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        env[name] = str(threads)
    env["PYTHONWARNINGS"] = "ignore"
    return env


def run_json(
    script: str,
    arguments: List[str],
    implementation: str,
    threads: int = 2,
    timeout: Optional[float] = None,
) -> Dict[str, Any]:
    """Run ``benchmarks/<script>`` in a fresh Python for ``implementation`` and
    return the JSON object it prints on its last line of output."""
    command = [sys.executable, str(HERE / script), *arguments]
    result = subprocess.run(
        command,
        env=environment(implementation, threads),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"{' '.join(command)} failed ({implementation}):\n{result.stderr[-4000:]}"
        )
    return json.loads(result.stdout.strip().splitlines()[-1])


def round_order(round_index: int) -> List[str]:
    """The implementations in the order of round ``round_index`` (0, 1, ...): the
    one that goes first alternates, so that a drifting machine favours neither."""
    order = list(IMPLEMENTATIONS)
    return order[::-1] if round_index % 2 == 1 else order


def load_average() -> str:
    """The 1, 5 and 15 minute load averages of the machine."""
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def machine() -> Dict[str, Any]:
    """CPU model, core count, memory and library versions."""
    import metatomic.torch
    import metatrain
    import torch

    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1e9
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_GB": round(memory_gb, 1),
        "torch": torch.__version__,
        "metatrain": metatrain.__version__,
        "metatomic-torch": metatomic.torch.__version__,
        "python": platform.python_version(),
    }


def cpu_timed(function: Callable, spent: Dict[str, float], key: str) -> Callable:
    """``function``, adding the CPU seconds of each call to ``spent[key]``."""

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        start = time.process_time()
        try:
            return function(*args, **kwargs)
        finally:
            spent[key] += time.process_time() - start

    return wrapped
