"""``mtt-flashmd md``: molecular dynamics with an exported FlashMD model.

A thin parser over :func:`metatrain_flashmd.ase.run.run_md` for one structure,
and over :func:`metatrain_flashmd.replicas.run_replicas` for several (see
:mod:`metatrain_flashmd.cli.md_replicas`).
"""

import argparse
from typing import Any

from .._names import ENERGY_CALCULATORS, MOMENTUM_UNIT, THERMOSTATS
from .md_replicas import add_replica_arguments, run_replicas_command, usage_error
from .summary import run_simulation


DESCRIPTION = """\
Run molecular dynamics with an exported FlashMD model: each step is one model
stride (the model's timestep), without forces. Initial momenta come from the
structure file, or from the Maxwell-Boltzmann distribution at --temperature. With
an energy model or calculator, the potential and total energies are logged and, in
NVE (--thermostat none), the momenta are rescaled to conserve the total energy.

Several structure files, or --replicas, run many independent replicas together,
with one model call per stride for all: each writes its own trajectory and log,
numbered from -o and --log (out-0.extxyz, out-1.extxyz, ...).
"""


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``md`` subcommand.

    :param subparsers: the subparsers of the ``mtt-flashmd`` parser.
    :return: the new parser, whose ``func`` default runs the command.
    """
    parser = subparsers.add_parser(
        "md",
        help="run molecular dynamics with an exported FlashMD model",
        description=DESCRIPTION,
    )
    parser.add_argument("model", help="exported FlashMD model (.pt)")
    parser.add_argument(
        "structure",
        nargs="+",
        help="starting structure (any ASE format; its last frame is used); with "
        "several files, the last frame of each is a replica, and all run together "
        "(see --replicas)",
    )
    parser.add_argument(
        "--format",
        default=None,
        help="ASE format of the structure file (default: guessed from its name)",
    )
    parser.add_argument(
        "--steps", type=int, required=True, help="number of strides to run"
    )
    parser.add_argument(
        "--timestep",
        type=float,
        default=None,
        metavar="FS",
        help="only a check: the model fixes the stride (each step is the model's "
        "timestep, in fs); a different value is refused",
    )
    add_thermostat_arguments(parser)
    add_energy_arguments(parser)
    add_pressure_arguments(parser)
    add_stride_arguments(parser)
    add_output_arguments(parser)
    add_replica_arguments(parser)
    parser.set_defaults(func=run)
    return parser


def add_thermostat_arguments(parser: argparse.ArgumentParser) -> None:
    """Options on the temperature, the thermostat and the exchange between
    elements."""
    parser.add_argument(
        "--temperature",
        type=float,
        default=None,
        help="temperature in K: of the thermostat, and of the initial momenta when "
        "the structure has none",
    )
    parser.add_argument(
        "--thermostat",
        choices=THERMOSTATS,
        default="none",
        help="none (NVE), langevin or bussi (stochastic velocity rescaling) "
        "(default: none)",
    )
    parser.add_argument(
        "--time-constant",
        type=float,
        default=100.0,
        help="thermostat time constant in fs (default: 100)",
    )
    parser.add_argument(
        "--equipartition-time",
        type=float,
        default=None,
        help="NVE only: time constant in fs of a kinetic energy exchange between "
        "elements that keeps them at one temperature (total energy unchanged); "
        "use 1000-10000 with several elements (default: none)",
    )


def add_energy_arguments(parser: argparse.ArgumentParser) -> None:
    """Where the potential energy comes from (one of two, or none)."""
    energy = parser.add_mutually_exclusive_group()
    energy.add_argument(
        "--energy-model",
        default=None,
        help="metatomic model (.pt) giving the potential energy in eV",
    )
    energy.add_argument(
        "--energy-calculator",
        choices=ENERGY_CALCULATORS,
        default=None,
        help="ASE calculator giving the potential energy in eV",
    )


def add_pressure_arguments(parser: argparse.ArgumentParser) -> None:
    """Constant pressure (NpT): the pressure, the barostat and the cell."""
    group = parser.add_argument_group(
        "constant pressure",
        "stochastic cell rescaling around each stride; needs --thermostat langevin "
        "or bussi, --temperature and an energy model or calculator with stress",
    )
    group.add_argument(
        "--pressure",
        type=float,
        default=None,
        metavar="GPA",
        help="external pressure in GPa: switches constant pressure (NpT) on; the "
        "log gains volume, cell lengths, pressure and barostat energy columns",
    )
    group.add_argument(
        "--barostat-time",
        type=float,
        default=1000.0,
        metavar="FS",
        help="relaxation time of the volume in fs (default: 1000)",
    )
    group.add_argument(
        "--compressibility",
        type=float,
        default=0.01,
        metavar="PER_GPA",
        help="estimate of the isothermal compressibility in 1/GPa (default: 0.01, "
        "a bulk modulus of 100 GPa; about 0.45 for liquid water)",
    )
    group.add_argument(
        "--cell",
        choices=("isotropic", "anisotropic", "flexible"),
        default="isotropic",
        help="cell fluctuations: isotropic (one scale), anisotropic (the x, y and z "
        "axes scaled independently; orthorhombic cells), flexible (refused: shear "
        "is not implemented) (default: isotropic)",
    )


def add_stride_arguments(parser: argparse.ArgumentParser) -> None:
    """Options on how each stride is run: rotations, random seed, device."""
    parser.add_argument(
        "--random-rotation",
        action="store_true",
        help="rotate the system randomly before each stride and back after",
    )
    parser.add_argument("--seed", type=int, default=None, help="random seed")
    parser.add_argument(
        "--device", default=None, help="torch device: cpu or cuda (default: pick)"
    )


def add_output_arguments(parser: argparse.ArgumentParser) -> None:
    """The trajectory and log files, and how often they are written."""
    parser.add_argument(
        "-o",
        "--output",
        required=True,
        help=f"trajectory with momenta in {MOMENTUM_UNIT} (.extxyz, .xyz or .traj)",
    )
    parser.add_argument(
        "--log",
        default=None,
        help="CSV log: time (ps), temperatures (K), energies (eV)",
    )
    parser.add_argument(
        "--interval",
        type=int,
        default=1,
        help="write a frame and a log row every this many strides (default: 1)",
    )


def run(args: argparse.Namespace) -> int:
    """Run ``mtt-flashmd md`` from parsed arguments; the exit status."""
    from metatrain_flashmd.ase.run import run_md

    replicas = len(args.structure) > 1 or args.replicas
    if args.atom_budget is not None and not replicas:
        return usage_error(
            "--atom-budget is for several replicas (several structure files, or "
            "--replicas); a single structure runs in calls of its own size"
        )
    model = args.model
    if args.timestep is not None:
        model = model_with_stride(args.model, args.timestep)
    if replicas:
        return run_replicas_command(args, model)
    return run_simulation(
        "md",
        lambda: run_md(
            model,
            args.structure[0],
            args.steps,
            args.output,
            temperature_K=args.temperature,
            thermostat=args.thermostat,
            time_constant_fs=args.time_constant,
            equipartition_time_fs=args.equipartition_time,
            energy_model=args.energy_model,
            energy_calculator=args.energy_calculator,
            random_rotation=args.random_rotation,
            seed=args.seed,
            device=args.device,
            log=args.log,
            interval=args.interval,
            progress=True,
            structure_format=args.format,
            pressure_GPa=args.pressure,
            barostat_time_fs=args.barostat_time,
            compressibility_per_GPa=args.compressibility,
            cell=args.cell,
        ),
    )


def model_with_stride(path: str, timestep_fs: float) -> Any:
    """The exported model at ``path``, loaded, if its stride is ``timestep_fs``.

    :param path: the exported model.
    :param timestep_fs: the stride the user expects, fs.
    :raises ValueError: if the model's stride is another.
    """
    import math

    from metatrain_flashmd.ase.base import load_model, model_timestep_fs

    model, _ = load_model(path)
    stride = model_timestep_fs(model)
    if not math.isclose(stride, timestep_fs, rel_tol=1e-6):
        raise ValueError(
            f"--timestep {timestep_fs:g}: the model fixes the stride, and {path} "
            f"predicts strides of {stride:g} fs (set when it was trained); leave "
            "--timestep out, or train a model on pairs of frames that far apart "
            "(mtt-flashmd pairs --lag)"
        )
    return model
