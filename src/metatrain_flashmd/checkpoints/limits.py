"""The ``training_limits`` buffer of a model that recorded nothing: what checkpoint
updates from formats without the records and built-in conversions give (the guard
of :mod:`metatrain_flashmd.ase.guard` then runs with a note, unguarded)."""

from typing import Any, Dict

import torch

from .._names import TRAINING_LIMITS


def no_training_limits(state_dict: Dict[str, Any], num_species: int) -> Any:
    """A ``training_limits`` buffer recording nothing (NaN), of the floating-point
    type of ``state_dict``, for a model of ``num_species`` elements."""
    return torch.full(
        (num_species, len(TRAINING_LIMITS)),
        float("nan"),
        dtype=state_dict["timestep"].dtype,
    )
