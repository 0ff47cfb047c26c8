"""
From reference MD to a FlashMD simulation
=========================================

This tutorial goes through the whole FlashMD workflow on fcc aluminium, small enough
to run on a laptop CPU in a few minutes:

1. a reference molecular-dynamics trajectory with ASE's EMT potential;
2. training pairs 16 fs apart, with ``mtt-flashmd pairs``;
3. a FlashMD model trained with ``mtt train`` and exported with ``mtt export``;
4. a FlashMD simulation with ``mtt-flashmd md``: one model evaluation per 16 fs;
5. its radial distribution function and temperature compared with the reference.

Steps 2 to 4 are the commands you would type in a terminal; here they are run from
Python with :mod:`subprocess`, and their output is shown below each one. The same
pipeline as a shell script is ``examples/quickstart/run.sh`` in the repository.

.. note::

    So that the documentation builds in minutes, the model here is small (one
    message-passing layer, narrow features) and trained for a few epochs on a few
    hundred pairs. It shows the workflow, not what FlashMD can do: a real model is
    trained on more data, with the default hyperparameters (see :doc:`/guide`).
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
from ase.md.velocitydistribution import Stationary, thermalize_momenta
from ase.md.verlet import VelocityVerlet

from metatrain_flashmd.ase import Bussi


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
# kinetic energy flows into the potential energy of the crystal, which then sits
# near 300 K), and velocity Verlet with a 2 fs timestep. The first 0.4 ps are
# discarded as equilibration; then every frame is kept, with its momenta (the
# ``momenta`` array of extended XYZ) and its time (the ``time_fs`` info key, which
# ``mtt-flashmd pairs`` reads to know the time between frames).

atoms = ase.build.bulk("Al", "fcc", a=4.05, cubic=True).repeat(2)
atoms.calc = EMT()
rng = np.random.default_rng(0)
thermalize_momenta(atoms, temperature_K=600, rng=rng)
Stationary(atoms)

dynamics = VelocityVerlet(atoms, timestep=2.0 * ase.units.fs)
dynamics.run(200)  # equilibration, 0.4 ps

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
# Comparison with the reference
# -----------------------------
#
# The radial distribution function :math:`g(r)` is computed from the
# minimum-image distances between all pairs of atoms, up to half the cell edge.
# The time series shows the kinetic temperature of both simulations.


def rdf(trajectory, r_max=4.0, bins=80):
    """g(r) averaged over the frames of a trajectory (cubic cell, minimum image)."""
    edges = np.linspace(0.0, r_max, bins + 1)
    counts = np.zeros(bins)
    for frame in trajectory:
        distances = frame.get_all_distances(mic=True)
        upper = distances[np.triu_indices(len(frame), k=1)]
        counts += np.histogram(upper, bins=edges)[0]
    n = len(trajectory[0])
    density = n / trajectory[0].get_volume()
    shells = 4.0 / 3.0 * np.pi * (edges[1:] ** 3 - edges[:-1] ** 3)
    g = 2.0 * counts / (len(trajectory) * n * density * shells)
    return 0.5 * (edges[1:] + edges[:-1]), g


flashmd_frames = ase.io.read(workdir / "flashmd-md.extxyz", index=":")
log = np.genfromtxt(workdir / "flashmd-md.csv", delimiter=",", names=True)

r, g_reference = rdf(frames[::8])
_, g_flashmd = rdf(flashmd_frames)

figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
left.plot(r, g_reference, label="reference (EMT, 2 fs steps)")
left.plot(r, g_flashmd, "--", label="FlashMD (16 fs steps)")
left.set_xlim(2.0, 4.0)
left.set_xlabel("r / Å")
left.set_ylabel("g(r)")
left.legend()

reference_time = np.array([frame.info["time_fs"] for frame in frames]) / 1000.0
right.plot(reference_time - reference_time[0], reference_temperature, label="reference")
right.plot(log["time_ps"], log["temperature_K"], label="FlashMD, Langevin 300 K")
right.axhline(300, color="gray", lw=0.8)
right.set_xlabel("time / ps")
right.set_ylabel("temperature / K")
right.legend()
plt.show()

# %%
# Even this small model, trained for a few minutes, keeps the crystal close to the
# reference structure at the right temperature, while each of its steps covers
# eight steps of the reference integrator. Differences in the height of the
# first-neighbour peak, or a temperature that stays a little above the
# thermostat's, are what a model this small and this briefly trained shows; they
# shrink with the default hyperparameters and longer training. For a real
# application, compare more than the radial distribution function: the
# :doc:`/guide` lists what to check, and what FlashMD does not guarantee
# (equipartition between elements, energy conservation without a thermostat or
# rescaling).
