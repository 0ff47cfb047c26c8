"""
From reference MD to a FlashMD simulation
=========================================

This tutorial goes through the whole FlashMD workflow on fcc aluminium, small enough
to run on a laptop CPU in a few minutes:

1. a reference molecular-dynamics trajectory with ASE's EMT potential;
2. training pairs 16 fs apart, with ``mtt-flashmd pairs``;
3. a FlashMD model trained with ``mtt train`` and exported with ``mtt export``;
4. a FlashMD simulation with ``mtt-flashmd md``: one model evaluation per 16 fs;
5. the model judged by ``mtt-flashmd validate``: FlashMD and EMT under the same
   Langevin thermostat at 300 K, from the same start, compared check by check.

Steps 2 to 4 are the commands you would type in a terminal; here they are run from
Python with :mod:`subprocess`, and their output is shown below each one. The same
pipeline as a shell script is ``examples/quickstart/run.sh`` in the repository.

.. note::

    So that the documentation builds in minutes, the model here is small (one
    message-passing layer, narrow features) and trained for a few epochs on a few
    hundred pairs. It shows the workflow, not what FlashMD can do, and the
    validation at the end shows where it falls short: a real model is trained on
    more data, with the default hyperparameters (see :doc:`/guide`).
    The number of epochs is not fixed (the default ``num_epochs``, 1000, is an
    upper bound): what decides is the validation position error against the
    no-motion baseline, and whether your observables still change when you train
    longer (see "How many epochs?" in the :doc:`/faq`).
"""

# %%
# Setup
# -----
#
# Every file is written to a working directory, ``flashmd-tutorial``, where the
# commands run.

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import ase.build
import ase.io
import ase.units
import matplotlib.pyplot as plt
import numpy as np
from ase.calculators.emt import EMT
from ase.md.langevin import Langevin
from ase.md.velocitydistribution import Stationary, thermalize_momenta
from ase.md.verlet import VelocityVerlet

from metatrain_flashmd.ase import Bussi
from metatrain_flashmd.validation import validate


workdir = Path("flashmd-tutorial").resolve()
shutil.rmtree(workdir, ignore_errors=True)
workdir.mkdir()

# the commands of this environment (mtt, mtt-flashmd) come first on the PATH
bin_dir = str(Path(sys.executable).parent)
os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")


PROGRESS_LINE = re.compile(r"^\w+s \d+/\d+ \(\d+%\): ")
"""The progress lines ``mtt-flashmd`` writes when its output is not a terminal."""


def is_noise(line: str) -> bool:
    """Progress reports, and warnings of the dependencies (deprecations, hints);
    not the warnings and notes of ``mtt-flashmd`` about the data."""
    if "%|" in line or PROGRESS_LINE.match(line):
        return True
    if line.startswith(("warning: ", "note: ")):
        return False
    return "warn" in line.lower() or not line.strip()


def run(command: str, show_last: int = 12, select: str = "") -> None:
    """Run a shell command in ``workdir``, showing it and the last lines of its
    output (those containing ``select``)."""
    print(f"$ {command}")
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    result = subprocess.run(
        shlex.split(command),
        cwd=workdir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines = [line.rstrip() for line in result.stdout.replace("\r", "\n").split("\n")]
    lines = [line for line in lines if select in line and not is_noise(line)]
    if len(lines) > show_last:
        print(f"[... {len(lines) - show_last} lines]")
    print("\n".join(lines[-show_last:]))
    if result.returncode != 0:
        print(result.stdout)
        raise RuntimeError(f"'{command}' failed with exit status {result.returncode}")


# %%
# Reference molecular dynamics
# ----------------------------
#
# FlashMD learns from trajectories of a reference method, here ASE's EMT potential
# for aluminium: 32 atoms in a periodic cell, momenta drawn at 600 K (half of the
# kinetic energy flows into the potential energy of the crystal), then 0.4 ps of
# Langevin dynamics at 300 K to equilibrate, so that the data sit at the
# temperature the model will be used at. The trajectory itself is velocity
# Verlet with a 2 fs timestep, without a thermostat: the model learns the
# deterministic dynamics, and the thermostat is added when it runs. Every frame is
# kept, with its momenta (the ``momenta`` array of extended XYZ) and its time (the
# ``time_fs`` info key, which ``mtt-flashmd pairs`` reads to know the time between
# frames).

atoms = ase.build.bulk("Al", "fcc", a=4.05, cubic=True).repeat(2)
atoms.calc = EMT()
rng = np.random.default_rng(0)
thermalize_momenta(atoms, temperature_K=600, rng=rng)
Stationary(atoms)
equilibration = Langevin(
    atoms,
    timestep=2.0 * ase.units.fs,
    temperature_K=300,
    friction=0.01 / ase.units.fs,
    fixcm=False,
    rng=rng,
)
equilibration.run(200)  # 0.4 ps

dynamics = VelocityVerlet(atoms, timestep=2.0 * ase.units.fs)

frames = []


def record() -> None:
    frame = atoms.copy()
    frame.calc = None
    frame.set_momenta(atoms.get_momenta())
    frame.info["time_fs"] = dynamics.get_time() / ase.units.fs
    frames.append(frame)


dynamics.attach(record, interval=1)
dynamics.run(1300)
ase.io.write(workdir / "al-md.extxyz", frames)

reference_temperature = np.array([frame.get_temperature() for frame in frames])
print(
    f"{len(frames)} frames of {len(atoms)} atoms, 2 fs apart; "
    f"mean temperature {reference_temperature.mean():.0f} K"
)

# %%
# What should the network predict?
# --------------------------------
#
# Over a stride :math:`\Delta t`, the momentum of an atom changes by
# :math:`p(t + \Delta t) - p(t)`, whose variance is :math:`2 (1 - C(\Delta t))`
# times that of the momentum itself, with :math:`C` the normalised velocity
# autocorrelation function. When :math:`C(\Delta t) > 1/2`, the change is the
# smaller, easier target, and the model should predict it
# (``predict_momenta_as_difference``; see :ref:`guide-difference`). In a crystal of
# heavy atoms, the momenta decorrelate slowly:

velocities = np.array([frame.get_velocities() for frame in frames])


def velocity_autocorrelation(lag: int) -> float:
    """C(lag frames), averaged over atoms and time origins."""
    products = np.sum(velocities[:-lag] * velocities[lag:], axis=2)
    return float(products.mean() / np.sum(velocities**2, axis=2).mean())


for lag in (4, 8, 16, 32):
    print(f"C({2 * lag:2d} fs) = {velocity_autocorrelation(lag):.2f}")

# %%
# With a stride of 16 fs, :math:`C` is well above one half: this model predicts
# momentum changes. At 64 fs it would predict the momenta themselves.
#
# Training pairs
# --------------
#
# A training pair is a frame at time :math:`t` together with the positions and
# momenta ``--lag`` frames later: here 8 frames of 2 fs, so a stride of 16 fs.
# ``--spacing`` is the number of frames between the starts of two pairs;
# neighbouring frames are strongly correlated, so a spacing of a few frames loses
# little information. Each pair is written once, forward in time: ``mtt train``
# reverses pairs in time at random on the fly, which doubles the data at no cost.
# Each trajectory is split in time: the first 80% of the frames for training, then
# 10% for validation and 10% for testing, so that no pair straddles two sets.
# ``--options`` also writes the ``options.yaml`` for ``mtt train``, with the stride
# and the masses found in the trajectory.

run(
    "mtt-flashmd pairs al-md.extxyz --lag 8 --spacing 4"
    " -o pairs.xyz --options options.yaml"
)

# %%
# The options file is an ordinary metatrain options file (shortened here):

options = (workdir / "options.yaml").read_text()
print(options[: options.index("validation_set:")] + "[...]")

# %%
# Training and export
# -------------------
#
# ``mtt train`` trains the ``experimental.flashmd`` architecture on these options.
# The ``-r`` overrides make the model small and the training short, for this
# tutorial only; leave them out for a real model (``final_eval=false`` skips the
# evaluation of the final model on every set, which takes longer than this training).
# The last one sets ``predict_momenta_as_difference``, as chosen above; in a real
# project, put it in the ``architecture.model`` section of ``options.yaml``.
# ``seed=0`` makes the run reproducible. Training writes ``model.ckpt`` (to restart
# or fine-tune) and ``model.pt`` (exported); the log below shows the errors on the
# training and validation sets after each epoch.

run(
    "mtt train options.yaml -o model.pt"
    " -r architecture.model.d_pet=32 -r architecture.model.d_head=32"
    " -r architecture.model.d_node=64 -r architecture.model.d_feedforward=64"
    " -r architecture.model.num_heads=4 -r architecture.model.num_gnn_layers=1"
    " -r architecture.training.num_epochs=5 -r architecture.training.batch_size=8"
    " -r architecture.training.learning_rate=3e-3 -r final_eval=false"
    " -r architecture.model.predict_momenta_as_difference=true -r seed=0",
    select="Epoch",
)

# %%
# A checkpoint can be exported again at any time, for instance one written during
# training; the exported model holds the stride and the masses, which engines read
# from it (see :doc:`/units`).

run("mtt export model.ckpt -o flashmd-al.pt", show_last=2)

# %%
# FlashMD simulation
# ------------------
#
# ``mtt-flashmd md`` runs the exported model with ASE: every step is one forward
# pass that moves all atoms by 16 fs, between two half-steps of a Langevin
# thermostat at 300 K. It starts from the last reference frame (positions and
# momenta) and writes the trajectory and a CSV log of the temperature.

ase.io.write(workdir / "start.extxyz", frames[-1])
run(
    "mtt-flashmd md flashmd-al.pt start.extxyz --steps 150 --thermostat langevin"
    " --temperature 300 --time-constant 100 --seed 1"
    " -o flashmd-md.extxyz --log flashmd-md.csv",
    show_last=2,
)

# %%
# Given several structure files, or ``--replicas`` and a file of several frames,
# the same command runs independent replicas together, one model call per stride
# for all, each with its own numbered trajectory and log (see
# :ref:`replicas-cli`); not run here.
#
# The same simulation from Python uses the ASE integrators of
# :mod:`metatrain_flashmd.ase` (here 10 steps, with Bussi's thermostat instead):

start = ase.io.read(workdir / "start.extxyz")
integrator = Bussi(
    start,
    workdir / "flashmd-al.pt",
    temperature_K=300,
    time_constant=100 * ase.units.fs,
    rng=np.random.default_rng(2),
)
integrator.run(10)
print(
    f"{integrator.nsteps} strides of {integrator.model_timestep_fs:g} fs, "
    f"temperature now {start.get_temperature():.0f} K"
)

# %%
# Is the model right? Validation against EMT
# ------------------------------------------
#
# A low validation loss does not say whether a long simulation keeps the right
# temperature, structure and dynamics. :func:`metatrain_flashmd.validation.validate`
# (the library behind ``mtt-flashmd validate``, see :doc:`/validate`) answers that:
# it runs FlashMD and reference MD (here EMT with 1 fs steps) from the same start,
# under the same Langevin thermostat at 300 K with the same 100 fs time constant,
# for the same time, and judges the mean temperature, its spread, the RDF and the
# velocity autocorrelation against the reference's own statistical noise. Like is
# compared with like: the same ensemble and the same target. The command line
# equivalent is
# ``mtt-flashmd validate flashmd-al.pt start.extxyz --temperature 300
# --reference emt --time-ps 3 --report-dir validation``.

result = validate(
    workdir / "flashmd-al.pt",
    workdir / "start.extxyz",
    300.0,
    "emt",
    time_ps=3.0,
    report_dir=Path("flashmd-tutorial", "validation"),
    seed=0,
)

# %%
# The validation also writes ``report.md``, ``summary.json`` and these plots to
# ``flashmd-tutorial/validation``: the temperature of both runs against time, the
# RDFs and the velocity autocorrelation functions, reference in black.

for name in ("temperature.png", "rdf.png", "vacf.png"):
    image = plt.imread(workdir / "validation" / name)
    height, width = image.shape[:2]
    # at the 80 dots per inch the plots are written with
    figure = plt.figure(figsize=(width / 80, height / 80))
    axis = figure.add_axes((0.0, 0.0, 1.0, 1.0))
    axis.imshow(image)
    axis.set_axis_off()
plt.show()

# %%
# What the verdict says
# ---------------------
#
# Every check passes when the FlashMD run is within the tolerance of the reference
# *or* within its statistical noise; a failed check is a difference larger than
# the reference's own noise, not a lack of statistics. The mean temperature of
# the FlashMD run is the first thing to look at:

nvt_temperature = next(
    check for check in result.checks if check.quantity == "temperature_mean"
)
failed = ", ".join(check.name for check in result.failures)
print(
    f"FlashMD at {nvt_temperature.value:.1f} K under a 300 K thermostat "
    f"({100 * (nvt_temperature.value / 300 - 1):+.1f}%); "
    + ("every check passed" if result.passed else f"failed: {failed}")
)

# %%
# This is the verdict on a model trained for seconds on about 260 pairs; expect
# some checks to fail, typically the velocity autocorrelation and the RDF, which
# ask more of a model than the mean temperature does. Training the same model
# longer on about the same few pairs is not the cure: with 10 epochs instead of 5
# (or 8 on 50% more frames), its validation errors halve but it runs 20% hot
# under the thermostat (we tried), a reminder that a lower validation loss is not
# a better simulation. What it
# takes is more data and more training: the quick start in the repository
# (``examples/quickstart/run.sh``, ``tox -e example``) trains the same model on
# 1200 pairs from 6 ps of reference MD for 10 epochs (a minute or two on a CPU
# core) and passes every check of the same validation, 8 ps long. For a real
# application, validate at the temperatures and for the times you will simulate;
# the :doc:`/guide` lists what else to check, and what FlashMD does not guarantee
# (equipartition between elements, energy conservation without a thermostat or
# rescaling).
