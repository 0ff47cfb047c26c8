"""FlashMD fidelity benchmark: EMT reference MD -> pairs -> training -> FlashMD MD ->
comparison (RDF, per-element temperatures, VACF, diffusion, energy drift, speed).

End to end on CPU::

    python benchmarks/fidelity/run_fidelity.py                  # everything
    python benchmarks/fidelity/run_fidelity.py --quick          # smoke test, minutes
    python benchmarks/fidelity/run_fidelity.py --only al300,cuau600 --stages reference
    python benchmarks/fidelity/run_fidelity.py --refine-with product  # no hand settings

Every stage skips outputs that already exist, so an interrupted run resumes where it
stopped. Generated data go to ``full/`` or ``quick/`` in ``--workdir`` (default
``benchmarks/fidelity/work``, ignored by git), with the settings they were made
with (``settings.json``); the plots and ``RESULTS.md`` (the generated tables of
figures and verdicts) are written next to this script, or to ``work/quick/report``
with ``--quick``, or to ``--report-dir``. ``report.py`` rewrites them from a run
directory alone.

Stages, in order: ``reference`` (EMT MD), ``pairs`` (``mtt-flashmd pairs``),
``train`` (``mtt train``), ``refine`` (more training for the systems that need it:
the hand-set warm restarts of ``Settings.refine``, or with ``--refine-with
product`` the package's ``refine`` for every system and stride, in ``full-refine/``
or ``quick-refine/``; see ``product_refine.py``),
``md`` (FlashMD MD), ``timing`` (cost per step of FlashMD, a same-size PET MLIP and
EMT) and ``report`` (analysis, plots, ``RESULTS.md``). The systems that start
from another system's model (``System.warm_start``) go through every stage after
the others.
"""

import argparse
import dataclasses
import json
import logging
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

import ase.io

from metatrain_flashmd.cli.stopping import sigterm_unwinds


HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]  # these scripts and the shared ones

import cases  # noqa: E402
import systems  # noqa: E402


STAGES = ("reference", "pairs", "train", "refine", "md", "timing", "report")
LOG = logging.getLogger("fidelity")


@dataclasses.dataclass
class Settings:
    """Sizes of the benchmark; :func:`settings` gives the full and quick ones."""

    equilibration_fs: float
    """Langevin equilibration before each EMT or FlashMD run, fs."""
    train_fs: float
    """Length of the EMT NVE trajectory the training pairs come from, fs."""
    train_frame_fs: int
    """Frame interval of the training trajectory, fs (divides every stride)."""
    pair_spacing_fs: int
    """Time between the starts of consecutive training pairs, fs."""
    run_fs: float
    """Length of the reference EMT NVE run and of each FlashMD run, fs."""
    reference_frame_fs: int
    """Frame interval of the reference run, fs."""
    model: Dict[str, Any]
    """FlashMD model hyperparameters (changes to the defaults); the PET MLIP of the
    speed comparison gets the same widths."""
    training: Dict[str, Any]
    """FlashMD trainer hyperparameters (changes to the defaults)."""
    time_constant_fs: float = 100.0
    """Langevin time constant of the FlashMD NVT runs, fs (acts on every atom)."""
    timing_calls: int = 30
    """Timed calls per cost measurement."""
    strides: Optional[List[int]] = None
    """Only these strides (fs); all of each system's when ``None``."""
    strong_thermostat_fs: Dict[str, float] = dataclasses.field(default_factory=dict)
    """Per system: time constant (fs) of an extra NVT run with a stronger Langevin
    thermostat (``nvt_strong``), for systems whose per-element temperatures miss
    with ``time_constant_fs``."""
    refine: Dict[str, Any] = dataclasses.field(default_factory=dict)
    """Per system: trainer hypers of more training runs for systems the first run
    leaves under-trained, each a warm restart (all parameters fine-tuned from the
    previous run's checkpoint with a new warm-up and cosine schedule); one dict, a
    list of dicts for successive restarts, or a dict from stride (fs) to either.
    For systems with a ``warm_start``, the first entry holds the hypers of their
    (warm-started) training run, and the others are restarts after it."""
    bussi_fs: Dict[str, float] = dataclasses.field(default_factory=dict)
    """Per system: time constant (fs) of an extra NVT run with the Bussi thermostat
    (``nvt_bussi``), whose diffusion is compared with the NVE reference's."""
    reference_nvt: List[str] = dataclasses.field(default_factory=list)
    """Systems that also get an EMT Langevin reference run with the FlashMD NVT
    runs' bath (``time_constant_fs``), to compare their diffusion: a friction on
    every atom slows diffusion, in the reference as in FlashMD."""
    extra_train_fs: float = 4000.0
    """Length of each extra training trajectory (``System.extra_starts``), fs."""
    equipartition_fs: Dict[str, float] = dataclasses.field(default_factory=dict)
    """Per system: time constant (fs) of the kinetic energy exchange between
    elements of an extra NVE run with energy rescaling (``nve_equipartition``)."""
    refine_with: str = "campaign"
    """``campaign``: the warm restarts of ``refine``; ``product``: the package's
    ``refine`` (``product_refine.py``), the same rules for every system."""
    refine_rounds: int = 4
    """``--refine-with product``: the round budget of each refine."""
    refine_time_ps: float = 10.0
    """``--refine-with product``: length of the NVT refine's validations, ps."""
    refine_nve_time_ps: Optional[float] = None
    """``--refine-with product``: length of the NVE refine's validations, ps;
    ``None``: refine's own choice (10 ps, 40 ps with several elements: in 10 ps
    the reference's own elements of 108-atom Cu3Au are several % apart)."""


MEDIUM_MODEL = {
    "d_pet": 64,
    "d_head": 64,
    "d_node": 128,
    "d_feedforward": 128,
    "num_heads": 4,
    "num_gnn_layers": 2,
    "cutoff": 4.5,
}
"""Model widths on this CPU (the defaults are d_pet 128, d_node 512, 3 layers)."""
MLIP_WIDTHS = (
    "d_pet",
    "d_head",
    "d_node",
    "d_feedforward",
    "num_heads",
    "num_gnn_layers",
    "cutoff",
)


AL_REFINE = {
    16: [{"num_epochs": 3, "learning_rate": 3e-4}],
    32: [{"num_epochs": 3, "learning_rate": 3e-4}],
    64: [
        {"num_epochs": 3, "learning_rate": 3e-4},
        {"num_epochs": 5, "learning_rate": 2e-4},
    ],
}
"""Warm restarts of the crystalline Al models, per stride (fs): the 64 fs map is
the hardest to learn and gets a second one."""


QUICK_MODEL = {
    "d_pet": 16,
    "d_head": 16,
    "d_node": 32,
    "d_feedforward": 32,
    "num_heads": 2,
    "num_gnn_layers": 1,
    "cutoff": 4.5,
}
"""Model widths of the smoke test (``--quick``)."""


def settings(quick: bool) -> Settings:
    """The full benchmark, or (``quick``) a smoke test with tiny data and model."""
    return quick_settings() if quick else full_settings()


def full_settings() -> Settings:
    """The benchmark of the README: 12 ps of training data and 20.48 ps runs per
    system, :data:`MEDIUM_MODEL`, and the warm restarts each system needed."""
    return Settings(
        equilibration_fs=2000.0,
        train_fs=12000.0,
        train_frame_fs=2,
        pair_spacing_fs=10,
        run_fs=20480.0,
        reference_frame_fs=4,
        model=dict(MEDIUM_MODEL),
        training={
            "num_epochs": 2,
            "batch_size": 4,
            "learning_rate": 7e-4,
            "warmup_fraction": 0.03,
            "time_reversal": True,
            "random_rotations": True,
        },
        refine={
            "cuau600": {"num_epochs": 4, "learning_rate": 3e-4},
            "al300": AL_REFINE,
            "al600": AL_REFINE,
            "alliq": [
                {"num_epochs": 3, "learning_rate": 3e-4},
                {"num_epochs": 5, "learning_rate": 2e-4},
            ],
            "cuau600wide": {
                16: [{"num_epochs": 3, "learning_rate": 3e-4}],
                32: [
                    {"num_epochs": 3, "learning_rate": 3e-4},
                    {"num_epochs": 3, "learning_rate": 2e-4},
                ],
            },
        },
        strong_thermostat_fs={"cuau600": 25.0},
        equipartition_fs={"cuau600": 1000.0, "cuau600wide": 1000.0},
        reference_nvt=["alliq"],
        bussi_fs={"alliq": 100.0},
    )


def quick_settings() -> Settings:
    """The smoke test: every stage and run kind of :func:`full_settings` on
    600 fs of training data, 640 fs runs, :data:`QUICK_MODEL` and one epoch."""
    return Settings(
        equilibration_fs=200.0,
        train_fs=600.0,
        train_frame_fs=4,
        pair_spacing_fs=20,
        run_fs=640.0,
        reference_frame_fs=4,
        model=dict(QUICK_MODEL),
        training={"num_epochs": 1, "batch_size": 4, "learning_rate": 1e-3},
        timing_calls=3,
        refine_rounds=1,
        refine_time_ps=1.6,  # refine validates 45 strides or more
        refine_nve_time_ps=1.6,
        strides=[16, 32],  # 600 fs of data leave no 64 fs validation pair
        refine={
            "cuau600": {"num_epochs": 1, "learning_rate": 3e-4},
            "cuau600wide": {"num_epochs": 1, "learning_rate": 3e-4},
        },
        strong_thermostat_fs={"cuau600": 25.0},
        extra_train_fs=200.0,
        equipartition_fs={"cuau600": 1000.0, "cuau600wide": 1000.0},
        reference_nvt=["alliq"],
        bussi_fs={"alliq": 100.0},
    )


def model_hypers(cfg: Settings, stride_fs: int) -> Dict[str, Any]:
    """Model hypers for one stride: momenta are predicted as the change over the
    stride up to 32 fs (still correlated with the input momenta in these metals),
    directly beyond."""
    return {**cfg.model, "predict_momenta_as_difference": stride_fs <= 32}


# ---------------------------------------------------------------------------------
#  stage: reference EMT MD
# ---------------------------------------------------------------------------------


def stage_reference(system: cases.System, work: Path, cfg: Settings) -> None:
    """Two independent Langevin equilibrations (seeds 1 and 2): the first starts the
    EMT NVE trajectory for training (``train-md.extxyz``), the second is the fresh
    start (``start.extxyz``) of the reference NVE run (``reference-nve.npz``) and of
    every FlashMD run. A system with a ``warm_start`` copies these from that system
    (same seeds, same data) and adds its extra training trajectories."""
    if system.warm_start is not None:
        copy_reference(work.parent / system.warm_start, work)
    train = work / "train-md.extxyz"
    if not train.exists():
        LOG.info(f"{system.name}: EMT training trajectory, {cfg.train_fs:g} fs")
        atoms = cases.equilibrated_start(system, cfg.equilibration_fs, seed=1)
        result = systems.emt_nve(atoms, cfg.train_fs, cfg.train_frame_fs, train)
        record_wall(work, "reference_train_md", result.wall_s)
    start = work / "start.extxyz"
    if not start.exists():
        atoms = cases.equilibrated_start(system, cfg.equilibration_fs, seed=2)
        ase.io.write(start.with_name("start.partial.extxyz"), atoms)
        os.replace(start.with_name("start.partial.extxyz"), start)
    reference = work / "reference-nve.npz"
    if not reference.exists():
        LOG.info(f"{system.name}: EMT reference NVE run, {cfg.run_fs:g} fs")
        atoms = ase.io.read(start)
        result = systems.emt_nve(atoms, cfg.run_fs, cfg.reference_frame_fs)
        systems.save_trajectory(reference, result)
        record_wall(work, "reference_nve", result.wall_s)
    reference_nvt = work / "reference-nvt.npz"
    if system.name in cfg.reference_nvt and not reference_nvt.exists():
        LOG.info(f"{system.name}: EMT reference Langevin run, {cfg.run_fs:g} fs")
        atoms = ase.io.read(start)
        result = systems.emt_nvt(
            atoms,
            cfg.run_fs,
            cfg.reference_frame_fs,
            system.temperature,
            cfg.time_constant_fs,
            seed=3,
        )
        systems.save_trajectory(reference_nvt, result)
        record_wall(work, "reference_nvt", result.wall_s)
    for index, temperatures in enumerate(system.extra_starts):
        extra = work / f"train-extra{index}.extxyz"
        if extra.exists():
            continue
        LOG.info(f"{system.name}: extra EMT training trajectory from {temperatures}")
        atoms = cases.equilibrated_start(system, cfg.equilibration_fs, seed=10 + index)
        atoms = cases.with_element_temperatures(atoms, temperatures)
        result = systems.emt_nve(atoms, cfg.extra_train_fs, cfg.train_frame_fs, extra)
        record_wall(work, f"reference_extra{index}", result.wall_s)


def copy_reference(source: Path, work: Path) -> None:
    """Copy the reference outputs of the system in ``source`` to ``work`` (those
    that exist there and not yet here)."""
    for name in ("train-md.extxyz", "start.extxyz", "reference-nve.npz"):
        if (source / name).exists() and not (work / name).exists():
            temporary = work / f"{name}.partial"
            shutil.copyfile(source / name, temporary)
            os.replace(temporary, work / name)


def record_wall(work: Path, key: str, seconds: float) -> None:
    """Add a wall time (s) to ``walltimes.json`` in ``work``."""
    path = work / "walltimes.json"
    data = json.loads(path.read_text()) if path.exists() else {}
    data[key] = round(float(seconds), 1)
    path.write_text(json.dumps(data, indent=1, sort_keys=True))


# ---------------------------------------------------------------------------------
#  stages: training pairs and training
# ---------------------------------------------------------------------------------


def stride_directory(work: Path, stride_fs: int) -> Path:
    """Where the pairs, options and model of one stride live."""
    path = work / f"stride{stride_fs}"
    path.mkdir(exist_ok=True)
    return path


def run_command(command: List[str], cwd: Path, log: Path) -> float:
    """Run ``command`` in ``cwd`` with its output in ``log``; the wall time (s).

    :raises RuntimeError: if the command fails (the log's tail is shown).
    """
    LOG.info(f"$ {' '.join(command)}   (in {cwd})")
    begin = time.perf_counter()
    with open(log, "w") as file:
        result = subprocess.run(command, cwd=cwd, stdout=file, stderr=subprocess.STDOUT)
    if result.returncode != 0:
        tail = "\n".join(log.read_text().splitlines()[-20:])
        raise RuntimeError(f"{command[0]} failed (see {log}):\n{tail}")
    return time.perf_counter() - begin


def stage_pairs(system: cases.System, work: Path, cfg: Settings) -> None:
    """``mtt-flashmd pairs`` for each stride: pairs of training-trajectory frames
    one stride apart, starting every ``pair_spacing_fs``; 10% of the trajectory (at
    its end) for validation, no test set (the MD comparison is the test). Time
    reversal is left to the trainer (random per pair and epoch)."""
    for stride in selected_strides(system, cfg):
        directory = stride_directory(work, stride)
        if (directory / "options.yaml").exists():
            continue
        trajectories = [work / "train-md.extxyz"]
        trajectories += sorted(work.glob("train-extra*.extxyz"))
        command = [
            "mtt-flashmd",
            "pairs",
            *[str(path) for path in trajectories],
            "--lag",
            str(stride // cfg.train_frame_fs),
            "--frame-interval",
            str(cfg.train_frame_fs),
            "--spacing",
            str(cfg.pair_spacing_fs // cfg.train_frame_fs),
            "--validation",
            "0.1",
            "--test",
            "0",
            "-o",
            "pairs.xyz",
            "--options",
            "options.partial.yaml",
            "-q",
        ]
        run_command(command, directory, directory / "pairs.log")
        os.replace(directory / "options.partial.yaml", directory / "options.yaml")


def training_overrides(cfg: Settings, stride_fs: int) -> List[str]:
    """``-r key=value`` options of ``mtt train`` for the model and trainer hypers
    (no final evaluation: the MD comparison is the test)."""
    overrides = ["-r", "seed=0", "-r", "final_eval=false"]
    for key, value in model_hypers(cfg, stride_fs).items():
        overrides += ["-r", f"architecture.model.{key}={value}"]
    training = {"num_workers": 0, "log_interval": 1, **cfg.training}
    for key, value in training.items():
        overrides += ["-r", f"architecture.training.{key}={value}"]
    return overrides


def stage_train(system: cases.System, work: Path, cfg: Settings) -> None:
    """``mtt train`` for each stride (``model.pt``, exported), from scratch, or for
    a system with a ``warm_start`` a fine-tuning of all parameters of that system's
    final checkpoint with the hypers in ``cfg.refine``."""
    for stride in selected_strides(system, cfg):
        directory = stride_directory(work, stride)
        if (directory / "model.pt").exists():
            continue
        checkpoint = directory / "model.partial.ckpt"
        if not checkpoint.exists():
            command = ["mtt", "train", "options.yaml", "-o", "model.partial.pt"]
            command += training_overrides(cfg, stride)
            if system.warm_start is not None:
                command += warm_start_overrides(system, work, cfg, stride)
            try:
                seconds = run_command(command, directory, directory / "train.log")
            except RuntimeError:
                if not checkpoint.exists():
                    raise
                LOG.warning(f"{directory}: training ended without export")
                seconds = float("nan")
            record_wall(work, f"train_stride{stride}", seconds)
        if not (directory / "model.partial.pt").exists():
            command = ["mtt", "export", checkpoint.name, "-o", "model.partial.pt"]
            run_command(command, directory, directory / "export.log")
        os.replace(directory / "model.partial.pt", directory / "model.pt")


def warm_start_overrides(
    system: cases.System, work: Path, cfg: Settings, stride_fs: int
) -> List[str]:
    """``mtt train`` options fine-tuning all parameters of the final checkpoint of
    ``system.warm_start`` at the same stride, with the hypers in ``cfg.refine``."""
    source = work.parent / system.warm_start / f"stride{stride_fs}"
    stages = refine_stages(cfg, system.warm_start, stride_fs)
    checkpoint = source / refined_checkpoint(len(stages))
    if not checkpoint.exists():
        raise RuntimeError(
            f"{system.name} starts from {system.warm_start}'s model at {stride_fs} "
            f"fs: train that first (no checkpoint in {source})"
        )
    overrides = ["-r", "architecture.training.finetune.method=full"]
    overrides += ["-r", f"architecture.training.finetune.read_from={checkpoint}"]
    hypers = refine_stages(cfg, system.name, stride_fs)
    for key, value in (hypers[0] if hypers else {}).items():
        overrides += ["-r", f"architecture.training.{key}={value}"]
    return overrides


def refine_stages(cfg: Settings, name: str, stride_fs: int) -> List[Dict[str, Any]]:
    """The trainer hypers of each warm restart of system ``name`` at ``stride_fs``
    (none: [])."""
    stages = cfg.refine.get(name, [])
    if isinstance(stages, dict) and stages and all(isinstance(k, int) for k in stages):
        stages = stages.get(stride_fs, [])
    return [stages] if isinstance(stages, dict) else list(stages)


def restart_suffix(stage: int) -> str:
    """What tells the files of warm restart ``stage`` (1, 2, ...) apart: "" for the
    first (the names from before restarts were chained), the number after it."""
    return "" if stage == 1 else str(stage)


def refined_checkpoint(stage: int) -> str:
    """Checkpoint written by warm restart ``stage`` (1, 2, ...); 0 is the first
    training run's."""
    if stage == 0:
        return "model.partial.ckpt"
    return f"model-refined{restart_suffix(stage)}.partial.ckpt"


def stage_refine(system: cases.System, work: Path, cfg: Settings) -> None:
    """The hand-set warm restarts (:func:`campaign_refine`), or with
    ``--refine-with product`` the package's ``refine`` (``product_refine.py``)."""
    if cfg.refine_with == "campaign":
        campaign_refine(system, work, cfg)
        return
    import product_refine

    for stride in selected_strides(system, cfg):
        directory = stride_directory(work, stride)
        if (directory / "model.pt").exists():
            options = refine_options(cfg, directory, stride)
            product_refine.refine_stride(system, work, directory, options, cfg)


def refine_options(cfg: Settings, directory: Path, stride_fs: int) -> Dict[str, Any]:
    """The complete ``mtt train`` options of a stride's first training (its
    ``options.yaml`` with what :func:`training_overrides` sets)."""
    import yaml

    options = yaml.safe_load((directory / "options.yaml").read_text())
    options.update(seed=0, final_eval=False)
    architecture = options.setdefault("architecture", {})
    architecture.setdefault("model", {}).update(model_hypers(cfg, stride_fs))
    training = architecture.setdefault("training", {})
    training.update({"num_workers": 0, "log_interval": 1, **cfg.training})
    return options


def campaign_refine(system: cases.System, work: Path, cfg: Settings) -> None:
    """For the systems in ``cfg.refine``: fine-tune every parameter of each
    trained stride's model from its checkpoint (``mtt train`` with
    ``finetune.read_from``), once per listed restart, and make the result
    ``model.pt``. The first model and any FlashMD runs made with it move to
    ``first-model/``; when restarts are added to a stride already refined
    (``refined.done`` holds their number), the previous ones' go to
    ``restart<n>-model/``."""
    for stride in selected_strides(system, cfg):
        stages = refine_stages(cfg, system.name, stride)
        if system.warm_start is not None:
            stages = stages[1:]  # the first is the warm-started training itself
        directory = stride_directory(work, stride)
        done = directory / "refined.done"
        applied = 0
        if done.exists():
            applied = int(done.read_text().strip() or 1)
        if applied >= len(stages) or not (directory / "model.pt").exists():
            continue
        for number, hypers in enumerate(stages, start=1):
            checkpoint = directory / refined_checkpoint(number)
            if checkpoint.exists():
                continue
            command = ["mtt", "train", "options.yaml", "-o", checkpoint.stem + ".pt"]
            command += training_overrides(cfg, stride)
            command += ["-r", "architecture.training.finetune.method=full"]
            previous = refined_checkpoint(number - 1)
            command += ["-r", f"architecture.training.finetune.read_from={previous}"]
            for key, value in hypers.items():
                command += ["-r", f"architecture.training.{key}={value}"]
            suffix = restart_suffix(number)
            try:
                seconds = run_command(
                    command, directory, directory / f"refine{suffix}.log"
                )
            except RuntimeError:
                if not checkpoint.exists():
                    raise
                seconds = float("nan")
            record_wall(work, f"refine{suffix}_stride{stride}", seconds)
        final = directory / refined_checkpoint(len(stages))
        exported = directory / (final.stem + ".pt")
        if not exported.exists():
            command = ["mtt", "export", final.name, "-o", exported.name]
            run_command(command, directory, directory / "export.log")
        archive = directory / (
            "first-model" if applied == 0 else f"restart{applied}-model"
        )
        archive.mkdir(exist_ok=True)
        for path in [directory / "model.pt", *directory.glob("flashmd-*.npz")]:
            os.replace(path, archive / path.name)
        os.replace(exported, directory / "model.pt")
        lock = directory / "md.lock"
        if lock.is_dir():
            lock.rmdir()
        done.write_text(f"{len(stages)}\n")


def selected_strides(system: cases.System, cfg: Settings) -> List[int]:
    """The system's strides (fs), less those excluded by ``--strides``."""
    if cfg.strides is None:
        return list(system.strides_fs)
    return [stride for stride in system.strides_fs if stride in cfg.strides]


# ---------------------------------------------------------------------------------
#  stages: FlashMD MD and timings
# ---------------------------------------------------------------------------------


def stage_md(system: cases.System, work: Path, cfg: Settings) -> None:
    """The three FlashMD runs (NVT, NVE, NVE with energy rescaling) of each trained
    stride, from ``start.extxyz``, as long as the reference run."""
    import flashmd_runs

    # the run kinds that only run for the systems given their own time constant
    optional = {
        "nvt_strong": cfg.strong_thermostat_fs,
        "nvt_bussi": cfg.bussi_fs,
        "nve_equipartition": cfg.equipartition_fs,
    }
    for stride in selected_strides(system, cfg):
        model = flashmd_runs.model_path(work, stride)
        if model is None:
            LOG.info(f"{system.name}: no model for {stride} fs yet, skipping its MD")
            continue
        for kind in flashmd_runs.RUN_KINDS:
            output = work / f"stride{stride}" / f"flashmd-{kind}.npz"
            time_constant = cfg.time_constant_fs
            if kind in optional:
                if system.name not in optional[kind]:
                    continue
                time_constant = optional[kind][system.name]
            if output.exists():
                continue
            LOG.info(f"{system.name}: FlashMD {kind}, {stride} fs strides")
            result = flashmd_runs.run_flashmd(
                kind,
                model,
                work / "start.extxyz",
                cfg.run_fs,
                system.temperature,
                time_constant,
            )
            if result.note:
                LOG.warning(f"{system.name} {stride} fs {kind}: {result.note}")
            systems.save_trajectory(output, result)
            record_wall(work, f"flashmd_{kind}_stride{stride}", result.wall_s)


def stage_timing(system: cases.System, work: Path, cfg: Settings) -> None:
    """Cost of one step on this machine (``timing.json``), timed in interleaved
    rounds: each trained FlashMD stride, one EMT force call, and one energy +
    forces call (and one energy-only call) of an untrained PET MLIP with the FlashMD
    model's widths (``pet-mlip.pt``), all on ``start.extxyz``. Re-timed whenever a
    newly trained stride is missing from it."""
    import flashmd_runs
    import timing

    path = work / "timing.json"
    data = json.loads(path.read_text()) if path.exists() else {}
    models = {
        f"flashmd_stride{stride}": flashmd_runs.model_path(work, stride)
        for stride in selected_strides(system, cfg)
    }
    models = {key: model for key, model in models.items() if model is not None}
    if not models or all(key in data for key in models):
        return
    atoms = ase.io.read(work / "start.extxyz")
    mlip = work / "pet-mlip.pt"
    widths = {key: cfg.model[key] for key in MLIP_WIDTHS}
    parameters = timing.build_pet_mlip(widths, sorted(set(atoms.numbers)), mlip)
    calls = {
        "emt": timing.emt_call(atoms),
        "mlip": timing.mlip_call(mlip, atoms),
        "mlip_energy_only": timing.mlip_call(mlip, atoms, forces=False),
    }
    for key, model in models.items():
        calls[key] = timing.flashmd_call(model, atoms)
    LOG.info(f"{system.name}: timing {', '.join(calls)}")
    data = timing.time_interleaved(calls, 2, cfg.timing_calls)
    data["mlip_parameters"] = parameters
    data["mlip_hypers"] = widths
    data["threads"] = int(os.environ.get("OMP_NUM_THREADS", "0"))
    data["load_average"] = list(os.getloadavg())
    path.write_text(json.dumps(data, indent=1, sort_keys=True))


def stage_report(
    names: List[str], workdir: Path, directory: Path, cfg: Settings
) -> None:
    """Analyse every system that has a reference run, draw its plots and write
    ``RESULTS.md`` in ``directory`` (and ``results.json`` in ``workdir``); see
    ``report.py``, which does the same from a run directory alone."""
    import report

    path = report.write_report(names, workdir, directory, settings_text(cfg))
    LOG.info(f"wrote {path}")


def settings_text(cfg: Settings) -> str:
    """``cfg`` as one line of JSON (also kept in the run directory, for
    ``report.py``)."""
    return json.dumps(dataclasses.asdict(cfg))


# ---------------------------------------------------------------------------------
#  driver
# ---------------------------------------------------------------------------------


STAGE_FUNCTIONS = {
    "reference": stage_reference,
    "pairs": stage_pairs,
    "train": stage_train,
    "refine": stage_refine,
    "md": stage_md,
    "timing": stage_timing,
}


def parse_arguments(argv: List[str] = None) -> argparse.Namespace:
    """Command-line options (see the module docstring)."""
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="smoke test, minutes")
    parser.add_argument(
        "--only", default=",".join(cases.SYSTEMS), help="systems, comma-separated"
    )
    parser.add_argument(
        "--strides", default=None, help="only these strides (fs), e.g. 16,32"
    )
    parser.add_argument(
        "--stages", default=",".join(STAGES), help="stages, comma-separated"
    )
    parser.add_argument("--workdir", type=Path, default=HERE / "work")
    parser.add_argument("--report-dir", type=Path, default=None)
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument(
        "--refine-with",
        choices=("campaign", "product"),
        default="campaign",
        help="the refine stage: the hand-set warm restarts (campaign) or "
        "mtt-flashmd refine for every system (product; work in full-refine/)",
    )
    return parser.parse_args(argv)


def run_stages(
    names: List[str], stages: List[str], workdir: Path, cfg: Settings
) -> None:
    """Run ``stages`` (all but ``report``, in pipeline order) for the systems
    ``names``: first every stage for the systems trained from scratch, then for
    those that start from another system's final model (``System.warm_start``)."""
    independent = [name for name in names if cases.SYSTEMS[name].warm_start is None]
    dependent = [name for name in names if name not in independent]
    for group in (independent, dependent):
        for stage in STAGE_FUNCTIONS:
            if stage not in stages or not group:
                continue
            begin = time.perf_counter()
            for name in group:
                work = workdir / name
                work.mkdir(parents=True, exist_ok=True)
                STAGE_FUNCTIONS[stage](cases.SYSTEMS[name], work, cfg)
            LOG.info(f"stage {stage} done in {time.perf_counter() - begin:.0f} s")


def main(argv: List[str] = None) -> None:
    """Run the selected stages for the selected systems."""
    args = parse_arguments(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S"
    )
    cfg = settings(args.quick)
    cfg.refine_with = args.refine_with
    if args.strides:
        cfg.strides = [int(stride) for stride in args.strides.split(",")]
    workdir = args.workdir.resolve() / work_name(args.quick, cfg.refine_with)
    names = selected_systems(args.only, cfg.refine_with)
    stages = [stage for stage in args.stages.split(",") if stage]
    for name in names + stages:
        if name not in cases.SYSTEMS and name not in STAGES:
            raise SystemExit(f"unknown system or stage '{name}'")
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[name] = str(args.threads)  # for mtt train subprocesses too
    import torch

    torch.set_num_threads(args.threads)
    if any(stage != "report" for stage in stages):
        workdir.mkdir(parents=True, exist_ok=True)
        (workdir / "settings.json").write_text(settings_text(cfg) + "\n")
    with sigterm_unwinds():  # kill PID stops a refine's mtt train child too
        run_stages(names, stages, workdir, cfg)
    if "report" in stages:
        default = HERE if workdir.name == "full" else workdir / "report"
        stage_report(names, workdir, args.report_dir or default, cfg)


def work_name(quick: bool, refine_with: str) -> str:
    """The run directory's name: ``full`` or ``quick``, ``-refine`` added with
    ``--refine-with product`` (its models differ from the campaign's)."""
    name = "quick" if quick else "full"
    return name if refine_with == "campaign" else f"{name}-refine"


def selected_systems(only: str, refine_with: str) -> List[str]:
    """The systems of ``--only``; with ``--refine-with product`` those that
    start from another system's model are left out of the default list and
    refused by name: their widened data are what ``refine`` collects itself."""
    names = [name for name in only.split(",") if name]
    if refine_with == "campaign":
        return names
    derived = [
        name
        for name in names
        if cases.SYSTEMS.get(name, None) is not None
        and cases.SYSTEMS[name].warm_start is not None
    ]
    if derived and only != ",".join(cases.SYSTEMS):
        raise SystemExit(
            f"--refine-with product: {', '.join(derived)} start(s) from another "
            "system's model; refine collects such data itself"
        )
    return [name for name in names if name not in derived]


if __name__ == "__main__":
    main()
