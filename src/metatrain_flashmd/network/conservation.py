"""Exact conservation of total momentum and ballistic centre-of-mass motion.

Both corrections are the least-squares projections in mass-scaled coordinates
(``p/sqrt(m)`` and ``sqrt(m) dr``), i.e. the smallest change of the network output,
measured the way the network is trained, that satisfies the constraint.
"""

import torch


def per_system_sum(
    values: torch.Tensor, system_indices: torch.Tensor, num_systems: int
) -> torch.Tensor:
    """Sum per-atom ``values`` (n, ...) over the atoms of each system -> (s, ...)."""
    shape = [num_systems] + list(values.shape[1:])
    totals = torch.zeros(shape, dtype=values.dtype, device=values.device)
    return totals.index_add_(0, system_indices, values)


def conserve_momentum(
    predicted: torch.Tensor,
    momenta: torch.Tensor,
    masses: torch.Tensor,
    system_indices: torch.Tensor,
    num_systems: int,
) -> torch.Tensor:
    """Correct ``predicted`` momenta (n, 3) so that each system's total equals that of
    the input ``momenta`` (n, 3): every atom gets ``m_i * dP / M``, a common velocity
    shift. ``masses`` (n,) in u, momenta in (eV*u)^(1/2)."""
    excess = per_system_sum(momenta - predicted, system_indices, num_systems)
    total_mass = per_system_sum(masses, system_indices, num_systems)
    velocity_shift = excess / total_mass[:, None]
    return predicted + masses[:, None] * velocity_shift[system_indices]


def conserve_center_of_mass(
    displacements: torch.Tensor,
    momenta: torch.Tensor,
    masses: torch.Tensor,
    system_indices: torch.Tensor,
    num_systems: int,
    timestep: torch.Tensor,
) -> torch.Tensor:
    """Shift ``displacements`` (n, 3) rigidly so that the centre of mass of each system
    moves by ``P * timestep / M``, with ``P`` the total input momentum.

    ``timestep`` is in ASE time units (sqrt(u*A^2/eV)), momenta in (eV*u)^(1/2),
    masses in u, displacements in A.
    """
    weighted = per_system_sum(
        masses[:, None] * displacements, system_indices, num_systems
    )
    total_momentum = per_system_sum(momenta, system_indices, num_systems)
    total_mass = per_system_sum(masses, system_indices, num_systems)
    shift = (total_momentum * timestep - weighted) / total_mass[:, None]
    return displacements + shift[system_indices]
