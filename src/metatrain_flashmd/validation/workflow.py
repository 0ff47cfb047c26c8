"""``validate``: can this FlashMD model be trusted for this system?

The steps, in order: load and check every input (nothing is run or written before
they pass); equilibrate a START without momenta with the reference; run reference
MD and FlashMD for the same time from the same start (or read the reference
trajectory); predict pairs one stride apart from frames of the reference and of a
FlashMD run (per-stride diagnostics); compare; write the report; print the
verdict table.
"""

import dataclasses
import logging
import math
from pathlib import Path, PurePath
from typing import Any, Dict, Optional

import numpy as np

from metatrain_flashmd.observables.trajectory import Trajectory
from metatrain_flashmd.validation.assess import assess
from metatrain_flashmd.validation.calculators import check_calculator, make_calculator
from metatrain_flashmd.validation.errors import ValidationInputError
from metatrain_flashmd.validation.figures import MIN_FRAMES
from metatrain_flashmd.validation.flashmd_run import FlashMDRun, run_flashmd
from metatrain_flashmd.validation.inputs import (
    check_elements,
    default_time_ps,
    load_flashmd_model,
    read_start,
)
from metatrain_flashmd.validation.outputs import write_outputs
from metatrain_flashmd.validation.reference import at_rest, equilibrate, run_reference
from metatrain_flashmd.validation.reference_cache import (
    load_reference,
    reference_key,
    store_reference,
)
from metatrain_flashmd.validation.reference_cache import (
    reference_identity as identity_of,
)
from metatrain_flashmd.validation.reference_file import read_reference_trajectory
from metatrain_flashmd.validation.reference_nvt import SPLITTING, run_nvt_reference
from metatrain_flashmd.validation.report import headline, verdict_table
from metatrain_flashmd.validation.result import ValidationResult, ValidationSettings
from metatrain_flashmd.validation.tolerances import Tolerances


LOG = logging.getLogger(__name__)
DISCARD_FRACTION = 0.1
"""Fraction of each run dropped from the start of the analysis (a transient)."""
ENSEMBLES = ("nvt", "nve")
THERMOSTATS = ("langevin", "bussi")
MIN_STRIDES = math.ceil(2 * MIN_FRAMES / (1.0 - DISCARD_FRACTION))
"""Fewest strides a run may have: after the discarded start, each half of the
reference run (whose first-against-second-half differences are the noise floors)
needs :data:`~metatrain_flashmd.validation.figures.MIN_FRAMES` frames (45 strides)."""


@dataclasses.dataclass
class Inputs:
    """Everything checked before a validation runs."""

    model: Any
    atoms: Any
    calculator: Any
    reference_trajectory: Optional[Trajectory]
    settings: ValidationSettings
    reference_cache: Optional[Path] = None
    """Where reference runs are kept (:mod:`.reference_cache`); ``None``: not."""
    reference_identity: Optional[str] = None
    """What identifies the reference calculator in the cache's keys."""


def validate(
    model: Any,
    start: Any,
    temperature_K: float,
    reference: Any = "emt",
    *,
    reference_trajectory: Any = None,
    ensemble: str = "nvt",
    bare_nve: bool = True,
    time_ps: Optional[float] = None,
    report_dir: Any = None,
    seed: Optional[int] = 0,
    tolerances: Optional[Tolerances] = None,
    thermostat: str = "langevin",
    time_constant_fs: float = 100.0,
    reference_timestep_fs: float = 1.0,
    equilibration_ps: float = 1.0,
    stride_pairs: int = 32,
    device: Optional[str] = None,
    quiet: bool = False,
    reference_cache: Any = None,
    reference_identity: Optional[str] = None,
) -> ValidationResult:
    """Run a FlashMD model and its reference from the same start, compare what
    users rely on, and judge each comparison against the reference's own noise.

    :param model: the exported FlashMD model: a ``.pt`` path or a loaded
        :class:`metatomic.torch.AtomisticModel`.
    :param start: START, a structure file (its last frame) or atoms; without
        momenta it is first equilibrated by the reference (Maxwell-Boltzmann
        momenta, then ``equilibration_ps`` of Langevin dynamics), or, with a
        reference trajectory, replaced by the trajectory's first frame.
    :param temperature_K: the validation temperature, K: the NVT bath, the initial
        momenta.
    :param reference: the reference calculator: ``"emt"``, the path of an exported
        metatomic MLIP with an ``energy`` output, ``"package.module:function"``
        (a function returning an ASE calculator), or a calculator; ignored with
        ``reference_trajectory``.
    :param reference_trajectory: a reference trajectory file instead (extxyz or
        ASE ``.traj`` with momenta and frame times), of START's system at
        ``temperature_K``.
    :param ensemble: ``"nvt"`` or ``"nve"`` (FlashMD without and with energy
        rescaling, the latter when there is a reference calculator).
    :param bare_nve: NVE: also run FlashMD without energy rescaling (judged on its
        energy drift only); ``False`` judges only the run with rescaling, what
        ``mtt-flashmd md`` runs with an energy model.
    :param time_ps: length of each run, ps; ``None``: 10, or 40 in NVE with
        several elements
        (:func:`~metatrain_flashmd.validation.inputs.default_time_ps`).
    :param report_dir: where to write ``report.md``, ``summary.json``, the plots
        and the trajectories (nothing written when ``None``).
    :param seed: seed of every random choice (momenta, baths).
    :param tolerances: the tolerances (:class:`Tolerances` defaults when ``None``).
    :param thermostat: NVT: ``"langevin"`` or ``"bussi"``, for both runs.
    :param time_constant_fs: NVT: the thermostat's time constant, fs.
    :param reference_timestep_fs: largest timestep of reference MD, fs.
    :param equilibration_ps: equilibration of a START without momenta, ps.
    :param stride_pairs: pairs of reference frames for the per-stride diagnostics.
    :param device: torch device of the FlashMD model (and of a metatomic MLIP).
    :param quiet: do not print the verdict table.
    :param reference_cache: a directory where reference runs are kept and
        reused by validations from the same start with the same reference and
        settings (:mod:`~metatrain_flashmd.validation.reference_cache`); ``None``
        runs the reference every time.
    :param reference_identity: what identifies a ``reference`` given as a
        calculator object in the cache's keys (its runs are not cached without).
    :raises ValidationInputError: for unusable input, before anything is written.
    """
    _check_report_dir(report_dir)
    settings = ValidationSettings(
        model=str(model),
        start=str(start),
        reference=str(reference_trajectory or reference),
        reference_kind="trajectory" if reference_trajectory else "calculator",
        temperature_K=float(temperature_K),
        ensemble=ensemble,
        time_ps=None if time_ps is None else float(time_ps),
        stride_fs=float("nan"),
        thermostat=thermostat,
        time_constant_fs=float(time_constant_fs),
        reference_timestep_fs=float(reference_timestep_fs),
        equilibration_ps=float(equilibration_ps),
        discard_fraction=DISCARD_FRACTION,
        stride_pairs=int(stride_pairs),
        seed=seed,
        bare_nve=bool(bare_nve),
    )
    inputs = prepare(model, start, reference, reference_trajectory, device, settings)
    if reference_cache is not None:
        inputs.reference_cache = Path(reference_cache)
        inputs.reference_identity = reference_identity or identity_of(reference)
    return run_validation(inputs, tolerances or Tolerances(), report_dir, device, quiet)


def run_validation(
    inputs: Inputs,
    tolerances: Tolerances,
    report_dir: Any,
    device: Optional[str],
    quiet: bool,
) -> ValidationResult:
    """Simulate, compare, write the report of and print a validation whose
    inputs :func:`prepare` checked (see :func:`validate`)."""
    seed = inputs.settings.seed
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(3)]
    simulated = simulate(inputs, streams, device)
    result = assess(
        inputs.settings,
        inputs.model,
        inputs.calculator,
        simulated["reference"],
        simulated["runs"],
        tolerances,
        device,
    )
    trajectories = {"reference": simulated["reference"]}
    trajectories.update({k: r.trajectory for k, r in simulated["runs"].items()})
    if report_dir is not None:
        write_outputs(
            result, trajectories, Path(report_dir), inputs.reference_trajectory is None
        )
    if not quiet:
        _print_verdicts(result, report_dir)
    return result


def _check_report_dir(report_dir: Any) -> None:
    """Refuse a report directory that exists as a file, before anything runs."""
    if report_dir is not None and Path(report_dir).exists():
        if not Path(report_dir).is_dir():
            raise ValidationInputError(report_dir, "exists and is not a directory")


def _print_verdicts(result: ValidationResult, report_dir: Any) -> None:
    """Print the verdict table, the headline and where the report is."""
    print(verdict_table(result.checks))
    print(headline(result))
    if report_dir is not None:
        print(f"report: {Path(report_dir) / 'report.md'}")


def prepare(
    model: Any,
    start: Any,
    reference: Any,
    reference_trajectory: Any,
    device: Optional[str],
    settings: ValidationSettings,
) -> Inputs:
    """Load and check every input (see :func:`validate`)."""
    check_settings(settings)
    loaded, model_name, stride = load_flashmd_model(model)
    atoms, start_name = read_start(start)
    check_elements(atoms, loaded, start_name, model_name)
    time_ps = settings.time_ps
    if time_ps is None:
        time_ps = default_time_ps(settings.ensemble, atoms)
    settings = dataclasses.replace(
        settings, model=model_name, start=start_name, stride_fs=stride, time_ps=time_ps
    )
    if settings.time_ps * 1000.0 < MIN_STRIDES * stride:
        raise ValidationInputError(
            "time_ps",
            f"{settings.time_ps:g} ps is fewer than {MIN_STRIDES} strides of "
            f"{stride:g} fs: too short to compare anything",
        )
    calculator, trajectory = None, None
    if reference_trajectory is not None:
        trajectory = read_reference_trajectory(
            reference_trajectory, atoms, start_name, settings.temperature_K, stride
        )
    else:
        calculator = make_calculator(reference, device)
        if not isinstance(reference, (str, PurePath)):
            settings.reference = type(calculator).__name__
        check_calculator(calculator, atoms, settings.reference, start_name)
    if settings.ensemble == "nve" and not settings.bare_nve and calculator is None:
        raise ValidationInputError(
            "bare_nve",
            "without the bare NVE run there is nothing to judge: energy rescaling "
            "needs a reference calculator, not a reference trajectory",
        )
    return Inputs(loaded, atoms, calculator, trajectory, settings)


def check_settings(settings: ValidationSettings) -> None:
    """Refuse options out of range.

    :raises ValidationInputError: naming the option.
    """
    if settings.ensemble not in ENSEMBLES:
        raise ValidationInputError(
            "ensemble",
            f"must be one of {', '.join(ENSEMBLES)}, not {settings.ensemble!r}",
        )
    if settings.thermostat not in THERMOSTATS:
        raise ValidationInputError(
            "thermostat",
            f"must be one of {', '.join(THERMOSTATS)}, not {settings.thermostat!r}",
        )
    for name in (
        "temperature_K",
        "time_ps",
        "time_constant_fs",
        "reference_timestep_fs",
    ):
        if name == "time_ps" and settings.time_ps is None:
            continue  # chosen from START (default_time_ps)
        if not getattr(settings, name) > 0:
            raise ValidationInputError(name, "must be positive")
    if settings.equilibration_ps < 0 or settings.stride_pairs < 0:
        raise ValidationInputError(
            "equilibration_ps, stride_pairs", "must not be negative"
        )


def starting_state(inputs: Inputs, rng: np.random.Generator) -> Any:
    """The state both runs start from: START with its momenta (its centre of mass
    brought to rest, as FlashMD holds it), or equilibrated by the reference, or
    the reference trajectory's first frame."""
    atoms, settings = inputs.atoms, inputs.settings
    if atoms.has("momenta"):
        return at_rest(atoms.copy())
    if inputs.reference_trajectory is not None:
        LOG.info("START has no momenta: starting from the reference's first frame")
        return inputs.reference_trajectory.frame(0)
    LOG.info(
        f"START has no momenta: equilibrating with the reference for "
        f"{settings.equilibration_ps:g} ps at {settings.temperature_K:g} K"
    )
    return equilibrate(
        atoms,
        inputs.calculator,
        settings.temperature_K,
        settings.equilibration_ps,
        settings.reference_timestep_fs,
        rng,
    )


def flashmd_runs(settings: ValidationSettings, rescaling: bool) -> list:
    """The FlashMD runs of a validation: ``nvt``; or ``nve`` (unless
    ``settings.bare_nve`` is off) and, when ``rescaling`` (a reference
    calculator), ``nve_rescaled``."""
    if settings.ensemble == "nvt":
        return ["nvt"]
    return ["nve"] * settings.bare_nve + ["nve_rescaled"] * rescaling


def simulate(inputs: Inputs, streams: list, device: Optional[str]) -> Dict[str, Any]:
    """The reference trajectory and the FlashMD runs, from the same start."""
    settings = inputs.settings
    start = starting_state(inputs, streams[0])
    strides = int(round(settings.time_ps * 1000.0 / settings.stride_fs))
    bath = dict(
        temperature_K=settings.temperature_K,
        thermostat=settings.thermostat,
        time_constant_fs=settings.time_constant_fs,
    )
    reference = inputs.reference_trajectory
    if reference is None:
        reference = reference_run(inputs, start, strides, bath, streams[1])
    kinds = flashmd_runs(settings, inputs.calculator is not None)
    runs: Dict[str, FlashMDRun] = {}
    for kind in kinds:
        LOG.info(f"FlashMD {kind}: {strides} strides of {settings.stride_fs:g} fs")
        calculator = inputs.calculator if kind != "nvt" else None
        runs[kind] = run_flashmd(
            inputs.model,
            start,
            kind,
            strides,
            calculator=calculator,
            rng=streams[2],
            device=device,
            **bath,
        )
    return {"reference": reference, "runs": runs}


def reference_run(
    inputs: Inputs,
    start: Any,
    strides: int,
    bath: Dict[str, Any],
    rng: np.random.Generator,
) -> Trajectory:
    """Reference MD from ``start`` for ``strides`` strides (the NVT bath
    ``bath`` with ``rng``), or the same run from ``inputs.reference_cache``."""
    settings = inputs.settings
    run: Dict[str, Any] = dict(
        ensemble=settings.ensemble,
        stride_fs=settings.stride_fs,
        strides=strides,
        max_timestep_fs=settings.reference_timestep_fs,
    )
    if settings.ensemble == "nvt":
        run.update(bath, rng=rng.bit_generator.state, splitting=SPLITTING)
    key = None
    if inputs.reference_cache is not None:
        if inputs.reference_identity is None:
            LOG.info("reference cache: a calculator object has no identity, not kept")
        else:
            key = reference_key(start, inputs.reference_identity, run)
            cached = load_reference(inputs.reference_cache, key)
            if cached is not None:
                return cached
    LOG.info(f"reference MD: {settings.time_ps:g} ps, {settings.ensemble}")
    lengths = (settings.stride_fs, strides, settings.reference_timestep_fs)
    if settings.ensemble == "nvt":
        trajectory = run_nvt_reference(
            start, inputs.calculator, inputs.model, *lengths, **bath, rng=rng
        )
    else:
        trajectory = run_reference(start, inputs.calculator, "nve", *lengths)
    if key is not None:
        store_reference(inputs.reference_cache, key, trajectory)
    return trajectory
