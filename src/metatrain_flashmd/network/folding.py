"""Linear maps folded together, by name: what the fast transformer layers run with.

A PET transformer layer applies normalisations whose affine weights feed a linear
layer, and embeddings that feed another one linearly. :mod:`.transformer` and
:mod:`.backbone` combine such maps once per forward pass (a few small matrix
products, so that they follow training) into the named tuples of this module, which
TorchScript accepts, and then apply the normalisations without their weights
(:func:`normalize`). ``None`` in place of a folded map means that a linear layer was
replaced by another module (e.g. a LoRA adapter): the caller then runs the modules.
"""

from typing import List, NamedTuple, Optional

import torch
import torch.nn.functional as F
from metatrain.pet.modules.transformer import CartesianTransformer


class Affine(NamedTuple):
    """The linear map ``x @ weight.T + bias``: weight (out, in), bias (out,)."""

    weight: torch.Tensor
    bias: torch.Tensor


class FoldedMLP(NamedTuple):
    """``output(silu(hidden(x)))``: the edge tokens' ``compress`` and the backbone's
    message mixers."""

    hidden: Affine
    output: Affine


class FoldedCenter(NamedTuple):
    """The node-feature maps of a transformer layer whose node features are wider
    than its tokens."""

    contraction: Affine
    """Node features to a token."""
    expansion: Affine
    """The central token back to node features."""
    mlp_in: Affine
    """Input of the node feed-forward block, its normalisation's weights folded in."""
    mlp_out: Affine
    """Output of the node feed-forward block."""


class FoldedBlock(NamedTuple):
    """One pre-normalisation transformer layer."""

    attention_in: Affine
    """The query-key-value projection, the attention normalisation's weights folded
    in."""
    attention_out: Affine
    """The attention's output projection."""
    mlp_in: Affine
    """Input of the edge feed-forward block, its normalisation's weights folded in."""
    mlp_out: Affine
    """Output of the edge feed-forward block."""
    center: Optional[FoldedCenter]
    """None when the node features are as wide as the tokens."""


class FoldedLayer(NamedTuple):
    """A whole message-passing layer (:class:`.transformer.FastCartesianTransformer`).

    ``compress.hidden`` reads ``[messages, vector, distance, one-hot neighbour
    species]`` (without the messages when they are an embedding of the neighbour
    species, then folded in as well); ``blocks`` has one entry per transformer layer,
    None for those run by metatrain's forward (post-normalisation or replaced linear
    layers).
    """

    compress: Optional[FoldedMLP]
    blocks: List[Optional[FoldedBlock]]


def affine(x: torch.Tensor, linear: Affine) -> torch.Tensor:
    """``linear`` applied to the last dimension of ``x``."""
    return F.linear(x, linear.weight, linear.bias)


def silu_mlp(x: torch.Tensor, mlp: FoldedMLP) -> torch.Tensor:
    """``mlp`` applied to the last dimension of ``x``."""
    return affine(F.silu(affine(x, mlp.hidden)), mlp.output)


def fold_norm(
    norm_weight: torch.Tensor,
    norm_bias: Optional[torch.Tensor],
    weight: torch.Tensor,
    bias: torch.Tensor,
) -> Affine:
    """``linear(normalized * norm_weight + norm_bias)`` as one linear map of
    ``normalized``, for the linear layer of ``weight`` and ``bias``."""
    folded_bias = bias
    if norm_bias is not None:
        folded_bias = bias + weight @ norm_bias
    return Affine(weight * norm_weight[None, :], folded_bias)


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


def normalize(x: torch.Tensor, rms: bool, eps: float) -> torch.Tensor:
    """RMSNorm (``rms``) or LayerNorm over the last dimension of ``x``, without
    affine weights (they are folded into the next linear layer); a negative ``eps``
    is the machine epsilon of ``x``'s dtype."""
    if rms:
        return rms_normalize(x, eps)
    return F.layer_norm(x, [x.shape[-1]], None, None, eps)


class FoldableCartesianTransformer(CartesianTransformer):
    """metatrain's :class:`CartesianTransformer` (same constructor arguments, same
    parameters), with its settings as attributes TorchScript can read and
    :meth:`fold`, which combines its parameters into a :class:`FoldedLayer`.
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
        self.d_model = d_model
        self.num_species = n_atomic_species
        self.num_heads = n_head
        self.head_dim = d_model // n_head
        self.temperature = float(attention_temperature)
        self.pre_ln = transformer_type == "PreLN"
        self.swiglu = activation.lower() == "swiglu"
        first_block = self.trans.layers[0]
        self.mask_epsilon = float(first_block.attention.epsilon)
        self.rms = norm == "RMSNorm"
        eps = first_block.norm_mlp.eps
        self.norm_eps = -1.0 if eps is None else float(eps)
        """Epsilon of the normalisations; negative: the dtype's machine epsilon."""

    def fold(self, message_table: Optional[torch.Tensor] = None) -> FoldedLayer:
        """The parameters combined for :meth:`run`; recomputed on every forward
        pass (a few small matrix products), so that they follow training.

        :param message_table: (species, d_model) embedding of the neighbour species,
            when the incoming messages are that embedding (first layer); it is then
            folded into ``compress`` as well.
        """
        return FoldedLayer(self._fold_compress(message_table), self._fold_blocks())

    def _fold_compress(
        self, message_table: Optional[torch.Tensor]
    ) -> Optional[FoldedMLP]:
        """``compress`` with the edge embedding and the neighbour-species embedding
        (and ``message_table``) folded into its first layer; None if one of its
        linear layers was replaced."""
        first, second = self.compress[0], self.compress[2]
        folded: Optional[FoldedMLP] = None
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
            hidden = Affine(torch.cat(pieces, dim=1), bias)
            folded = FoldedMLP(hidden, Affine(second.weight, second.bias))
        return folded

    def _fold_centers(self) -> List[Optional[FoldedCenter]]:
        """The node-feature maps of each transformer layer, with the normalisation's
        weights folded into the feed-forward input; None when the node features are
        as wide as the tokens or one of these linear layers was replaced."""
        folded: List[Optional[FoldedCenter]] = []
        for block in self.trans.layers:
            center: Optional[FoldedCenter] = None
            center_mlp = block.center_mlp
            if hasattr(center_mlp, "w_in"):
                if (
                    hasattr(block.center_contraction, "weight")
                    and hasattr(block.center_expansion, "weight")
                    and hasattr(center_mlp.w_in, "weight")
                    and hasattr(center_mlp.w_out, "weight")
                ):
                    norm = block.norm_center_features
                    contraction = block.center_contraction
                    expansion = block.center_expansion
                    center = FoldedCenter(
                        contraction=Affine(contraction.weight, contraction.bias),
                        expansion=Affine(expansion.weight, expansion.bias),
                        mlp_in=fold_norm(
                            norm.weight,
                            getattr(norm, "bias", None),
                            center_mlp.w_in.weight,
                            center_mlp.w_in.bias,
                        ),
                        mlp_out=Affine(center_mlp.w_out.weight, center_mlp.w_out.bias),
                    )
            folded.append(center)
        return folded

    def _fold_blocks(self) -> List[Optional[FoldedBlock]]:
        """Each transformer layer with its normalisations' weights folded into the
        linear layers that read them; None for post-normalisation layers and those
        with a replaced linear layer."""
        centers = self._fold_centers()
        folded: List[Optional[FoldedBlock]] = []
        for index, block in enumerate(self.trans.layers):
            attention, mlp, center = block.attention, block.mlp, centers[index]
            folded_block: Optional[FoldedBlock] = None
            if (
                hasattr(attention.input_linear, "weight")
                and hasattr(attention.output_linear, "weight")
                and hasattr(mlp.w_in, "weight")
                and hasattr(mlp.w_out, "weight")
            ):
                center_folded = center is not None or not block.expanded_node_features
                if self.pre_ln and center_folded:
                    first_norm, second_norm = block.norm_attention, block.norm_mlp
                    qkv, output = attention.input_linear, attention.output_linear
                    folded_block = FoldedBlock(
                        attention_in=fold_norm(
                            first_norm.weight,
                            getattr(first_norm, "bias", None),
                            qkv.weight,
                            qkv.bias,
                        ),
                        attention_out=Affine(output.weight, output.bias),
                        mlp_in=fold_norm(
                            second_norm.weight,
                            getattr(second_norm, "bias", None),
                            mlp.w_in.weight,
                            mlp.w_in.bias,
                        ),
                        mlp_out=Affine(mlp.w_out.weight, mlp.w_out.bias),
                        center=center,
                    )
            folded.append(folded_block)
        return folded
