"""A faster forward pass for PET's Cartesian transformer, same parameters.

:class:`FastCartesianTransformer` subclasses metatrain's
:class:`~metatrain.pet.modules.transformer.CartesianTransformer`, so that its
parameters (names, shapes, initialisation) are exactly those of the original, and
replaces its forward pass by an equivalent one that does less work:

- the attention mask is one additive bias per key, ``log(max(f_j, 1e-15))`` with
  ``f_j`` the cutoff factor of token ``j``, shape (atoms, 1, 1, tokens), computed once
  per message-passing layer and broadcast over heads and queries, instead of an
  (atoms, tokens, tokens) matrix rebuilt, clamped and logged in every attention layer;
- linear maps that follow each other are folded into one: the edge embedding (4 ->
  d_pet) and the neighbour-species embedding into the first layer of ``compress``
  (which then reads the vector, distance and one-hot species directly), and the
  affine weights of the normalisations into the linear layer that reads them (the
  normalisation itself is then one reduction and one multiplication);
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
from metatrain.pet.modules.transformer import CartesianTransformer, manual_attention


BLOCK_ENTRIES = 16
"""Tensors per transformer layer in the output of :meth:`FastCartesianTransformer.fold`:
weight and bias of the qkv projection, output projection, feed-forward input and
output, centre contraction and expansion, centre feed-forward input and output."""
EDGE_ENTRIES = 4
"""Tensors for the edge tokens: weight and bias of both layers of ``compress``."""


def machine_epsilon(dtype: torch.dtype) -> float:
    """``torch.finfo(dtype).eps`` for the floating point types PET runs in."""
    if dtype == torch.float64:
        return 2.220446049250313e-16
    if dtype == torch.float16:
        return 0.0009765625
    if dtype == torch.bfloat16:
        return 0.0078125
    return 1.1920928955078125e-07


def rms_normalize(x: torch.Tensor, eps: float) -> torch.Tensor:
    """``x / sqrt(mean(x^2) + eps)`` over the last dimension (RMSNorm without its
    weight); a negative ``eps`` uses the machine epsilon of ``x``'s dtype, like
    :class:`torch.nn.RMSNorm` with ``eps=None``."""
    if eps < 0.0:
        eps = machine_epsilon(x.dtype)
    squares = torch.linalg.vector_norm(x, 2, -1, True) ** 2
    return x * torch.rsqrt(squares / x.shape[-1] + eps)


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


def fold_norm(
    norm_weight: torch.Tensor,
    norm_bias: Optional[torch.Tensor],
    weight: torch.Tensor,
    bias: torch.Tensor,
) -> List[torch.Tensor]:
    """Weight and bias of ``linear(normalized * norm_weight + norm_bias)`` as one
    linear map of ``normalized``."""
    folded_bias = bias
    if norm_bias is not None:
        folded_bias = bias + weight @ norm_bias
    return [weight * norm_weight[None, :], folded_bias]


class FastCartesianTransformer(CartesianTransformer):
    """:class:`CartesianTransformer` with a faster, equivalent forward pass.

    Takes the same constructor arguments as the original (see its documentation)
    and has the same parameters. :meth:`fold` combines the parameters once per
    forward pass; :meth:`run` applies the layer to some atoms with them.
    """

    def __init__(
        self,
        cutoff: float,
        cutoff_width: float,
        d_model: int,
        n_head: int,
        dim_node_features: int,
        dim_feedforward: int,
        n_layers: int,
        norm: str,
        activation: str,
        attention_temperature: float,
        transformer_type: str,
        n_atomic_species: int,
        is_first: bool,
    ) -> None:
        super().__init__(
            cutoff,
            cutoff_width,
            d_model,
            n_head,
            dim_node_features,
            dim_feedforward,
            n_layers,
            norm,
            activation,
            attention_temperature,
            transformer_type,
            n_atomic_species,
            is_first,
        )
        self.block_entries = BLOCK_ENTRIES
        self.edge_entries = EDGE_ENTRIES
        self.d_model = d_model
        self.num_species = n_atomic_species
        self.num_heads = n_head
        self.head_dim = d_model // n_head
        self.temperature = float(attention_temperature)
        self.pre_ln = transformer_type == "PreLN"
        self.swiglu = activation.lower() == "swiglu"
        self.expanded = dim_node_features != d_model
        first_block = self.trans.layers[0]
        self.mask_epsilon = float(first_block.attention.epsilon)
        self.rms = norm == "RMSNorm"
        eps = first_block.norm_mlp.eps
        self.norm_eps = -1.0 if eps is None else float(eps)
        """Epsilon of the normalisations; negative: the dtype's machine epsilon."""

    # -- folding -----------------------------------------------------------------

    def fold(self, message_table: Optional[torch.Tensor] = None) -> List[torch.Tensor]:
        """The parameters combined for :meth:`run`; recomputed on every forward
        pass (a few small matrix products), so that they follow training.

        :param message_table: (species, d_model) embedding of the neighbour species,
            when the incoming messages are that embedding (first layer); it is then
            folded in as well.
        :return: :data:`EDGE_ENTRIES` tensors for the edge tokens (the first layer
            of ``compress`` as a linear map of ``[messages, vector, distance, one-hot
            neighbour species]``, without the messages when they come from
            ``message_table``), then :data:`BLOCK_ENTRIES` per transformer layer
            (the normalisation weights folded into the qkv and feed-forward inputs).
            Empty tensors mark what cannot be folded because a linear layer was
            replaced by another module; :meth:`run` then calls the modules.
        """
        empty = torch.empty(0)
        folded: List[torch.Tensor] = [empty] * self.edge_entries
        first, second = self.compress[0], self.compress[2]
        if (
            hasattr(first, "weight")
            and hasattr(second, "weight")
            and hasattr(self.edge_embedder, "weight")
        ):
            d = self.d_model
            weight = first.weight
            geometry_block = weight[:, :d]
            message_block = weight[:, weight.shape[1] - d :]
            geometry = geometry_block @ self.edge_embedder.weight
            bias = first.bias + geometry_block @ self.edge_embedder.bias
            if hasattr(self.neighbor_embedder, "weight"):
                table = weight[:, d : 2 * d] @ self.neighbor_embedder.weight.t()
            else:
                table = torch.zeros_like(weight[:, : self.num_species])
            if message_table is not None:
                table = table + message_block @ message_table.t()
                pieces = [geometry, table]
            else:
                pieces = [message_block, geometry, table]
            folded = [torch.cat(pieces, dim=1), bias, second.weight, second.bias]

        for block in self.trans.layers:
            entries: List[torch.Tensor] = [empty] * self.block_entries
            attention = block.attention
            mlp = block.mlp
            if (
                hasattr(attention.input_linear, "weight")
                and hasattr(attention.output_linear, "weight")
                and hasattr(mlp.w_in, "weight")
                and hasattr(mlp.w_out, "weight")
            ):
                norm = block.norm_attention
                norm_bias: Optional[torch.Tensor] = None
                if hasattr(norm, "bias"):
                    norm_bias = norm.bias
                qkv = fold_norm(
                    norm.weight,
                    norm_bias,
                    attention.input_linear.weight,
                    attention.input_linear.bias,
                )
                norm = block.norm_mlp
                norm_bias = None
                if hasattr(norm, "bias"):
                    norm_bias = norm.bias
                feedforward = fold_norm(
                    norm.weight, norm_bias, mlp.w_in.weight, mlp.w_in.bias
                )
                entries = [
                    qkv[0],
                    qkv[1],
                    attention.output_linear.weight,
                    attention.output_linear.bias,
                    feedforward[0],
                    feedforward[1],
                    mlp.w_out.weight,
                    mlp.w_out.bias,
                ]
                center_entries: List[torch.Tensor] = [empty] * 8
                center = block.center_mlp
                if hasattr(center, "w_in"):
                    if (
                        hasattr(block.center_contraction, "weight")
                        and hasattr(block.center_expansion, "weight")
                        and hasattr(center.w_in, "weight")
                        and hasattr(center.w_out, "weight")
                    ):
                        norm = block.norm_center_features
                        norm_bias = None
                        if hasattr(norm, "bias"):
                            norm_bias = norm.bias
                        center_in = fold_norm(
                            norm.weight, norm_bias, center.w_in.weight, center.w_in.bias
                        )
                        center_entries = [
                            block.center_contraction.weight,
                            block.center_contraction.bias,
                            block.center_expansion.weight,
                            block.center_expansion.bias,
                            center_in[0],
                            center_in[1],
                            center.w_out.weight,
                            center.w_out.bias,
                        ]
                    else:
                        entries = [empty] * 8
                entries = entries + center_entries
            folded.extend(entries)
        return folded

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
        folded: List[torch.Tensor],
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
        index = self.edge_entries
        for block in self.trans.layers:
            entries = folded[index : index + self.block_entries]
            index += self.block_entries
            if self.pre_ln and entries[0].shape[0] > 0:
                nodes, edges = self._block(
                    entries, nodes, edges, bias, use_manual_attention
                )
            else:
                nodes3, edges = block(
                    nodes[:, None, :], edges, factors[:, None, :], use_manual_attention
                )
                nodes = nodes3[:, 0]
        return nodes, edges

    def run_chunked(
        self,
        folded: List[torch.Tensor],
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
        entries: List[torch.Tensor],
        nodes: torch.Tensor,
        edges: torch.Tensor,
        key_bias: torch.Tensor,
        use_manual_attention: bool,
    ) -> Tuple[torch.Tensor, torch.Tensor]:
        """One pre-normalisation transformer layer, with the parameters of
        :meth:`fold`."""
        if self.expanded:
            contracted = F.linear(nodes, entries[8], entries[9])
        else:
            contracted = nodes
        tokens = torch.cat([contracted[:, None, :], edges], dim=1)
        attended = self._attention(
            tokens, entries[0], entries[1], key_bias, use_manual_attention
        )
        attended = F.linear(attended, entries[2], entries[3]).reshape(tokens.shape)
        if self.expanded:
            nodes = nodes + F.linear(attended[:, 0], entries[10], entries[11])
            hidden = F.linear(self._normalize(nodes), entries[12], entries[13])
            nodes = nodes + F.linear(
                gated(hidden, self.swiglu), entries[14], entries[15]
            )
        else:
            nodes = attended[:, 0]
        edges = edges + attended[:, 1:]
        hidden = F.linear(self._normalize(edges), entries[4], entries[5])
        edges = edges + F.linear(gated(hidden, self.swiglu), entries[6], entries[7])
        return nodes, edges

    def _attention(
        self,
        tokens: torch.Tensor,
        weight: torch.Tensor,
        bias: torch.Tensor,
        key_bias: torch.Tensor,
        use_manual_attention: bool,
    ) -> torch.Tensor:
        """Multi-head self-attention of the normalised ``tokens`` (atoms, tokens, d)
        before the output projection: (atoms * tokens, d)."""
        num_atoms, num_tokens, d = tokens.shape
        qkv = F.linear(self._normalize(tokens), weight, bias)
        qkv = qkv.reshape(num_atoms, num_tokens, 3, self.num_heads, self.head_dim)
        qkv = qkv.permute(2, 0, 3, 1, 4)
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

    def _normalize(self, x: torch.Tensor) -> torch.Tensor:
        """The normalisation of this layer over the last dimension, without its
        affine weights (they are folded into the next linear layer)."""
        if self.rms:
            return rms_normalize(x, self.norm_eps)
        return F.layer_norm(x, [x.shape[-1]], None, None, self.norm_eps)

    def _edge_tokens(
        self,
        folded: List[torch.Tensor],
        messages: Optional[torch.Tensor],
        neighbor_species: torch.Tensor,
        edge_vectors: torch.Tensor,
        edge_distances: torch.Tensor,
    ) -> torch.Tensor:
        """``compress([edge embedding, neighbour embedding, messages])``, (atoms,
        neighbours, d_model)."""
        distances = edge_distances[:, :, None].to(edge_vectors.dtype)
        if folded[0].shape[0] > 0:
            one_hot = F.one_hot(neighbor_species, self.num_species)
            pieces = [edge_vectors, distances, one_hot.to(edge_vectors.dtype)]
            if messages is not None:
                pieces = [messages] + pieces
            inputs = torch.cat(pieces, dim=2)
            hidden = F.silu(F.linear(inputs, folded[0], folded[1]))
            return F.linear(hidden, folded[2], folded[3])
        if messages is None:
            raise ValueError("messages are required when compress cannot be folded")
        geometry = torch.cat([edge_vectors, distances], dim=2)
        pieces = [self.edge_embedder(geometry)]
        if not self.is_first:
            pieces.append(self.neighbor_embedder(neighbor_species))
        pieces.append(messages)
        return self.compress(torch.cat(pieces, dim=2))
