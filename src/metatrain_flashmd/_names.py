"""Names and unit strings shared by the model, trainer, pair builder and integrators.

Defined once here so that every part of the package spells them the same way.
"""

# -- inputs the model requests from the engine (metatomic's standard names) --------
MOMENTUM = "momentum"
"""Per-atom momenta at time t, shape (n_atoms, 3), unit :data:`MOMENTUM_UNIT`."""
MASS = "mass"
"""Per-atom masses, shape (n_atoms, 1), unit :data:`MASS_UNIT`."""

# -- outputs (and training targets) -------------------------------------------------
POSITION = "position"
"""Per-atom absolute positions at t + timestep, shape (n_atoms, 3), unit A."""
FEATURE = "feature"
"""Per-atom internal features of the backbone."""
TARGET_NAMES = (POSITION, MOMENTUM)
"""The two targets a FlashMD model learns."""

# -- units ---------------------------------------------------------------------------
LENGTH_UNIT = "angstrom"
"""Unit of lengths: positions, cells, model outputs (metatomic's spelling)."""
POSITION_TARGET_UNIT = "A"
"""Unit of the ``position`` target in ``mtt train`` options, the same angstrom as
:data:`LENGTH_UNIT`. metatrain compares target units as strings (when restarting
or fine-tuning), so this spelling, used by every options file written so far, is
kept."""
MOMENTUM_UNIT = "(eV*u)^(1/2)"
"""Unit of momenta: square root of eV times u (ASE's momentum unit)."""
MASS_UNIT = "u"
"""Unit of masses: unified atomic mass unit (dalton)."""
TIME_UNIT = "fs"
"""Unit of strides and times in options, files and logs: femtoseconds."""

# -- the architecture, as ``mtt train`` options name it -----------------------------
ARCHITECTURE_NAME = "experimental.flashmd"
"""Name of the architecture in the ``architecture.name`` option."""

# -- keys of the pair files written by ``mtt-flashmd pairs`` --------------------------
FUTURE_POSITIONS_KEY = "future_positions"
"""Array key: positions at t + timestep, (n_atoms, 3), A, unwrapped against t."""
FUTURE_MOMENTA_KEY = "future_momenta"
"""Array key: momenta at t + timestep, (n_atoms, 3), (eV*u)^(1/2)."""
TIMESTEP_INFO_KEY = "flashmd_timestep"
"""Info key: the time between the two frames of a pair, in fs."""
SOURCE_INFO_KEY = "flashmd_source"
"""Info key: the trajectory file a pair comes from."""
FRAME_INFO_KEY = "flashmd_frame"
"""Info key: index in its file of the frame a pair starts from (time t)."""
FUTURE_FRAME_INFO_KEY = "flashmd_future_frame"
"""Info key: index in its file of the frame a pair ends at (time t + timestep)."""
REVERSED_INFO_KEY = "flashmd_time_reversed"
"""Info key: whether the pair is the time-reversed twin of another."""
PAIR_ARRAY_KEYS = (FUTURE_POSITIONS_KEY, FUTURE_MOMENTA_KEY)
"""Array keys that only describe a pair (its later frame)."""
PAIR_INFO_KEYS = (
    TIMESTEP_INFO_KEY,
    SOURCE_INFO_KEY,
    FRAME_INFO_KEY,
    FUTURE_FRAME_INFO_KEY,
    REVERSED_INFO_KEY,
)
"""Info keys that only describe a pair (where and when it was taken)."""

# -- keys of trajectory frames ------------------------------------------------------
FRAME_TIME_INFO_KEY = "time_fs"
"""Info key: the time of a frame, in fs; written by ``mtt-flashmd md`` and read by
``mtt-flashmd pairs`` to find the time between frames."""


# -- what a model saw in training (the ``training_limits`` buffer) ------------------
TRAINING_LIMITS = (
    "min_distance",
    "max_displacement",
    "max_momentum",
    "min_temperature",
    "max_temperature",
)
"""Columns of the per-element ``training_limits`` buffer of a FlashMD model, in
order: over the training set, the smallest distance from an atom of the element to
any other atom (A), the largest displacement in one stride (A), the largest
momentum ((eV*u)^(1/2)), and the lowest and highest kinetic temperature of the
element in one structure (K). NaN where nothing was recorded (models trained
before the records existed)."""
TRAINING_LIMIT_UNITS = ("A", "A", MOMENTUM_UNIT, "K", "K")
"""Unit of each of :data:`TRAINING_LIMITS`."""


# -- choices of ``mtt-flashmd md`` and :func:`~metatrain_flashmd.ase.run_md` ---------
THERMOSTATS = ("none", "langevin", "bussi")
"""Thermostats by name: none (NVE), Langevin, Bussi (stochastic velocity
rescaling)."""
ENERGY_CALCULATORS = ("emt",)
"""ASE calculators that can give the potential energy, by name."""


def last_layer_features_name(target: str) -> str:
    """Name of the output holding the last-layer features of ``target``."""
    return "mtt::aux::" + target + "_last_layer_features"
