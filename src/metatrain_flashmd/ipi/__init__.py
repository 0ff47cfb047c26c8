"""FlashMD strides inside i-PI: NVE, NVT and NpT with i-PI's thermostats,
barostats, outputs and checkpoints.

:func:`~metatrain_flashmd.ipi.flashmd_motion_step` turns an
:class:`ipi.scripting.InteractiveSimulation` into one that advances by FlashMD
strides; :func:`~metatrain_flashmd.ipi.run_ipi` runs an i-PI XML input that way (the
library behind ``mtt-flashmd ipi``). Needs i-PI:
``pip install metatrain-flashmd[ipi]``.
"""

try:
    import ipi  # noqa: F401
except ImportError as error:  # pragma: no cover - depends on the environment
    raise ImportError(
        "metatrain_flashmd.ipi needs i-PI: pip install 'metatrain-flashmd[ipi]'"
    ) from error

from metatrain_flashmd.ipi.checks import UnsupportedSimulationError
from metatrain_flashmd.ipi.motion import flashmd_motion_step
from metatrain_flashmd.ipi.run import run_ipi


__all__ = ["UnsupportedSimulationError", "flashmd_motion_step", "run_ipi"]
