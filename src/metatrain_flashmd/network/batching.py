"""Concatenate a list of metatomic systems into flat tensors for one forward pass."""

from typing import List, NamedTuple, Tuple

import torch
from metatomic.torch import NeighborListOptions, System
from metatrain.pet.modules.structures import compute_batch_tensors


class AtomBatch(NamedTuple):
    """All atoms of several systems, concatenated.

    ``n`` atoms, ``s`` systems and ``e`` neighbour pairs in total.
    """

    positions: torch.Tensor
    """(n, 3) positions, A."""
    types: torch.Tensor
    """(n,) atomic numbers."""
    momenta: torch.Tensor
    """(n, 3) momenta, (eV*u)^(1/2)."""
    cells: torch.Tensor
    """(s, 3, 3) cell vectors as rows, A (zero rows for non-periodic directions)."""
    system_indices: torch.Tensor
    """(n,) index of the system of each atom."""
    atom_indices: torch.Tensor
    """(n,) index of each atom within its system."""
    centers: torch.Tensor
    """(e,) global index of the first atom of each pair."""
    neighbors: torch.Tensor
    """(e,) global index of the second atom of each pair."""
    cell_shifts: torch.Tensor
    """(e, 3) integer cell shifts of each pair."""


def read_momenta(system: System, system_index: int) -> torch.Tensor:
    """(n, 3) momenta attached to ``system``, with a clear error if there are none."""
    # names are spelled out: TorchScript cannot read string constants of _names
    if "momentum" not in system.known_data():
        raise ValueError(
            "system "
            + str(system_index)
            + " has no 'momentum' data: FlashMD needs the momenta of all atoms as "
            "input (in ASE, set them with atoms.set_momenta or atoms.set_velocities)"
        )
    values = system.get_data("momentum").block().values
    if values.shape[0] != len(system):
        raise ValueError(
            "system "
            + str(system_index)
            + " has "
            + str(values.shape[0])
            + " momenta for "
            + str(len(system))
            + " atoms"
        )
    return values.reshape(-1, 3)


def read_masses(system: System) -> torch.Tensor:
    """(n,) masses attached to ``system``; empty if the engine gave none."""
    if "mass" not in system.known_data():
        return torch.empty(0, dtype=system.positions.dtype, device=system.device)
    return system.get_data("mass").block().values.reshape(-1)


def check_masses(systems: List[System], masses: torch.Tensor) -> None:
    """Refuse systems whose ``mass`` data differ from ``masses`` (u, indexed by
    atomic number): the dynamics a model learned holds for its training masses only.
    Systems without mass data are accepted."""
    for index, system in enumerate(systems):
        given = read_masses(system)
        if given.shape[0] == 0:
            continue
        expected = masses[system.types].to(given.dtype)
        mismatch = torch.logical_not(
            torch.isclose(given, expected, rtol=1e-5, atol=0.0)
        )
        if bool(mismatch.any()):
            atom = int(torch.nonzero(mismatch)[0, 0])
            raise ValueError(
                "atom "
                + str(atom)
                + " of system "
                + str(index)
                + " (atomic number "
                + str(int(system.types[atom]))
                + ") has mass "
                + str(float(given[atom]))
                + " u, but this FlashMD model was trained with mass "
                + str(float(expected[atom]))
                + " u for this element: the learned dynamics is only valid "
                "for the training masses"
            )


def concatenate_systems(
    systems: List[System], options: NeighborListOptions
) -> AtomBatch:
    """Concatenate ``systems`` and their neighbour lists computed with ``options``."""
    device = systems[0].positions.device
    sizes: List[int] = []
    pair_counts: List[int] = []
    pairs: List[torch.Tensor] = []
    momenta: List[torch.Tensor] = []
    for index, system in enumerate(systems):
        neighbor_list = system.get_neighbor_list(options).samples.values
        pairs.append(neighbor_list)
        sizes.append(len(system))
        pair_counts.append(neighbor_list.shape[0])
        momenta.append(read_momenta(system, index))

    sizes_tensor = torch.tensor(sizes, device=device)
    offsets = torch.cumsum(sizes_tensor, dim=0) - sizes_tensor
    num_atoms = int(sum(sizes))
    system_indices = torch.repeat_interleave(
        torch.arange(len(systems), device=device), sizes_tensor, output_size=num_atoms
    )
    atom_indices = torch.arange(num_atoms, device=device) - offsets[system_indices]

    all_pairs = torch.cat(pairs)
    pair_offsets = torch.repeat_interleave(
        offsets,
        torch.tensor(pair_counts, device=device),
        output_size=all_pairs.shape[0],
    )
    return AtomBatch(
        positions=torch.cat([system.positions for system in systems]),
        types=torch.cat([system.types for system in systems]),
        momenta=torch.cat(momenta),
        cells=torch.stack([system.cell for system in systems]),
        system_indices=system_indices,
        atom_indices=atom_indices,
        centers=all_pairs[:, 0] + pair_offsets,
        neighbors=all_pairs[:, 1] + pair_offsets,
        cell_shifts=all_pairs[:, 2:],
    )


def padded_neighborhoods(
    batch: AtomBatch,
    species_to_species_index: torch.Tensor,
    cutoff: float,
    cutoff_width: float,
) -> Tuple[
    torch.Tensor,
    torch.Tensor,
    torch.Tensor,
    torch.Tensor,
    torch.Tensor,
    torch.Tensor,
    torch.Tensor,
]:
    """PET's padded node-edge tensors of ``batch`` (cosine cutoff function, no
    neighbour-count limit): species index of each atom (n,), species index of each
    neighbour (n, k), edge vectors (n, k, 3, A), distances (n, k, A), padding mask
    (n, k), index of the reversed edge of each flattened slot (n, k) and cutoff
    factors (n, k)."""
    tensors = compute_batch_tensors(
        batch.positions,
        batch.centers,
        batch.neighbors,
        batch.types,
        batch.cells,
        batch.cell_shifts,
        batch.system_indices,
        species_to_species_index,
        cutoff,
        "cosine",
        cutoff_width,
        None,
        "solver",
        1.0,
        True,
    )
    return (
        tensors[0],
        tensors[1],
        tensors[2],
        tensors[3],
        tensors[4],
        tensors[5],
        tensors[6],
    )
