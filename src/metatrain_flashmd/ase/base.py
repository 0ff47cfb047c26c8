"""The base of the FlashMD integrators: model loading, checks and one model stride.

Everything about the model is converted and checked here, once, when an integrator is
built: the exported model is loaded, its stride and masses are compared with the
integrator's timestep and the atoms' masses, and a
:class:`metatomic_ase.MetatomicCalculator` is set up to turn the atoms into the
model's input (positions, cell, momenta, masses, neighbour lists) at each step.
"""

import contextlib
import logging
import math
import pathlib
import zipfile
from typing import Any, Callable, Dict, Iterator, Optional, Tuple, Union

import ase
import ase.data
import ase.units
import numpy as np
import torch
from ase.md.md import MolecularDynamics
from metatomic.torch import AtomisticModel, ModelOutput, load_atomistic_model
from metatomic_ase import MetatomicCalculator

from metatrain_flashmd._names import (
    LENGTH_UNIT,
    MASS_UNIT,
    MOMENTUM,
    MOMENTUM_UNIT,
    POSITION,
)
from metatrain_flashmd._stride import stride_warning
from metatrain_flashmd.ase.logger import FlashMDLogger
from metatrain_flashmd.ase.rotation import random_rotation, rotated_copy


ModelLike = Union[str, pathlib.PurePath, AtomisticModel]
"""An exported FlashMD model: the path of a ``.pt`` file or a loaded model."""

MASS_RTOL = 1e-5
"""Relative tolerance when comparing the atoms' masses with the model's."""

TIMESTEP_RTOL = 1e-6
"""Relative tolerance when comparing the integrator's timestep with the model's."""

Predictor = Callable[[ase.Atoms], Tuple[np.ndarray, np.ndarray]]
"""A stride's prediction: positions (A) and momenta ((eV*u)^(1/2)) at t + timestep,
float64 arrays of shape (n, 3), from the atoms at t (see
:meth:`FlashMDDynamics.predict_with`)."""


def is_checkpoint(path: str) -> bool:
    """Whether ``path`` is a training checkpoint (``torch.save`` archive, as
    ``mtt train`` writes) rather than an exported TorchScript model."""
    if pathlib.Path(path).suffix.lower() == ".ckpt":
        return True
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
    return any(name.endswith("data.pkl") for name in names) and not any(
        "/code/" in name for name in names
    )


def load_exported(path: str) -> AtomisticModel:
    """Load the exported metatomic model at ``path``; a checkpoint or another file
    is refused with what to do.

    :param path: the model file (``.pt``, from ``mtt export`` or ``mtt train -o``).
    """
    if not pathlib.Path(path).is_file():
        raise FileNotFoundError(f"no exported model at '{path}'")
    try:
        return load_atomistic_model(path)
    except (RuntimeError, ValueError) as error:
        if is_checkpoint(path):
            exported = pathlib.Path(path).with_suffix(".pt").name
            raise ValueError(
                f"'{path}' is a training checkpoint (written by mtt train), not an "
                f"exported model: export it first, `mtt export {path} -o "
                f"{exported}`, and give {exported}"
            ) from None
        raise ValueError(
            f"cannot load '{path}' as an exported model ({error}): give the .pt file "
            "written by `mtt export` or `mtt train -o`"
        ) from None


def load_model(model: ModelLike) -> Tuple[AtomisticModel, Optional[str]]:
    """Load an exported FlashMD model and check that it looks like one.

    :param model: path of an exported model (``.pt``) or a loaded
        :class:`metatomic.torch.AtomisticModel`.
    :return: the model and its path (``None`` when given a loaded model).
    """
    path = None
    if isinstance(model, (str, pathlib.PurePath)):
        path = str(model)
        model = load_exported(path)
    outputs = model.capabilities().outputs
    inputs = model.requested_inputs(use_new_names=True)
    module = model.module
    if (
        POSITION not in outputs
        or MOMENTUM not in outputs
        or MOMENTUM not in inputs
        or not hasattr(module, "timestep")
        or not hasattr(module, "masses")
    ):
        raise ValueError(
            "this is not a FlashMD model: it must request the 'momentum' input, "
            "predict the 'position' and 'momentum' outputs and carry 'timestep' and "
            "'masses' buffers"
        )
    return model, path


def model_timestep_fs(model: AtomisticModel) -> float:
    """The stride of an exported FlashMD model, in fs.

    :param model: the exported model.
    """
    timestep = float(model.module.timestep)
    if not (math.isfinite(timestep) and timestep > 0):
        raise ValueError(
            f"this FlashMD model has no valid timestep (got {timestep} fs): it was "
            "never trained on pairs of frames, so it cannot run dynamics"
        )
    return timestep


def check_timestep(timestep: float, model_fs: float) -> None:
    """Refuse an integrator timestep different from the model's stride.

    :param timestep: the integrator's timestep, in ASE time units.
    :param model_fs: the model's stride, in fs.
    """
    given_fs = timestep / ase.units.fs
    if not math.isclose(given_fs, model_fs, rel_tol=TIMESTEP_RTOL):
        raise ValueError(
            f"the integrator's timestep is {given_fs:.6g} fs ({timestep:.6g} ASE time "
            f"units), but this FlashMD model predicts strides of {model_fs:.6g} fs "
            f"({model_fs * ase.units.fs:.6g} ASE time units): pass "
            f"timestep={model_fs:g} * ase.units.fs, or leave it out"
        )


def check_masses(atoms: ase.Atoms, model: AtomisticModel) -> None:
    """Refuse atoms of unknown elements or with masses other than the model's.

    :param atoms: the system to simulate; masses in u.
    :param model: the exported model, whose ``module.masses`` holds the mass (u) of
        each element, indexed by atomic number.
    """
    table = model.module.masses.detach().to("cpu", torch.float64).numpy()
    known = sorted(int(z) for z in model.capabilities().atomic_types)
    masses = atoms.get_masses()
    for z in np.unique(atoms.numbers):
        symbol = ase.data.chemical_symbols[z]
        expected = table[z] if z < len(table) else math.nan
        if z not in known or not math.isfinite(expected):
            names = ", ".join(ase.data.chemical_symbols[k] for k in known)
            raise ValueError(
                f"this FlashMD model does not know {symbol} (atomic number {z}); it "
                f"was trained on {names}"
            )
        indices = np.flatnonzero(atoms.numbers == z)
        wrong = ~np.isclose(masses[indices], expected, rtol=MASS_RTOL, atol=0.0)
        if wrong.any():
            index = int(indices[np.argmax(wrong)])
            raise ValueError(
                f"atom {index} ({symbol}) has mass {masses[index]:.8g} {MASS_UNIT}, "
                f"but this FlashMD model was trained with {expected:.8g} {MASS_UNIT} "
                f"for {symbol}: the learned dynamics only holds for the training "
                "masses (see Atoms.set_masses)"
            )


def make_engine(model: AtomisticModel, device: Optional[str]) -> MetatomicCalculator:
    """The calculator that turns atoms into the model's input and runs it.

    :param model: the exported model (moved to the device).
    :param device: torch device, or ``None`` to pick the model's first available.
    """
    try:
        return MetatomicCalculator(model, device=device)
    except RuntimeError as error:
        if "pick_device" not in str(error):
            raise
        supported = ", ".join(model.capabilities().supported_devices)
        raise ValueError(
            f"cannot run the model on device '{device}': the model supports "
            f"{supported}, and this machine has "
            + ("CUDA" if torch.cuda.is_available() else "no CUDA device")
        ) from None


class FlashMDDynamics(MolecularDynamics):
    r"""Base of the FlashMD integrators: one model evaluation per step.

    A step maps the positions :math:`q` and momenta :math:`p` of all atoms from
    :math:`t` to :math:`t + \Delta t` with one forward pass of the model,
    :math:`(q, p) \leftarrow \Phi_{\Delta t}(q, p)`, between two thermostat
    half-steps acting on the momenta only,

    .. math::

        p \leftarrow \Theta_{\Delta t/2}(p), \quad
        (q, p) \leftarrow \Phi_{\Delta t}(q, p), \quad
        p \leftarrow \Theta_{\Delta t/2}(p),

    where :math:`\Theta` is the identity here; thermostats override
    :meth:`thermostat`. Forces are never requested: ``atoms.calc`` is only asked for
    what an integrator, logger or observer needs.

    With ``random_rotation``, each stride sees the whole system (positions, cell and
    momenta) rotated by a rotation drawn uniformly from SO(3), and the prediction is
    rotated back; a learned model is not exactly rotation-equivariant.

    :param atoms: the system; masses in u, momenta in (eV*u)^(1/2) (zero if unset).
    :param model: the exported FlashMD model: path of a ``.pt`` file or a loaded
        :class:`metatomic.torch.AtomisticModel` (moved to ``device``).
    :param timestep: the stride, in ASE time units (``x * ase.units.fs``); it must be
        the model's, which is taken when ``None``.
    :param device: torch device for the model (``"cpu"``, ``"cuda"``, ...); ``None``
        picks the first of the model's supported devices that is available.
    :param random_rotation: randomly rotate the system before each stride and back
        after.
    :param rng: random generator for the rotations and thermostats; a fresh
        unseeded one when ``None``.
    :param kwargs: passed to :class:`ase.md.md.MolecularDynamics` (``trajectory``,
        ``loginterval``, ...), but ``logfile``, which is written by
        :class:`~metatrain_flashmd.ase.logger.FlashMDLogger`: ASE's log columns,
        with kinetic terms only (time, kinetic energy, temperature) when the atoms
        have no calculator.
    """

    def __init__(
        self,
        atoms: ase.Atoms,
        model: ModelLike,
        timestep: Optional[float] = None,
        *,
        device: Optional[str] = None,
        random_rotation: bool = False,
        rng: Optional[np.random.Generator] = None,
        **kwargs: Any,
    ) -> None:
        model, self.model_path = load_model(model)
        self.model_timestep_fs = model_timestep_fs(model)
        warning = stride_warning(self.model_timestep_fs)
        if warning is not None:
            logging.getLogger(__name__).warning(warning)
        if timestep is None:
            timestep = self.model_timestep_fs * ase.units.fs
        check_timestep(timestep, self.model_timestep_fs)
        check_masses(atoms, model)
        logfile = kwargs.pop("logfile", None)
        super().__init__(atoms, timestep, **kwargs)
        if logfile:
            logger = FlashMDLogger(self, atoms, logfile, comm=self.comm)
            self.attach(self.closelater(logger), kwargs.get("loginterval", 1))
        self.device = device
        self.random_rotation = bool(random_rotation)
        self.rng = np.random.default_rng() if rng is None else rng
        self.bath_energy = 0.0
        """Energy (eV) the thermostat took out of the system since the start; the
        total energy plus this is conserved by an exact model."""
        self._engine = make_engine(model, device)
        self._outputs = {
            POSITION: ModelOutput(unit=LENGTH_UNIT, sample_kind="atom"),
            MOMENTUM: ModelOutput(unit=MOMENTUM_UNIT, sample_kind="atom"),
        }
        self._predictor: Optional[Predictor] = None

    @property
    def model(self) -> AtomisticModel:
        """The exported FlashMD model the strides evaluate (on the integrator's
        device)."""
        return self._engine.model()

    @property
    def predictor(self) -> Optional[Predictor]:
        """What gives the strides' predictions instead of the model, set by
        :meth:`predict_with`; ``None`` (the model's own evaluation) outside it."""
        return self._predictor

    @contextlib.contextmanager
    def predict_with(self, predictor: Predictor) -> Iterator[None]:
        """Within the ``with`` block, take each stride's prediction from
        ``predictor`` instead of evaluating :attr:`model`; everything else of a
        step (thermostat, rotations, energy rescaling, observers) is unchanged.

        ``predictor(atoms)`` gets the atoms at t as the model would see them
        (rotated, with ``random_rotation``) and returns their positions (A) and
        momenta ((eV*u)^(1/2)) at t + timestep, float64 arrays of shape (n, 3).
        :class:`~metatrain_flashmd.replicas.Replicas` uses it to evaluate the
        strides of many integrators in one model call.

        .. code-block:: python

            with dynamics.predict_with(lambda atoms: my_stride(dynamics.model, atoms)):
                dynamics.run(10)

        :param predictor: the stride's prediction from the atoms.
        """
        previous = self._predictor
        self._predictor = predictor
        try:
            yield
        finally:
            self._predictor = previous

    def todict(self) -> Dict[str, Any]:
        """Description of the integrator, written in trajectory headers."""
        return {
            **super().todict(),
            "model": self.model_path,
            "model_timestep_fs": self.model_timestep_fs,
            "random_rotation": self.random_rotation,
            "device": self.device,
        }

    def step(self) -> None:
        """Advance the system by one stride (see the class docstring)."""
        self.thermostat(0.5 * self.dt)
        self.stride()
        self.thermostat(0.5 * self.dt)

    def thermostat(self, duration: float) -> None:
        """Couple the momenta to a heat bath for ``duration`` (ASE time units); the
        base class has no bath."""

    def stride(self) -> None:
        """Replace positions and momenta by the model's prediction at t + timestep
        (one model evaluation)."""
        atoms = self.atoms
        if self.random_rotation:
            rotation = random_rotation(self.rng)
            positions, momenta = self._predict(rotated_copy(atoms, rotation))
            positions, momenta = positions @ rotation, momenta @ rotation
        else:
            positions, momenta = self._predict(atoms)
        atoms.set_positions(positions)
        atoms.set_momenta(momenta)

    def _predict(self, atoms: ase.Atoms) -> Tuple[np.ndarray, np.ndarray]:
        """Positions (A) and momenta ((eV*u)^(1/2)) at t + timestep, shape (n, 3):
        from :attr:`predictor` when set, else from the model."""
        if self._predictor is not None:
            return self._predictor(atoms)
        with torch.no_grad():
            results = self._engine.run_model(atoms, self._outputs)
        positions = results[POSITION].block().values.reshape(-1, 3)
        momenta = results[MOMENTUM].block().values.reshape(-1, 3)
        return (
            positions.to("cpu", torch.float64).numpy(),
            momenta.to("cpu", torch.float64).numpy(),
        )

    def _refresh_properties(self) -> None:
        """Ask ``atoms.calc`` for nothing after a step.

        ASE's run loop (``MolecularDynamics.irun``) calls this hook before logging
        and observers, to have forces computed; a FlashMD step needs none, and
        loggers or observers ask for what they use themselves.
        """

    def _exchange_with_bath(self, momenta: np.ndarray) -> None:
        """Set the momenta chosen by a thermostat, adding the kinetic energy they
        remove to :attr:`bath_energy`."""
        before = self.atoms.get_kinetic_energy()
        self.atoms.set_momenta(momenta)
        self.bath_energy += before - self.atoms.get_kinetic_energy()
