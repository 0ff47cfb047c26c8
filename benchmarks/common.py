"""Shared pieces of the benchmarks: systems, subprocess launching, machine facts.

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
from pathlib import Path
from typing import Any, Dict, List, Optional

import ase
import ase.build
import numpy as np


HERE = Path(__file__).resolve().parent
IMPLEMENTATIONS = ("ours", "builtin")
"""``ours`` is metatrain-flashmd, ``builtin`` metatrain's experimental.flashmd."""
ATOMIC_TYPES = [13, 29, 79]
"""Elements every benchmark model knows: Al (fcc systems), Cu and Au (alloy melt)."""
TIMESTEP_FS = 16.0
"""Stride stored in the benchmark models, fs (irrelevant to the timings)."""
AL_LATTICE = 4.05
"""fcc Al lattice parameter, A."""
AL_REPEATS = {32: 2, 256: 4, 864: 6, 2048: 8, 6912: 12}
"""Number of atoms -> repeats of the 4-atom cubic fcc cell."""


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


def thermal_momenta(atoms: ase.Atoms, temperature_K: float, seed: int) -> None:
    """Give ``atoms`` Maxwell-Boltzmann momenta at ``temperature_K`` (seeded), with
    zero total momentum."""
    from ase.md.velocitydistribution import Stationary, thermalize_momenta

    thermalize_momenta(atoms, temperature_K, rng=np.random.default_rng(seed))
    Stationary(atoms)


def fcc_aluminium(num_atoms: int, seed: int = 0) -> ase.Atoms:
    """Periodic fcc Al of ``num_atoms`` atoms (one of :data:`AL_REPEATS`), positions
    displaced by 0.05 A and momenta at 300 K."""
    if num_atoms not in AL_REPEATS:
        raise ValueError(f"fcc Al sizes are {sorted(AL_REPEATS)}, not {num_atoms}")
    atoms = ase.build.bulk("Al", "fcc", a=AL_LATTICE, cubic=True)
    atoms = atoms.repeat(AL_REPEATS[num_atoms])
    rng = np.random.default_rng(seed)
    atoms.positions += rng.normal(scale=0.05, size=atoms.positions.shape)
    thermal_momenta(atoms, 300.0, seed)
    return atoms


def copper_gold_melt(path: Path, repeat: int = 5, seed: int = 0) -> ase.Atoms:
    """A disordered Cu/Au alloy (equal parts, ``4 * repeat^3`` atoms) melted by EMT
    Langevin dynamics at 2500 K; cached in ``path`` (extxyz)."""
    import ase.io

    if path.exists():
        return ase.io.read(path)
    from ase.calculators.emt import EMT
    from ase.md.langevin import Langevin
    from ase.units import fs

    rng = np.random.default_rng(seed)
    atoms = ase.build.bulk("Cu", "fcc", a=3.8, cubic=True).repeat(repeat)
    symbols = np.array(["Cu", "Au"] * (len(atoms) // 2))
    rng.shuffle(symbols)
    atoms.set_chemical_symbols(symbols.tolist())
    atoms.calc = EMT()
    thermal_momenta(atoms, 2500.0, seed)
    dynamics = Langevin(atoms, 2.0 * fs, temperature_K=2500.0, friction=0.02, rng=rng)
    dynamics.run(400)
    atoms.calc = None
    atoms.wrap()
    thermal_momenta(atoms, 1500.0, seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    ase.io.write(path, atoms)
    return ase.io.read(path)


def aluminium_pairs(
    path: Path,
    num_pairs: int,
    lag_fs: int,
    spacing_fs: int,
    repeat: int = 2,
    temperature_K: float = 600.0,
    seed: int = 0,
) -> int:
    """Write ``num_pairs`` FlashMD training pairs of periodic fcc Al (``4 * repeat^3``
    atoms) from EMT velocity-Verlet MD (1 fs steps) at about ``temperature_K``:
    frames ``lag_fs`` apart, one pair every ``spacing_fs``. Each pair is the
    earlier frame (with ``momenta``) and the arrays ``future_positions`` (unwrapped,
    A) and ``future_momenta`` ((eV*u)^(1/2)). Cached in ``path`` (extxyz); returns
    the number of atoms per structure."""
    import ase.io

    if path.exists():
        return len(ase.io.read(path, 0))
    from ase.calculators.emt import EMT
    from ase.md.verlet import VelocityVerlet
    from ase.units import fs

    atoms = ase.build.bulk("Al", "fcc", a=AL_LATTICE, cubic=True).repeat(repeat)
    rng = np.random.default_rng(seed)
    atoms.positions += rng.normal(scale=0.05, size=atoms.positions.shape)
    atoms.calc = EMT()
    thermal_momenta(atoms, 2 * temperature_K, seed)
    dynamics = VelocityVerlet(atoms, 1.0 * fs)
    dynamics.run(200)  # equilibrate: kinetic energy flows into the potential
    steps = (num_pairs - 1) * spacing_fs + lag_fs + 1
    positions, momenta = [], []
    for _ in range(steps):
        positions.append(atoms.positions.copy())  # unwrapped: never wrapped
        momenta.append(atoms.get_momenta())
        dynamics.run(1)
    pairs = []
    for start in range(0, num_pairs * spacing_fs, spacing_fs):
        pair = atoms.copy()
        pair.calc = None
        pair.positions = positions[start]
        pair.set_momenta(momenta[start])
        pair.arrays["future_momenta"] = momenta[start + lag_fs]
        pair.wrap()
        pair.arrays["future_positions"] = (
            positions[start + lag_fs] + pair.positions - positions[start]
        )
        pairs.append(pair)
    path.parent.mkdir(parents=True, exist_ok=True)
    ase.io.write(path, pairs)
    return len(atoms)
