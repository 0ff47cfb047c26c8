"""NpT benchmark: FlashMD at constant pressure against EMT, fcc Al at 0 GPa.

For 300 K and 600 K: EMT NpT reference runs (1 fs velocity Verlet, the package's
stochastic cell rescaling every 4 fs, a Langevin thermostat), EMT NpT training
trajectories (the barostat alone, every 2 fs: Hamiltonian between cell moves),
``mtt-flashmd pairs`` (later frames mapped into the earlier cell) and ``mtt
train`` (one model per stride on both temperatures), FlashMD NpT runs with
:class:`metatrain_flashmd.ase.LangevinNPT` and EMT's stress, and FlashMD runs
inside i-PI (NVT and NpT) through :func:`metatrain_flashmd.ipi.run_ipi`. The report
compares mean volumes, volume fluctuations, per-element temperatures and the
thermal expansion with their block errors, and the cost of a stride::

    python benchmarks/npt.py --quick            # smoke test (32 atoms, minutes)
    python benchmarks/npt.py                    # the benchmark (108 atoms, hours)
    python benchmarks/npt.py --stages report    # the report of what exists

Every stage skips outputs that exist, so an interrupted run resumes. Data go to
``full/`` or ``quick/`` in ``--workdir`` (default ``benchmarks/work/npt``, ignored
by git); the report is ``RESULTS.md`` there. ``--refine N`` refines each trained
model with ``mtt-flashmd refine`` at 300 K and then 600 K (N rounds each) and
makes the FlashMD runs with the refined models, in ``full-refined/``, from the
references and trained models of ``full/`` (refine's temperature tolerance 1%:
see ``Settings.refine_temperature_tolerance``)::

    python benchmarks/npt.py --refine 2 --strides 32
"""

import argparse
import dataclasses
import json
import logging
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any, Dict, List

import ase.io
import ase.units
import numpy as np
import yaml


HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE / "fidelity")]

import npt_dynamics as dyn  # noqa: E402
import npt_report  # noqa: E402
import run_fidelity as fidelity  # noqa: E402
import systems  # noqa: E402
from npt_ipi import run_ipi_case  # noqa: E402


STAGES = (
    "reference",
    "pairs",
    "train",
    "refine",
    "md",
    "seeds",
    "ipi",
    "validate",
    "density",
    "timing",
    "report",
)
TEMPERATURES = (300, 600)
LOG = logging.getLogger("npt")


@dataclasses.dataclass
class Settings:
    """Sizes of the benchmark (:func:`settings`)."""

    repeat: int
    """fcc Al of ``4 * repeat^3`` atoms."""
    equilibration_fs: float
    """Langevin NVT, then as long again EMT NpT, before every run, fs."""
    train_fs: float
    """Length of each EMT NpT training trajectory (frames every 2 fs), fs."""
    pair_spacing_fs: int
    run_fs: float
    """Length of the reference and FlashMD NpT runs, fs."""
    ipi_fs: float
    """Length of the i-PI runs, fs."""
    discard_fs: float
    """Start of every run left out of the statistics, fs."""
    barostat: dyn.Barostat
    """The barostat of every NpT run but the training trajectories."""
    train_barostat_fs: float
    """Barostat time constant of the training trajectories, fs: slower, so that
    the cell strains by far less than ``mtt-flashmd pairs``' 1% tolerance over a
    pair (the volume still samples its distribution over the trajectory)."""
    model: Dict[str, Any]
    training: Dict[str, Any]
    strides: List[int] = dataclasses.field(default_factory=lambda: [16, 32])
    extra_seeds: List[int] = dataclasses.field(default_factory=lambda: [101, 102, 103])
    """Seeds of the independent repeats of each FlashMD NpT run (``seeds``
    stage): their spread checks the block errors."""
    seed_temperatures: List[int] = dataclasses.field(default_factory=lambda: [300, 600])
    """Temperatures of the repeats."""
    ipi_strides: List[int] = dataclasses.field(default_factory=lambda: [16])
    reference_extra_seeds: List[int] = dataclasses.field(default_factory=lambda: [301])
    """Seeds of repeats of the reference run (``reference-seed{seed}.npz``), at
    ``seed_temperatures``: the FlashMD runs are compared with their pool."""
    ipi_extra_seeds: List[int] = dataclasses.field(default_factory=lambda: [201, 202])
    """Seeds of the repeats of the i-PI NpT runs, at ``seed_temperatures``."""
    density_fs: float = 40000.0
    """Length of the ``density`` stage's NVT runs, fs."""
    density_seeds: List[int] = dataclasses.field(default_factory=lambda: [101, 102])
    validation_ps: float = 10.0
    """Length of the ``validate`` runs (NVT at each temperature's start), ps."""
    refine_rounds: int = 0
    """With ``--refine N``: ``mtt-flashmd refine`` each trained model at every
    temperature in turn (budget N rounds each) and run the refined one."""
    refine_temperature_tolerance: float = 0.01
    """Refine's ``temperature`` tolerance: 1%, not ``validate``'s 3%, because
    the thermal expansion target needs it (fcc Al expands by about 0.15 A^3/K
    here, so a model 3% cold at 600 K loses 2.7 A^3 of the 45 A^3 expansion,
    more than the reference's error of 2.6 A^3)."""
    train_frame_fs: int = 2


def settings(quick: bool) -> Settings:
    """The benchmark (108 atoms, the fidelity benchmark's medium model and
    training), or (``quick``) a smoke test with 32 atoms and its quick ones."""
    full = Settings(
        repeat=3,
        equilibration_fs=2000.0,
        train_fs=12000.0,
        pair_spacing_fs=10,
        run_fs=60000.0,
        ipi_fs=60000.0,
        discard_fs=2000.0,
        barostat=dyn.Barostat(0.0, 200.0, 0.013, 100.0),
        train_barostat_fs=1000.0,
        model=dict(fidelity.MEDIUM_MODEL),
        training=dict(fidelity.full_settings().training),
    )
    if not quick:
        return full
    return dataclasses.replace(
        full,
        repeat=2,
        equilibration_fs=400.0,
        train_fs=2000.0,
        run_fs=6000.0,
        ipi_fs=3000.0,
        density_fs=3000.0,
        discard_fs=500.0,
        barostat=dyn.Barostat(0.0, 100.0, 0.013, 100.0),
        train_barostat_fs=500.0,
        model=dict(fidelity.QUICK_MODEL),
        training={**fidelity.quick_settings().training, "num_epochs": 20},
    )


def stage_reference(work: Path, cfg: Settings) -> None:
    """Per temperature: Langevin NVT then EMT NpT equilibration (``start.extxyz``)
    and the training trajectory (barostat alone, seed 1); then, per temperature,
    the reference run (barostat and Langevin, seed 3 + T/100, a record every 4
    fs) and its repeats (``reference_extra_seeds``). The training data come
    first, so that training can start meanwhile."""
    for temperature in TEMPERATURES:
        directory = work / f"T{temperature}"
        directory.mkdir(parents=True, exist_ok=True)
        start = directory / "start.extxyz"
        if not start.exists():
            LOG.info(f"{temperature} K: equilibration")
            atoms = systems.fcc_aluminium(cfg.repeat)
            atoms = systems.equilibrate(atoms, temperature, cfg.equilibration_fs, 0)
            equilibrated = equilibrate_npt(atoms, cfg, temperature)
            ase.io.write(start.with_suffix(".partial.extxyz"), equilibrated)
            os.replace(start.with_suffix(".partial.extxyz"), start)
        train = directory / "train-npt.extxyz"
        if not train.exists():
            LOG.info(f"{temperature} K: EMT NpT training trajectory, {cfg.train_fs} fs")
            gentle = dataclasses.replace(
                cfg.barostat, time_constant_fs=cfg.train_barostat_fs
            )
            record = dyn.emt_npt(
                ase.io.read(start),
                gentle,
                temperature,
                cfg.train_fs,
                cfg.train_frame_fs,
                seed=1,
                thermostat=False,
                extxyz=train,
                every=cfg.train_frame_fs,
            )
            fidelity.record_wall(directory, "train_trajectory", record.wall_s)
    for temperature in TEMPERATURES:
        directory = work / f"T{temperature}"
        seeds = [(None, 3 + temperature // 100)]
        if temperature in cfg.seed_temperatures:
            seeds += [(seed, seed) for seed in cfg.reference_extra_seeds]
        for label, seed in seeds:
            name = "reference" + (f"-seed{label}" if label else "")
            reference = directory / f"{name}.npz"
            if reference.exists():
                continue
            LOG.info(f"{temperature} K: EMT NpT {name}, {cfg.run_fs} fs")
            begin = ase.io.read(directory / "start.extxyz")
            record = dyn.emt_npt(
                begin, cfg.barostat, temperature, cfg.run_fs, 4, seed, every=4
            )
            record.save(reference)


def equilibrate_npt(atoms: ase.Atoms, cfg: Settings, temperature: float) -> ase.Atoms:
    """``atoms`` after ``cfg.equilibration_fs`` of EMT NpT (seed 2), with momenta
    and without calculator."""
    atoms = atoms.copy()
    atoms.set_momenta(atoms.get_momenta())
    dynamics = dyn.EMTNpT(
        atoms, cfg.barostat, temperature, True, np.random.default_rng(2), every=4
    )
    dynamics.run(int(round(cfg.equilibration_fs / 4)))
    result = atoms.copy()
    result.calc = None
    result.set_momenta(atoms.get_momenta())
    return result


def validation_start(work: Path, cfg: Settings, temperature: int) -> Path:
    """``T{T}/start-mean-volume.extxyz``, the start of ``validate`` and
    ``refine`` at ``temperature``: ``start.extxyz`` scaled (at fixed fractional
    coordinates) to the mean volume of that temperature's reference NpT runs
    (the mean of their means after ``cfg.discard_fs``, as the report pools
    them), without momenta (``validate`` equilibrates it for 1 ps with EMT at
    its cell). A fixed-cell validation judges the model
    at its start's density: the NpT-equilibrated starts are 1.6% (300 K) and
    2.2% (600 K) below the mean volume, where a model may hold another
    temperature than at the volumes its NpT runs visit (``density`` stage)."""
    directory = work / f"T{temperature}"
    path = directory / "start-mean-volume.extxyz"
    if path.exists():
        return path
    means = [
        dyn.summary(dyn.load_record(reference), cfg.discard_fs)["volume"]["mean"]
        for reference in sorted(directory.glob("reference*.npz"))
    ]
    atoms = ase.io.read(directory / "start.extxyz")
    scale = (np.mean(means) / atoms.get_volume()) ** (1.0 / 3.0)
    atoms.set_cell(atoms.cell * scale, scale_atoms=True)
    atoms.set_momenta(None)
    ase.io.write(path.with_suffix(".partial.extxyz"), atoms)
    os.replace(path.with_suffix(".partial.extxyz"), path)
    return path


def stride_directory(work: Path, stride: int) -> Path:
    """Pairs, options and model of one stride."""
    path = work / f"stride{stride}"
    path.mkdir(parents=True, exist_ok=True)
    return path


def flashmd_model(work: Path, cfg: Settings, stride: int) -> Path:
    """The model of the FlashMD runs: ``model.pt`` as trained, or with
    ``--refine`` the refined ``model-refined.pt``."""
    name = "model-refined.pt" if cfg.refine_rounds else "model.pt"
    return stride_directory(work, stride) / name


def refined_name(name: str, cfg: Settings) -> str:
    """The work directory of ``--refine``: ``NAME-refined``, with ``-tolX``
    for a temperature tolerance other than the default."""
    tolerance = cfg.refine_temperature_tolerance
    default = Settings.refine_temperature_tolerance
    return f"{name}-refined" + ("" if tolerance == default else f"-tol{tolerance:g}")


def link_trained(work: Path, trained: Path, cfg: Settings) -> None:
    """For ``--refine``: hard links to what the run without refinement in
    ``trained`` made before the FlashMD runs (starts, training trajectories,
    reference runs, pairs, options, trained models), so that only the refine
    and the stages after it run again."""
    names = ["start.extxyz", "train-npt.extxyz", "reference*.npz"]
    folders = {f"T{t}": names for t in TEMPERATURES}
    kept = ["pairs*.xyz", "options.yaml", "model.pt", "model.partial.ckpt"]
    folders.update({f"stride{stride}": kept for stride in cfg.strides})
    for folder, patterns in folders.items():
        (work / folder).mkdir(parents=True, exist_ok=True)
        for pattern in patterns:
            for source in (trained / folder).glob(pattern):
                if not (work / folder / source.name).exists():
                    os.link(source, work / folder / source.name)


def stage_refine(work: Path, cfg: Settings) -> None:
    """With ``--refine N``: per stride, ``refine`` the trained model at each
    temperature in turn (NVT validation at the reference's mean volume,
    :func:`validation_start`, EMT,
    the ``validate`` stage's length), each from the previous one's final
    checkpoint, into ``strideN/refine-T{T}/``; the last final model is
    ``model-refined.pt``."""
    if not cfg.refine_rounds:
        return
    from metatrain_flashmd.refine import refine
    from metatrain_flashmd.validation import Tolerances

    for stride in cfg.strides:
        directory = stride_directory(work, stride)
        options = refine_options(directory, cfg, stride)
        checkpoint = directory / "model.partial.ckpt"
        for temperature in TEMPERATURES:
            LOG.info(f"refine at {stride} fs, {temperature} K")
            folder = directory / f"refine-T{temperature}"
            refine(
                options,
                validation_start(work, cfg, temperature),
                "emt",
                float(temperature),
                rounds=cfg.refine_rounds,
                directory=folder,
                checkpoint=checkpoint,
                time_ps=cfg.validation_ps,
                tolerances=Tolerances(temperature=cfg.refine_temperature_tolerance),
            )
            checkpoint = folder / "final.ckpt"
        if not (directory / "model-refined.pt").exists():
            shutil.copyfile(
                checkpoint.with_suffix(".pt"), directory / "model-refined.pt"
            )


def refine_options(directory: Path, cfg: Settings, stride: int) -> Path:
    """``options-refine.yaml``: the stride's ``options.yaml`` with the model and
    trainer hypers that ``stage_train`` gives ``mtt train`` as overrides."""
    path = directory / "options-refine.yaml"
    document = yaml.safe_load((directory / "options.yaml").read_text())
    document["seed"] = 0
    architecture = document["architecture"]
    architecture["model"] = fidelity.model_hypers(cfg, stride)
    architecture["training"].update(num_workers=0, log_interval=1, **cfg.training)
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def stage_pairs(work: Path, cfg: Settings) -> None:
    """``mtt-flashmd pairs`` of both temperatures' training trajectories, per
    stride: a pair every ``pair_spacing_fs``, 10% (the end of each file) for
    validation."""
    lag_unit = cfg.train_frame_fs
    for stride in cfg.strides:
        directory = stride_directory(work, stride)
        if (directory / "options.yaml").exists():
            continue
        trajectories = [str(work / f"T{t}" / "train-npt.extxyz") for t in TEMPERATURES]
        lag, spacing = stride // lag_unit, cfg.pair_spacing_fs // lag_unit
        command = ["mtt-flashmd", "pairs", *trajectories, "--lag", str(lag)]
        command += ["--spacing", str(spacing), "--validation", "0.1", "--test", "0"]
        command += "-o pairs.xyz --options options.partial.yaml".split()
        fidelity.run_command(command, directory, directory / "pairs.log")
        os.replace(directory / "options.partial.yaml", directory / "options.yaml")


def stage_train(work: Path, cfg: Settings) -> None:
    """``mtt train`` per stride with the fidelity benchmark's overrides."""
    for stride in cfg.strides:
        directory = stride_directory(work, stride)
        if (directory / "model.pt").exists():
            continue
        command = ["mtt", "train", "options.yaml", "-o", "model.partial.pt"]
        command += fidelity.training_overrides(cfg, stride)
        seconds = fidelity.run_command(command, directory, directory / "train.log")
        fidelity.record_wall(work, f"train_stride{stride}", seconds)
        os.replace(directory / "model.partial.pt", directory / "model.pt")


def stage_md(work: Path, cfg: Settings) -> None:
    """Per temperature and stride: a FlashMD NpT run (seed 5 + T/100) from
    ``start.extxyz``."""
    for temperature in TEMPERATURES:
        directory = work / f"T{temperature}"
        start = ase.io.read(directory / "start.extxyz")
        for stride in cfg.strides:
            path = directory / f"flashmd-npt-s{stride}.npz"
            model = flashmd_model(work, cfg, stride)
            run = (model, start, cfg.barostat, temperature, cfg.run_fs)
            saved_run(path, *run, 5 + temperature // 100, f"NpT at {stride} fs")


def saved_run(
    path: Path,
    model: Path,
    start: ase.Atoms,
    barostat: Any,
    temperature: int,
    duration_fs: float,
    seed: int,
    what: str,
) -> None:
    """:func:`npt_dynamics.flashmd_run` saved to ``path``, unless it exists or
    the model is not trained yet."""
    if path.exists() or not model.exists():
        return
    LOG.info(f"{temperature} K: FlashMD {what}")
    record = dyn.flashmd_run(model, start, barostat, temperature, duration_fs, seed)
    record.save(path)


def stage_seeds(work: Path, cfg: Settings) -> None:
    """Per temperature and stride: FlashMD NpT runs as in ``md`` with the seeds
    ``extra_seeds`` (``flashmd-npt-s{stride}-seed{seed}.npz``), at
    ``seed_temperatures``."""
    for temperature in cfg.seed_temperatures:
        directory = work / f"T{temperature}"
        start = ase.io.read(directory / "start.extxyz")
        for stride in cfg.strides:
            model = flashmd_model(work, cfg, stride)
            run = (model, start, cfg.barostat, temperature, cfg.run_fs)
            for seed in cfg.extra_seeds:
                path = directory / f"flashmd-npt-s{stride}-seed{seed}.npz"
                saved_run(path, *run, seed, f"NpT at {stride} fs, seed {seed}")


def stage_ipi(work: Path, cfg: Settings) -> None:
    """Per temperature: FlashMD in i-PI, NVT and NpT (seed 7 + T/100), and NpT
    with ``ipi_extra_seeds`` at ``seed_temperatures``."""
    for temperature in TEMPERATURES:
        directory = work / f"T{temperature}"
        start = ase.io.read(directory / "start.extxyz")
        runs = [("nvt", None), ("npt", None)]
        if temperature in cfg.seed_temperatures:
            runs += [("npt", seed) for seed in cfg.ipi_extra_seeds]
        for stride in cfg.ipi_strides:
            model = flashmd_model(work, cfg, stride)
            for ensemble, seed in runs:
                name = f"ipi-{ensemble}-s{stride}" + (f"-seed{seed}" if seed else "")
                path = directory / f"{name}.npz"
                if path.exists() or not model.exists():
                    continue
                LOG.info(f"{temperature} K: i-PI {ensemble} at {stride} fs, {name}")
                record = run_ipi_case(
                    directory / name,
                    model,
                    start,
                    ensemble,
                    stride,
                    temperature,
                    cfg.barostat,
                    cfg.ipi_fs,
                    seed or 7 + temperature // 100,
                )
                record.save(path)


def stage_density(work: Path, cfg: Settings) -> None:
    """Per temperature (``seed_temperatures``) and stride: FlashMD Langevin NVT
    runs of ``density_fs`` (seeds ``density_seeds``) from ``start.extxyz`` at
    its own volume and scaled, with its momenta, to the reference's mean volume
    (``T{T}/density-{start,mean-volume}-s{stride}-seed{seed}.npz``): how the
    temperature a model holds depends on the density it is judged at."""
    for temperature in cfg.seed_temperatures:
        directory = work / f"T{temperature}"
        start = ase.io.read(directory / "start.extxyz")
        mean = ase.io.read(validation_start(work, cfg, temperature))
        scaled = start.copy()  # with its momenta
        scaled.set_cell(mean.cell, scale_atoms=True)
        for stride in cfg.strides:
            model = flashmd_model(work, cfg, stride)
            for label, atoms in (("start", start), ("mean-volume", scaled)):
                run = (model, atoms, None, temperature, cfg.density_fs)
                for seed in cfg.density_seeds:
                    path = directory / f"density-{label}-s{stride}-seed{seed}.npz"
                    what = f"NVT at the {label} volume, {stride} fs, seed {seed}"
                    saved_run(path, *run, seed, what)


def stage_validate(work: Path, cfg: Settings) -> None:
    """Per temperature and stride: ``validate`` of the model in NVT at that
    temperature at the reference's mean volume (:func:`validation_start`; EMT
    reference, seed 0): the temperature the model holds, its RDFs, VACF and
    virial pressure (``T{T}/validate-s{stride}/summary.json``)."""
    from metatrain_flashmd.validation import validate

    for temperature in TEMPERATURES:
        directory = work / f"T{temperature}"
        for stride in cfg.strides:
            report = directory / f"validate-s{stride}"
            model = flashmd_model(work, cfg, stride)
            if (report / "summary.json").exists() or not model.exists():
                continue
            LOG.info(f"{temperature} K: validate at {stride} fs")
            validate(
                str(model),
                str(validation_start(work, cfg, temperature)),
                temperature,
                "emt",
                time_ps=cfg.validation_ps,
                report_dir=report,
                seed=0,
                quiet=True,
            )


def stage_timing(work: Path, cfg: Settings) -> None:
    """Per temperature and stride: the wall time of a FlashMD NVT stride, an NpT
    stride and an EMT stress call after a cell change, measured alternately
    (:func:`npt_dynamics.time_strides`), in ``timing.json``."""
    path = work / "timing.json"
    result = json.loads(path.read_text()) if path.exists() else {}
    for temperature in TEMPERATURES:
        start = ase.io.read(work / f"T{temperature}" / "start.extxyz")
        for stride in cfg.strides:
            key = f"T{temperature}-s{stride}"
            model = flashmd_model(work, cfg, stride)
            if key in result or not model.exists():
                continue
            result[key] = dyn.time_strides(model, start, cfg.barostat, temperature)
            path.write_text(json.dumps(result, indent=1))


def parse_arguments(argv: List[str] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke test")
    parser.add_argument("--workdir", type=Path, default=HERE / "work" / "npt")
    parser.add_argument(
        "--stages",
        default=",".join(STAGES),
        help=f"comma-separated, from {', '.join(STAGES)}",
    )
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument(
        "--refine-temperature-tolerance",
        type=float,
        default=Settings.refine_temperature_tolerance,
        help="refine's temperature tolerance (default: 0.01); another value "
        "works in full-refined-tolX/",
    )
    parser.add_argument(
        "--strides", default=None, help="comma-separated strides (default: 16,32)"
    )
    parser.add_argument(
        "--refine",
        type=int,
        default=0,
        metavar="N",
        help="refine each trained model at both temperatures (N rounds each) and "
        "run the refined ones, in full-refined/ (or quick-refined/), reusing the "
        "references and trained models of full/ (quick/)",
    )
    return parser.parse_args(argv)


def main(argv: List[str] = None) -> None:
    args = parse_arguments(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = str(args.threads)  # for mtt train subprocesses too
    import torch

    torch.set_num_threads(args.threads)
    cfg = dataclasses.replace(
        settings(args.quick),
        refine_rounds=args.refine,
        refine_temperature_tolerance=args.refine_temperature_tolerance,
    )
    if args.strides:
        cfg.strides = [int(stride) for stride in args.strides.split(",")]
    name = "quick" if args.quick else "full"
    work = args.workdir / (refined_name(name, cfg) if args.refine else name)
    work.mkdir(parents=True, exist_ok=True)
    if args.refine:
        link_trained(work, args.workdir / name, cfg)
    (work / "settings.json").write_text(json.dumps(dataclasses.asdict(cfg), indent=1))
    stages = {
        "reference": stage_reference,
        "pairs": stage_pairs,
        "train": stage_train,
        "refine": stage_refine,
        "md": stage_md,
        "seeds": stage_seeds,
        "ipi": stage_ipi,
        "validate": stage_validate,
        "density": stage_density,
        "timing": stage_timing,
        "report": lambda w, c: npt_report.write_report(w, c, TEMPERATURES),
    }
    for name in args.stages.split(","):
        if name not in stages:
            raise SystemExit(f"unknown stage '{name}', choose from {STAGES}")
        begin = time.perf_counter()
        stages[name](work, cfg)
        LOG.info(f"stage {name}: {time.perf_counter() - begin:.0f} s")


if __name__ == "__main__":
    main()
