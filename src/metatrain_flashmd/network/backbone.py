"""The PET message-passing backbone, fed with momentum-aware node features.

The transformer layers have the parameters of metatrain's :class:`CartesianTransformer`
(:class:`FastCartesianTransformer` only replaces its forward pass); this module wires
them: node encoders, edge embeddings, and how messages flow between layers.

Each message-passing layer acts on every atom separately (an atom's new node and edge
features depend only on its own row of the padded inputs), so large systems are
processed in chunks of about :data:`CHUNK_TOKENS` tokens: the intermediate tensors of
a chunk are reused from one chunk to the next instead of growing with the system
(less memory, no page faults on fresh allocations), and the peak memory grows with
the system only by the layer outputs. Messages cross between atoms only between
layers (the reversal ``i -> j`` to ``j -> i``), after all chunks are done.
"""

from typing import List, Optional, Tuple

import torch
import torch.nn.functional as F

from .encoder import MomentumEncoder
from .folding import Affine, FoldedMLP, fold_norm, silu_mlp
from .transformer import FastCartesianTransformer


CHUNK_TOKENS = 8192
"""Tokens (atoms times one plus their padded number of neighbours) processed together
by a message-passing layer: about 430 atoms of fcc metal at the default cutoff. The
peak memory grows with it (the intermediates of a chunk, and the memory the C
allocator keeps for them); larger chunks mean fewer, larger operations, which run a
little faster when other processes compete for the processor."""


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
                FastCartesianTransformer(
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
        self.chunk_tokens = CHUNK_TOKENS
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

    def chunks(self, num_atoms: int, num_neighbors: int) -> List[int]:
        """Boundaries of the chunks of atoms processed together: about
        :attr:`chunk_tokens` tokens (atoms times one plus the padded number of
        neighbours) each, in chunks of equal size. ``[0, ..., num_atoms]``."""
        per_chunk = max(1, self.chunk_tokens // (num_neighbors + 1))
        num_chunks = max(1, (num_atoms + per_chunk - 1) // per_chunk)
        size = (num_atoms + num_chunks - 1) // num_chunks
        bounds = list(range(0, num_atoms, max(1, size)))
        bounds.append(num_atoms)
        if num_atoms == 0:
            bounds = [0, 0]
        return bounds

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
        """Messages are mixed with their reverses between layers:
        ``m <- m + m' + mixer(norm([m', reverse(m')]))``."""
        num_atoms, num_neighbors = edge_vectors.shape[0], edge_vectors.shape[1]
        bounds = self.chunks(num_atoms, num_neighbors)
        nodes = self.node_encoders[0](species_index, scaled_momenta)
        # without autograd, two (atoms, neighbours, d_pet) buffers serve all layers:
        # the messages, updated in place, and the layer outputs
        messages = torch.empty(0)
        spare = torch.empty(0)
        folded_mixers = self._fold_mixers()
        for index, (layer, norm) in enumerate(zip(self.gnn_layers, self.message_norms)):
            # the first layer's messages are the neighbour-species embedding, which
            # the layer folds into its own first linear map
            first = index == 0
            shape = [num_atoms, num_neighbors, layer.d_model]
            if list(spare.shape) == shape and not spare.requires_grad:
                buffer = spare
            else:
                buffer = _empty_like_rows(nodes, num_atoms, shape[1:])
            new_nodes, new_messages = layer.run_chunked(
                layer.fold(self.edge_embedder.weight if first else None),
                nodes,
                None if first else messages,
                buffer,
                bounds,
                neighbor_species_index,
                edge_vectors,
                padding_mask,
                edge_distances,
                cutoff_factors,
            )
            mixed = self._mix(
                index,
                folded_mixers[index],
                norm.eps,
                messages,
                new_messages,
                bounds,
                neighbor_species_index,
                reverse_neighbor_index,
            )
            nodes, messages, spare = new_nodes, mixed, new_messages
        return [nodes], [messages]

    def _fold_mixers(self) -> List[Optional[FoldedMLP]]:
        """Each message mixer with its layer norm's weights folded into its first
        linear layer; None if one of its linear layers was replaced."""
        folded: List[Optional[FoldedMLP]] = []
        for norm, mixer in zip(self.message_norms, self.message_mixers):
            folded_mixer: Optional[FoldedMLP] = None
            if hasattr(mixer[0], "weight") and hasattr(mixer[2], "weight"):
                folded_mixer = FoldedMLP(
                    fold_norm(norm.weight, norm.bias, mixer[0].weight, mixer[0].bias),
                    Affine(mixer[2].weight, mixer[2].bias),
                )
            folded.append(folded_mixer)
        return folded

    def _mix(
        self,
        index: int,
        folded_mixer: Optional[FoldedMLP],
        norm_eps: float,
        messages: torch.Tensor,
        new_messages: torch.Tensor,
        bounds: List[int],
        neighbor_species_index: torch.Tensor,
        reverse_neighbor_index: torch.Tensor,
    ) -> torch.Tensor:
        """``m + m' + mixer(norm([m', reverse(m')]))`` for the messages ``m`` into
        layer ``index`` (its neighbour-species embedding for the first) and ``m'``
        out of it, chunk by chunk; without autograd, written into ``messages``."""
        first = index == 0
        num_atoms = new_messages.shape[0]
        in_place = not (first or messages.requires_grad or new_messages.requires_grad)
        mixed = messages if in_place else torch.empty_like(new_messages)
        for start, end in zip(bounds[:-1], bounds[1:]):
            with torch.profiler.record_function("FlashMD::message_mixing"):
                if first:
                    old = self.edge_embedder(neighbor_species_index[start:end])
                else:
                    old = messages[start:end]
                current = new_messages[start:end]
                reversed_messages = _reverse_rows(
                    new_messages, reverse_neighbor_index[start:end]
                )
                both = torch.cat([current, reversed_messages], dim=-1)
                if folded_mixer is not None:
                    normalized = F.layer_norm(
                        both, [both.shape[-1]], None, None, norm_eps
                    )
                    update = silu_mlp(normalized, folded_mixer) + old + current
                else:
                    update = old + current + self._unfolded_mixer(index, both)
            if end - start == num_atoms:
                mixed = update
            else:
                # rows of other atoms are still to be read, but only from
                # new_messages: updating the messages in place is safe
                mixed[start:end] = update
        return mixed

    def _unfolded_mixer(self, index: int, both: torch.Tensor) -> torch.Tensor:
        """``mixer(norm(both))`` with the modules of layer ``index`` (TorchScript
        cannot index a module list with a variable)."""
        for i, (norm, mixer) in enumerate(zip(self.message_norms, self.message_mixers)):
            if i == index:
                return mixer(norm(both))
        raise ValueError("no message mixer for layer " + str(index))

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
        """Every layer is read out; messages are averaged with their reverses:
        ``m <- (m + reverse(m')) / 2``."""
        num_atoms = species_index.shape[0]
        bounds = self.chunks(num_atoms, edge_vectors.shape[1])
        node_list: List[torch.Tensor] = []
        edge_list: List[torch.Tensor] = []
        messages = torch.empty(0)
        for index, (encoder, layer) in enumerate(
            zip(self.node_encoders, self.gnn_layers)
        ):
            first = index == 0
            folded = layer.fold(self.edge_embedder.weight if first else None)
            nodes = encoder(species_index, scaled_momenta)
            buffer = _empty_like_rows(
                nodes, num_atoms, [edge_vectors.shape[1], layer.d_model]
            )
            new_nodes, new_messages = layer.run_chunked(
                folded,
                nodes,
                None if first else messages,
                buffer,
                bounds,
                neighbor_species_index,
                edge_vectors,
                padding_mask,
                edge_distances,
                cutoff_factors,
            )
            node_list.append(new_nodes)
            edge_list.append(new_messages)
            if first:
                messages = self.edge_embedder(neighbor_species_index)
            messages = 0.5 * (messages + _reverse(new_messages, reverse_neighbor_index))
        return node_list, edge_list


def _empty_like_rows(
    like: torch.Tensor, num_rows: int, shape: List[int]
) -> torch.Tensor:
    """An uninitialised (num_rows, *shape) tensor with the dtype and device of
    ``like``."""
    return torch.empty([num_rows] + shape, dtype=like.dtype, device=like.device)


def _reverse_rows(
    messages: torch.Tensor, reverse_neighbor_index: torch.Tensor
) -> torch.Tensor:
    """Messages ``j -> i`` for the rows of ``reverse_neighbor_index`` (some atoms'
    slots into the flattened (n * k) slots of ``messages``): (rows, k, d)."""
    rows, k = reverse_neighbor_index.shape[0], reverse_neighbor_index.shape[1]
    d = messages.shape[-1]
    flat = messages.reshape(-1, d).index_select(0, reverse_neighbor_index.reshape(-1))
    return flat.reshape(rows, k, d)


def _reverse(
    messages: torch.Tensor, reverse_neighbor_index: torch.Tensor
) -> torch.Tensor:
    """Messages ``j -> i`` in the slots of ``i -> j`` (same (n, k, d) layout)."""
    n, k, d = messages.shape
    return messages.reshape(n * k, d)[reverse_neighbor_index].reshape(n, k, d)
