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
MOMENTUM_UNIT = "(eV*u)^(1/2)"
MASS_UNIT = "u"
TIME_UNIT = "fs"

# -- keys of the pair files written by ``mtt-flashmd pairs`` --------------------------
FUTURE_POSITIONS_KEY = "future_positions"
"""Array key: positions at t + timestep, (n_atoms, 3), A, unwrapped against t."""
FUTURE_MOMENTA_KEY = "future_momenta"
"""Array key: momenta at t + timestep, (n_atoms, 3), (eV*u)^(1/2)."""
TIMESTEP_INFO_KEY = "flashmd_timestep"
"""Info key: the time between the two frames of a pair, in fs."""


def last_layer_features_name(target: str) -> str:
    """Name of the output holding the last-layer features of ``target``."""
    return "mtt::aux::" + target + "_last_layer_features"
