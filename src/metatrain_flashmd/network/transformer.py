"""A faster forward pass for PET's Cartesian transformer, same parameters.

:class:`FastCartesianTransformer` subclasses metatrain's
:class:`~metatrain.pet.modules.transformer.CartesianTransformer` (through
:class:`.folding.FoldableCartesianTransformer`), so that its parameters (names,
shapes, initialisation) are exactly those of the original, and replaces its forward
pass by an equivalent one that does less work:

- the attention mask is one additive bias per key, ``log(max(f_j, 1e-15))`` with
  ``f_j`` the cutoff factor of token ``j``, shape (atoms, 1, 1, tokens), computed once
  per message-passing layer and broadcast over heads and queries, instead of an
  (atoms, tokens, tokens) matrix rebuilt, clamped and logged in every attention layer;
- linear maps that follow each other are folded into one: the edge embedding (4 ->
  d_pet) and the neighbour-species embedding into the first layer of ``compress``
  (which then reads the vector, distance and one-hot species directly), and the
  affine weights of the normalisations into the linear layer that reads them (the
  normalisation itself is then one reduction and one multiplication), once per
  forward pass, into the named tuples of :mod:`.folding`;
- the SwiGLU gate is one ``glu`` kernel;
- :meth:`FastCartesianTransformer.run` works on any subset of atoms (rows), so that
  callers can process a large system in cache-sized chunks.

The folding is exact algebra; results agree with the original to rounding. Layers
whose linear maps were replaced (e.g. by LoRA adapters), and post-normalisation
(``PostLN``) layers, run metatrain's own ``TransformerLayer`` forward, with the
cutoff factors of the tokens as a (atoms, 1, tokens) mask.
"""

from typing import List, Optional, Tuple

import torch
import torch.nn.functional as F
from metatrain.pet.modules.transformer import manual_attention

from .folding import (
    Affine,
    FoldableCartesianTransformer,
    FoldedBlock,
    FoldedLayer,
    affine,
    normalize,
    silu_mlp,
)


def gated(x: torch.Tensor, swiglu: bool) -> torch.Tensor:
    """The activation of PET's feed-forward blocks: ``a * sigmoid(b)`` for the two
    halves ``[a, b]`` of ``x`` (SwiGLU), or SiLU."""
    if swiglu:
        return F.glu(x, -1)
    return F.silu(x)


def token_factors(
    cutoff_factors: torch.Tensor, padding_mask: torch.Tensor
) -> torch.Tensor:
    """Cutoff factors of the tokens (atoms, 1 + neighbours): one for the central
    token, zero for padding."""
    factors = torch.where(
        padding_mask, cutoff_factors, torch.zeros_like(cutoff_factors)
    )
    central = torch.ones(
        factors.shape[0], 1, dtype=factors.dtype, device=factors.device
    )
    return torch.cat([central, factors], dim=1)


class FastCartesianTransformer(FoldableCartesianTransformer):
    """:class:`CartesianTransformer` with a faster, equivalent forward pass.

    Takes the same constructor arguments as the original (see its documentation)
    and has the same parameters. :meth:`fold` combines the parameters once per
    forward pass; :meth:`run` applies the layer to some atoms with them.
    """

    # -- forward -----------------------------------------------------------------

    def forward(
        self,
        input_node_embeddings: torch.Tensor,
        input_messages: torch.Tensor,
        element_indices_neighbors: torch.Tensor,
        edge_vectors: torch.Tensor,
        padding_mask: torch.Tensor,
        edge_distances: torch.Tensor,
        cutoff_factors: torch.Tensor,
        use_manual_attention: bool,
    ) -> Tuple[torch.Tensor, torch.Tensor]:
        """Same inputs and outputs as :meth:`CartesianTransformer.forward`: node
        features (atoms, d_node) and edge features (atoms, neighbours, d_model)."""
        if input_messages.shape[1] != edge_vectors.shape[1]:
            raise ValueError("messages and edges must have the same padded length")
        return self.run(
            self.fold(),
            input_node_embeddings,
            input_messages,
            element_indices_neighbors,
            edge_vectors,
            padding_mask,
            edge_distances,
            cutoff_factors,
            use_manual_attention,
        )

    def run(
        self,
        folded: FoldedLayer,
        nodes: torch.Tensor,
        messages: Optional[torch.Tensor],
        neighbor_species: torch.Tensor,
        edge_vectors: torch.Tensor,
        padding_mask: torch.Tensor,
        edge_distances: torch.Tensor,
        cutoff_factors: torch.Tensor,
        use_manual_attention: bool,
    ) -> Tuple[torch.Tensor, torch.Tensor]:
        """The layer applied to some atoms, with parameters from :meth:`fold`.

        :param messages: (atoms, neighbours, d_model) incoming messages, or None
            when they are the ``message_table`` given to :meth:`fold`.
        :return: node features (atoms, d_node) and edge features (atoms, neighbours,
            d_model).
        """
        with torch.profiler.record_function("FlashMD::edge_tokens"):
            edges = self._edge_tokens(
                folded, messages, neighbor_species, edge_vectors, edge_distances
            )
        factors = token_factors(cutoff_factors, padding_mask)
        # one additive bias per key, broadcast over heads and queries
        bias = torch.log(torch.clamp(factors, self.mask_epsilon))[:, None, None, :]
        index = 0
        for block in self.trans.layers:
            folded_block = folded.blocks[index]
            index += 1
            if folded_block is not None:
                nodes, edges = self._block(
                    folded_block, nodes, edges, bias, use_manual_attention
                )
            else:
                nodes3, edges = block(
                    nodes[:, None, :], edges, factors[:, None, :], use_manual_attention
                )
                nodes = nodes3[:, 0]
        return nodes, edges

    def run_chunked(
        self,
        folded: FoldedLayer,
        nodes: torch.Tensor,
        messages: Optional[torch.Tensor],
        message_buffer: torch.Tensor,
        bounds: List[int],
        neighbor_species_index: torch.Tensor,
        edge_vectors: torch.Tensor,
        padding_mask: torch.Tensor,
        edge_distances: torch.Tensor,
        cutoff_factors: torch.Tensor,
    ) -> Tuple[torch.Tensor, torch.Tensor]:
        """:meth:`run` over the chunks of atoms between consecutive ``bounds``:
        new node features and messages (written into ``message_buffer``, of shape
        (atoms, neighbours, d_model), when there is more than one chunk)."""
        num_atoms = nodes.shape[0]
        new_nodes = torch.empty_like(nodes)
        new_messages = message_buffer
        for start, end in zip(bounds[:-1], bounds[1:]):
            chunk_messages_in: Optional[torch.Tensor] = None
            if messages is not None:
                chunk_messages_in = messages[start:end]
            with torch.profiler.record_function("FlashMD::message_passing"):
                chunk_nodes, chunk_messages = self.run(
                    folded,
                    nodes[start:end],
                    chunk_messages_in,
                    neighbor_species_index[start:end],
                    edge_vectors[start:end],
                    padding_mask[start:end],
                    edge_distances[start:end],
                    cutoff_factors[start:end],
                    False,
                )
            if end - start == num_atoms:
                new_nodes, new_messages = chunk_nodes, chunk_messages
            else:
                new_nodes[start:end] = chunk_nodes
                new_messages[start:end] = chunk_messages
        return new_nodes, new_messages

    def _block(
        self,
        folded: FoldedBlock,
        nodes: torch.Tensor,
        edges: torch.Tensor,
        key_bias: torch.Tensor,
        use_manual_attention: bool,
    ) -> Tuple[torch.Tensor, torch.Tensor]:
        """One pre-normalisation transformer layer, with the parameters of
        :meth:`fold`."""
        center = folded.center
        contracted = nodes if center is None else affine(nodes, center.contraction)
        tokens = torch.cat([contracted[:, None, :], edges], dim=1)
        attended = self._attention(
            tokens, folded.attention_in, key_bias, use_manual_attention
        )
        attended = affine(attended, folded.attention_out).reshape(tokens.shape)
        if center is not None:
            nodes = nodes + affine(attended[:, 0], center.expansion)
            hidden = affine(normalize(nodes, self.rms, self.norm_eps), center.mlp_in)
            nodes = nodes + affine(gated(hidden, self.swiglu), center.mlp_out)
        else:
            nodes = attended[:, 0]
        edges = edges + attended[:, 1:]
        hidden = affine(normalize(edges, self.rms, self.norm_eps), folded.mlp_in)
        edges = edges + affine(gated(hidden, self.swiglu), folded.mlp_out)
        return nodes, edges

    def _attention(
        self,
        tokens: torch.Tensor,
        projection: Affine,
        key_bias: torch.Tensor,
        use_manual_attention: bool,
    ) -> torch.Tensor:
        """Multi-head self-attention of the normalised ``tokens`` (atoms, tokens, d)
        before the output projection: (atoms * tokens, d)."""
        num_atoms, num_tokens, d = tokens.shape
        projected = affine(normalize(tokens, self.rms, self.norm_eps), projection)
        projected = projected.reshape(
            num_atoms, num_tokens, 3, self.num_heads, self.head_dim
        )
        qkv = projected.permute(2, 0, 3, 1, 4)
        if use_manual_attention:
            attended = manual_attention(
                qkv[0], qkv[1], qkv[2], key_bias, self.temperature
            )
        else:
            attended = F.scaled_dot_product_attention(
                qkv[0],
                qkv[1],
                qkv[2],
                attn_mask=key_bias,
                scale=1.0 / (self.head_dim**0.5 * self.temperature),
            )
        return attended.transpose(1, 2).reshape(-1, d)

    def _edge_tokens(
        self,
        folded: FoldedLayer,
        messages: Optional[torch.Tensor],
        neighbor_species: torch.Tensor,
        edge_vectors: torch.Tensor,
        edge_distances: torch.Tensor,
    ) -> torch.Tensor:
        """``compress([edge embedding, neighbour embedding, messages])``, (atoms,
        neighbours, d_model)."""
        distances = edge_distances[:, :, None].to(edge_vectors.dtype)
        compress = folded.compress
        if compress is not None:
            one_hot = F.one_hot(neighbor_species, self.num_species)
            pieces = [edge_vectors, distances, one_hot.to(edge_vectors.dtype)]
            if messages is not None:
                pieces = [messages] + pieces
            return silu_mlp(torch.cat(pieces, dim=2), compress)
        if messages is None:
            raise ValueError("messages are required when compress cannot be folded")
        geometry = torch.cat([edge_vectors, distances], dim=2)
        pieces = [self.edge_embedder(geometry)]
        if not self.is_first:
            pieces.append(self.neighbor_embedder(neighbor_species))
        pieces.append(messages)
        return self.compress(torch.cat(pieces, dim=2))
