"""A plain, slow and readable FlashMD forward pass, to test the optimised one against.

:func:`reference_forward` computes the FlashMD function with a
:class:`~metatrain_flashmd.model.FlashMD` model's parameters and buffers, the obvious
way: the whole batch at once through metatrain's
:meth:`CartesianTransformer.forward <metatrain.pet.modules.transformer.
CartesianTransformer.forward>` (not the model's folded, chunked layers), each module's
own forward (no folded normalisations, no buffers reused in place), the edge heads'
last layers applied to every edge before the cutoff-weighted sum over neighbours, and
the conservation laws written out per system. It reads the model's modules by the
names of its state dict only, never its ``forward`` or ``predict``.
"""

from typing import Dict, List, Tuple

import ase.units
import torch
from metatomic.torch import NeighborListOptions, System
from metatrain.pet.modules.structures import (
    compute_batch_tensors,
    concatenate_structures,
)
from metatrain.pet.modules.transformer import CartesianTransformer


NEIGHBORHOOD_NAMES = [
    "species",
    "neighbor_species",
    "edge_vectors",
    "edge_distances",
    "padding_mask",
    "reverse_neighbor_index",
    "cutoff_factors",
]
"""The first tensors of metatrain's ``compute_batch_tensors``, in order."""


def reference_forward(
    model: torch.nn.Module, systems: List[System]
) -> Dict[str, torch.Tensor]:
    """All outputs of ``model`` for ``systems`` (which carry ``momentum`` data and a
    full neighbour list at the model's cutoff), for ``n`` atoms in all:

    - ``position`` (n, 3): positions at t + timestep, A;
    - ``momentum`` (n, 3): momenta at t + timestep, (eV*u)^(1/2);
    - ``feature`` (n, F): node features and cutoff-weighted sums of edge features of
      each readout layer;
    - ``mtt::aux::<target>_last_layer_features`` (n, 2 * readout layers * d_head):
      the hidden features of the node head and the cutoff-weighted sum of those of
      the edge head, for each readout layer.
    """
    positions, types, system_indices, momenta, neighborhoods = batch_of(model, systems)
    species = model.species_to_species_index[types]
    scaled_momenta = momenta * model.momentum_input_scale[species, None]
    node_list, edge_list = message_passing(
        model, species, scaled_momenta, neighborhoods
    )
    cutoff_factors = neighborhoods["cutoff_factors"]
    features = []
    for nodes, edges in zip(node_list, edge_list):
        features.append(nodes)
        features.append(torch.einsum("ij,ijd->id", cutoff_factors, edges))
    outputs = {"feature": torch.cat(features, dim=1)}
    raw = {}
    for name in model.node_heads.keys():
        raw[name], last_layer_features = head(
            model, name, node_list, edge_list, cutoff_factors
        )
        outputs[f"mtt::aux::{name}_last_layer_features"] = last_layer_features

    hypers = model.hypers
    masses = model.masses[types]
    displacements = raw["position"] * model.position_output_scale[species, None]
    new_momenta = raw["momentum"] * model.momentum_output_scale[species, None]
    if hypers["predict_momenta_as_difference"]:
        new_momenta = new_momenta + momenta
    if hypers.get("conserve_momentum", True):
        new_momenta = conserve_momentum(new_momenta, momenta, masses, system_indices)
    if hypers.get("conserve_center_of_mass", True):
        timestep = model.timestep * ase.units.fs
        displacements = conserve_center_of_mass(
            displacements, momenta, masses, system_indices, timestep
        )
    outputs["position"] = positions + displacements
    outputs["momentum"] = new_momenta
    return outputs


def batch_of(
    model: torch.nn.Module, systems: List[System]
) -> Tuple[
    torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, Dict[str, torch.Tensor]
]:
    """Positions (n, 3, A), atomic numbers (n,), system indices (n,) and momenta
    (n, 3) of all atoms, and PET's padded neighbourhood tensors (cosine cutoff) by
    the names of :data:`NEIGHBORHOOD_NAMES`."""
    cutoff = float(model.hypers["cutoff"])
    options = NeighborListOptions(cutoff=cutoff, full_list=True, strict=True)
    # positions, centers, neighbours, types, cells, cell shifts, system indices
    concatenated = concatenate_structures(systems, options)[:7]
    tensors = compute_batch_tensors(
        *concatenated,
        model.species_to_species_index,
        cutoff,
        "cosine",
        float(model.hypers["cutoff_width"]),
    )
    neighborhoods = dict(zip(NEIGHBORHOOD_NAMES, tensors))
    momenta = torch.cat(
        [
            system.get_data("momentum").block().values.reshape(-1, 3)
            for system in systems
        ]
    )
    positions, types, system_indices = concatenated[0], concatenated[3], concatenated[6]
    return positions, types, system_indices, momenta, neighborhoods


def message_passing(
    model: torch.nn.Module,
    species: torch.Tensor,
    scaled_momenta: torch.Tensor,
    neighborhoods: Dict[str, torch.Tensor],
) -> Tuple[List[torch.Tensor], List[torch.Tensor]]:
    """Node features (n, d_node) and edge features (n, k, d_pet) of each readout
    layer. The feed-forward featurizer encodes the atoms once and mixes each message
    with its reverse between layers; the residual one re-encodes the atoms for every
    layer, reads every layer out, and averages messages with their reverses."""
    backbone = model.backbone
    feedforward = model.hypers["featurizer_type"] == "feedforward"
    messages = backbone.edge_embedder(neighborhoods["neighbor_species"])
    nodes = encode(backbone.node_encoders[0], species, scaled_momenta)
    node_list, edge_list = [], []
    for index, layer in enumerate(backbone.gnn_layers):
        if not feedforward:
            nodes = encode(backbone.node_encoders[index], species, scaled_momenta)
        nodes, new_messages = CartesianTransformer.forward(
            layer,
            nodes,
            messages,
            neighborhoods["neighbor_species"],
            neighborhoods["edge_vectors"],
            neighborhoods["padding_mask"],
            neighborhoods["edge_distances"],
            neighborhoods["cutoff_factors"],
            False,
        )
        reverse = reversed_messages(
            new_messages, neighborhoods["reverse_neighbor_index"]
        )
        if feedforward:
            norm = backbone.message_norms[index]
            mixer = backbone.message_mixers[index]
            both = torch.cat([new_messages, reverse], dim=-1)
            messages = messages + new_messages + mixer(norm(both))
        else:
            node_list.append(nodes)
            edge_list.append(new_messages)
            messages = 0.5 * (messages + reverse)
    if feedforward:
        return [nodes], [messages]
    return node_list, edge_list


def head(
    model: torch.nn.Module,
    name: str,
    node_list: List[torch.Tensor],
    edge_list: List[torch.Tensor],
    cutoff_factors: torch.Tensor,
) -> Tuple[torch.Tensor, torch.Tensor]:
    """The raw prediction (n, 3) of target ``name`` (before the per-element output
    scales), and its last-layer features."""
    like = node_list[0]
    prediction = torch.zeros(like.shape[0], 3, dtype=like.dtype, device=like.device)
    last_layer_features = []
    for i, (nodes, edges) in enumerate(zip(node_list, edge_list)):
        node_hidden = model.node_heads[name][i](nodes)
        edge_hidden = model.edge_heads[name][i](edges)
        per_edge = model.edge_last_layers[name][i](edge_hidden)
        prediction = prediction + model.node_last_layers[name][i](node_hidden)
        prediction = prediction + torch.einsum("ij,ijx->ix", cutoff_factors, per_edge)
        last_layer_features.append(node_hidden)
        last_layer_features.append(
            torch.einsum("ij,ijd->id", cutoff_factors, edge_hidden)
        )
    return prediction, torch.cat(last_layer_features, dim=1)


def encode(
    encoder: torch.nn.Module, species: torch.Tensor, scaled_momenta: torch.Tensor
) -> torch.Tensor:
    """Initial node features: element embedding plus MLP of the scaled momentum."""
    return encoder.species_embedding(species) + encoder.momentum_mlp(scaled_momenta)


def reversed_messages(
    messages: torch.Tensor, reverse_neighbor_index: torch.Tensor
) -> torch.Tensor:
    """For each slot ``i -> j`` of the padded (n, k, d) messages, the message
    ``j -> i``."""
    n, k, d = messages.shape
    flat = messages.reshape(n * k, d)
    return flat[reverse_neighbor_index.reshape(-1)].reshape(n, k, d)


def membership(system_indices: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """(systems, n) matrix: one where atom ``i`` belongs to system ``s``."""
    systems = torch.arange(int(system_indices.max()) + 1)
    return (systems[:, None] == system_indices[None, :]).to(dtype)


def conserve_momentum(
    predicted: torch.Tensor,
    momenta: torch.Tensor,
    masses: torch.Tensor,
    system_indices: torch.Tensor,
) -> torch.Tensor:
    """Give each system's atoms a common velocity change so that the system's
    total predicted momentum ((eV*u)^(1/2)) equals its total input momentum; masses
    in u."""
    in_system = membership(system_indices, masses.dtype)
    missing = in_system @ (momenta - predicted)
    velocity_change = missing / (in_system @ masses)[:, None]
    return predicted + masses[:, None] * velocity_change[system_indices]


def conserve_center_of_mass(
    displacements: torch.Tensor,
    momenta: torch.Tensor,
    masses: torch.Tensor,
    system_indices: torch.Tensor,
    timestep: torch.Tensor,
) -> torch.Tensor:
    """Translate each system's displacements (A) so that its centre of mass moves
    by its total momentum times ``timestep`` (ASE time units) over its mass."""
    if not bool(torch.isfinite(timestep)):
        return displacements
    in_system = membership(system_indices, masses.dtype)
    total_mass = (in_system @ masses)[:, None]
    wanted = (in_system @ momenta) * timestep / total_mass
    moved = (in_system @ (masses[:, None] * displacements)) / total_mass
    return displacements + (wanted - moved)[system_indices]
