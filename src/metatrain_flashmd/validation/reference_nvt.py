r"""The NVT reference: the FlashMD integrator itself, each stride made by
reference MD.

A FlashMD NVT run couples its bath for half a stride before and after each
model stride, :math:`O_{\Delta t/2}\,\Phi_{\Delta t}\,O_{\Delta t/2}` (see
:class:`~metatrain_flashmd.ase.Langevin` and :class:`~metatrain_flashmd.ase.Bussi`).
At long strides this splitting is part of the dynamics: with the stride a good
fraction of the bath's time constant, the velocity autocorrelation differs from
that of a thermostat acting at every short timestep, whatever the model. (fcc Al
at 300 K, 64 fs strides, 100 fs Langevin time constant: an exact stride map
under the FlashMD integrator against ASE's Langevin at 2 fs differs in VACF by
0.067-0.072, above the default tolerance of 0.05, and from this reference by
0.006-0.007: ``benchmarks/nvt_reference_splitting.py``.) A validation judges
the model, not the splitting, so its NVT reference is the same integrator, with
the same bath, whose stride :math:`\Phi_{\Delta t}` is velocity Verlet with the
reference calculator: what a perfect model gives. Equilibrium averages
(temperatures, RDFs, pressure) do not depend on the splitting; the NVE
reference has none.
"""

from typing import Any

import ase

from metatrain_flashmd.ase.base import ModelLike
from metatrain_flashmd.observables.trajectory import Trajectory
from metatrain_flashmd.validation.flashmd_run import run_flashmd
from metatrain_flashmd.validation.reference import ReferenceStride, substeps


SPLITTING = "O(stride/2) reference-stride O(stride/2)"
"""How the NVT reference couples its bath (in the reference cache's key)."""


def run_nvt_reference(
    start: ase.Atoms,
    calculator: Any,
    model: ModelLike,
    stride_fs: float,
    strides: int,
    max_timestep_fs: float,
    **bath: Any,
) -> Trajectory:
    """Reference NVT MD from ``start``: the FlashMD run of ``model``'s NVT
    integrator with reference strides
    (:class:`~metatrain_flashmd.validation.reference.ReferenceStride`), a frame with
    its potential energy at time 0 and after every stride.

    :param start: the first frame, with momenta.
    :param calculator: the reference calculator.
    :param model: the FlashMD model (its integrator's settings; never evaluated).
    :param stride_fs: the model's stride, fs.
    :param strides: number of frames after the first.
    :param max_timestep_fs: largest reference timestep, fs.
    :param bath: ``thermostat``, ``temperature_K``, ``time_constant_fs`` and
        ``rng`` of the FlashMD run (``validation.flashmd_run.run_flashmd``).
    """
    stride = ReferenceStride(start, calculator, *substeps(stride_fs, max_timestep_fs))
    run = run_flashmd(
        model, start, "nvt", strides, calculator=calculator, predictor=stride, **bath
    )
    return run.trajectory
