"""The PET message-passing backbone, fed with momentum-aware node features.

The transformer layers are metatrain's :class:`CartesianTransformer`; this module only
wires them: node encoders, edge embeddings, and how messages flow between layers.
"""

from typing import List, Tuple

import torch
from metatrain.pet.modules.transformer import CartesianTransformer

from .encoder import MomentumEncoder


class Backbone(torch.nn.Module):
    """Node and edge features of every atom from its neighbourhood and momentum.

    :param hypers: model hyperparameters (see ``ModelHypers``).
    :param num_species: number of elements the model knows.
    """

    def __init__(self, hypers: dict, num_species: int) -> None:
        super().__init__()
        d_pet = int(hypers["d_pet"])
        d_node = int(hypers["d_node"])
        encoder_width = hypers.get("momentum_encoder_width")
        if encoder_width is None:
            encoder_width = d_node
        num_gnn_layers = int(hypers["num_gnn_layers"])
        self.feedforward = hypers["featurizer_type"] == "feedforward"
        self.num_readout_layers = 1 if self.feedforward else num_gnn_layers

        self.gnn_layers = torch.nn.ModuleList(
            [
                CartesianTransformer(
                    float(hypers["cutoff"]),
                    float(hypers["cutoff_width"]),
                    d_pet,
                    int(hypers["num_heads"]),
                    d_node,
                    int(hypers["d_feedforward"]),
                    int(hypers["num_attention_layers"]),
                    hypers["normalization"],
                    hypers["activation"],
                    float(hypers["attention_temperature"]),
                    hypers["transformer_type"],
                    num_species,
                    layer == 0,
                )
                for layer in range(num_gnn_layers)
            ]
        )
        # one encoder per readout layer: the residual featurizer re-injects the atom's
        # own state at every layer, the feed-forward one only at the first
        self.node_encoders = torch.nn.ModuleList(
            [
                MomentumEncoder(num_species, d_node, int(encoder_width))
                for _ in range(self.num_readout_layers)
            ]
        )
        self.edge_embedder = torch.nn.Embedding(num_species, d_pet)
        merge_layers = num_gnn_layers if self.feedforward else 0
        self.message_norms = torch.nn.ModuleList(
            [torch.nn.LayerNorm(2 * d_pet) for _ in range(merge_layers)]
        )
        self.message_mixers = torch.nn.ModuleList(
            [
                torch.nn.Sequential(
                    torch.nn.Linear(2 * d_pet, 2 * d_pet),
                    torch.nn.SiLU(),
                    torch.nn.Linear(2 * d_pet, d_pet),
                )
                for _ in range(merge_layers)
            ]
        )

    def forward(
        self,
        species_index: torch.Tensor,
        scaled_momenta: torch.Tensor,
        neighbor_species_index: torch.Tensor,
        edge_vectors: torch.Tensor,
        edge_distances: torch.Tensor,
        padding_mask: torch.Tensor,
        cutoff_factors: torch.Tensor,
        reverse_neighbor_index: torch.Tensor,
    ) -> Tuple[List[torch.Tensor], List[torch.Tensor]]:
        """Node features (n, d_node) and edge features (n, max_neighbors, d_pet) of
        each readout layer.

        Edge tensors are in the padded node-edge layout of PET: row ``i`` lists the
        neighbours of atom ``i``; ``reverse_neighbor_index`` maps each flattened slot
        ``i -> j`` to the slot ``j -> i``.
        """
        if self.feedforward:
            return self._feedforward(
                species_index,
                scaled_momenta,
                neighbor_species_index,
                edge_vectors,
                edge_distances,
                padding_mask,
                cutoff_factors,
                reverse_neighbor_index,
            )
        return self._residual(
            species_index,
            scaled_momenta,
            neighbor_species_index,
            edge_vectors,
            edge_distances,
            padding_mask,
            cutoff_factors,
            reverse_neighbor_index,
        )

    def _feedforward(
        self,
        species_index: torch.Tensor,
        scaled_momenta: torch.Tensor,
        neighbor_species_index: torch.Tensor,
        edge_vectors: torch.Tensor,
        edge_distances: torch.Tensor,
        padding_mask: torch.Tensor,
        cutoff_factors: torch.Tensor,
        reverse_neighbor_index: torch.Tensor,
    ) -> Tuple[List[torch.Tensor], List[torch.Tensor]]:
        nodes = self.node_encoders[0](species_index, scaled_momenta)
        messages = self.edge_embedder(neighbor_species_index)
        for layer, norm, mixer in zip(
            self.gnn_layers, self.message_norms, self.message_mixers
        ):
            nodes, new_messages = layer(
                nodes,
                messages,
                neighbor_species_index,
                edge_vectors,
                padding_mask,
                edge_distances,
                cutoff_factors,
                False,
            )
            reversed_messages = _reverse(new_messages, reverse_neighbor_index)
            both = torch.cat([new_messages, reversed_messages], dim=-1)
            messages = messages + new_messages + mixer(norm(both))
        return [nodes], [messages]

    def _residual(
        self,
        species_index: torch.Tensor,
        scaled_momenta: torch.Tensor,
        neighbor_species_index: torch.Tensor,
        edge_vectors: torch.Tensor,
        edge_distances: torch.Tensor,
        padding_mask: torch.Tensor,
        cutoff_factors: torch.Tensor,
        reverse_neighbor_index: torch.Tensor,
    ) -> Tuple[List[torch.Tensor], List[torch.Tensor]]:
        node_list: List[torch.Tensor] = []
        edge_list: List[torch.Tensor] = []
        messages = self.edge_embedder(neighbor_species_index)
        for encoder, layer in zip(self.node_encoders, self.gnn_layers):
            nodes, new_messages = layer(
                encoder(species_index, scaled_momenta),
                messages,
                neighbor_species_index,
                edge_vectors,
                padding_mask,
                edge_distances,
                cutoff_factors,
                False,
            )
            node_list.append(nodes)
            edge_list.append(new_messages)
            messages = 0.5 * (messages + _reverse(new_messages, reverse_neighbor_index))
        return node_list, edge_list


def _reverse(
    messages: torch.Tensor, reverse_neighbor_index: torch.Tensor
) -> torch.Tensor:
    """Messages ``j -> i`` in the slots of ``i -> j`` (same (n, k, d) layout)."""
    n, k, d = messages.shape
    return messages.reshape(n * k, d)[reverse_neighbor_index].reshape(n, k, d)
