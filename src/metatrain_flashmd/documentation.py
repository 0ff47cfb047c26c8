"""
FlashMD
=======

FlashMD :footcite:p:`bigi_flashmd_2025` learns the map from the positions and momenta
of all atoms at time :math:`t` to those at :math:`t + \\Delta t`, with strides
:math:`\\Delta t` ten to sixty times longer than a stable molecular-dynamics timestep.
A simulation then costs one forward pass per stride, with no force evaluation and no
backpropagation. This implementation (the ``metatrain-flashmd`` plugin) is built from
the PET building blocks of metatrain.

The network reads mass-scaled momenta :math:`p_i/\\sqrt{m_i}` and predicts mass-scaled
displacements :math:`\\sqrt{m_i}\\,\\Delta r_i` and momenta :math:`p_i'/\\sqrt{m_i}`,
so that light and heavy atoms share one output scale. Total momentum and the
ballistic motion of the centre of mass are enforced exactly inside the model.

{{SECTION_INSTALLATION}}

{{SECTION_DEFAULT_HYPERS}}
"""

# This module is read by metatrain (hyperparameter validation, defaults and docs). It
# imports only the standard library and typing_extensions, so that reading it is cheap.

from typing import Dict, List, Literal, Optional, Union

from typing_extensions import NotRequired, TypedDict


# ---------------------------------------------------------------------------------
#  Nested option groups
# ---------------------------------------------------------------------------------


class LossSpecification(TypedDict):
    """Loss of one target, computed on the mass-scaled, normalised target."""

    type: NotRequired[Literal["mse", "mae", "huber"]] = "mse"
    """``mse`` (default), ``mae`` or ``huber`` (quadratic below ``delta``, linear
    above; robust to rare large errors, e.g. atoms crossing a barrier)."""
    weight: NotRequired[float] = 1.0
    """Relative weight of this target in the total loss."""
    reduction: NotRequired[Literal["mean", "sum"]] = "mean"
    """How per-component errors are reduced within a batch."""
    delta: NotRequired[float] = 1.0
    """Transition point of the ``huber`` loss, in units of the normalised target."""
    gradients: NotRequired[Dict[str, Dict[str, Union[str, float]]]] = {}
    """Accepted for compatibility with metatrain loss options; FlashMD targets have
    no gradients, so it must stay empty."""


class NoFinetuneHypers(TypedDict):
    """No fine-tuning: train from scratch (or restart)."""

    read_from: None = None
    """Leave unset (``null``) to train without fine-tuning."""
    method: NotRequired[str]
    config: NotRequired[Dict]
    inherit_heads: NotRequired[Dict[str, str]]


class LoRaConfig(TypedDict):
    """Low-rank adapters added to the attention projections."""

    rank: int
    """Rank of the adapter matrices: 4-16 is typical. Larger adapts more, at the
    cost of more trainable parameters."""
    alpha: float
    """Scale of the adapters' contribution (the update is multiplied by
    ``alpha / rank``)."""
    target_modules: NotRequired[List[str]]
    """Names of the linear layers that receive adapters (default: the attention
    input and output projections, ``input_linear`` and ``output_linear``)."""


class HeadsConfig(TypedDict):
    """Which modules stay trainable when only the heads are fine-tuned."""

    head_modules: List[str]
    """Prefixes of trainable head modules, e.g. ``[node_heads, edge_heads]``."""
    last_layer_modules: List[str]
    """Prefixes of trainable last layers, e.g.
    ``[node_last_layers, edge_last_layers]``."""


class FullFinetuneHypers(TypedDict):
    """Fine-tune every parameter of a pre-trained model."""

    method: Literal["full"] = "full"
    """Train all parameters; the most flexible, needs the most data."""
    read_from: str
    """Path of the pre-trained checkpoint (``.ckpt``), relative to the working
    directory. Checkpoints of metatrain's built-in FlashMD are accepted."""
    config: NotRequired[Dict]
    inherit_heads: Dict[str, str] = {}
    """Map new target names to existing ones whose head weights are copied."""


class LoRaFinetuneHypers(TypedDict):
    """Fine-tune low-rank adapters only; the backbone stays frozen."""

    method: Literal["lora"] = "lora"
    """Train low-rank adapters; cheap and robust for small data sets."""
    read_from: str
    """Path of the pre-trained checkpoint (``.ckpt``)."""
    config: LoRaConfig
    """Adapter settings."""
    inherit_heads: Dict[str, str] = {}
    """Map new target names to existing ones whose head weights are copied."""


class HeadsFinetuneHypers(TypedDict):
    """Fine-tune the prediction heads only; the backbone stays frozen."""

    method: Literal["heads"] = "heads"
    """Train the heads and last layers only."""
    read_from: str
    """Path of the pre-trained checkpoint (``.ckpt``)."""
    config: HeadsConfig
    """Which modules stay trainable."""
    inherit_heads: Dict[str, str] = {}
    """Map new target names to existing ones whose head weights are copied."""


FixedWeights = Dict[str, Union[float, Dict[int, float]]]
"""Per-target value, either one number or one number per atomic number."""


# ---------------------------------------------------------------------------------
#  Model hyperparameters
# ---------------------------------------------------------------------------------


class ModelHypers(TypedDict):
    """Hyperparameters of the FlashMD model."""

    predict_momenta_as_difference: bool = False
    """Predict :math:`p(t+\\Delta t) - p(t)` instead of :math:`p(t+\\Delta t)`.
    Helps when the stride is short compared with the decorrelation time of the
    momenta (the change is then small); for long strides (momenta decorrelated, the
    usual FlashMD regime) predicting the new momenta directly is better."""
    cutoff: float = 4.5
    """Radius of the neighbour list, in A. Should cover the first coordination shell
    plus the distance atoms travel in one stride. Smaller is faster (cost grows with
    the number of neighbours, roughly as the cube of the cutoff)."""
    cutoff_width: float = 0.2
    """Width of the smooth (cosine) switching region below ``cutoff``, in A."""
    d_pet: int = 128
    """Width of the edge (pair) features. The main accuracy-versus-speed knob: the
    cost per stride grows roughly quadratically with it."""
    d_head: int = 128
    """Width of the hidden layers of the prediction heads."""
    d_node: int = 512
    """Width of the node (atom) features. Increasing it adds accuracy at a modest
    cost, since there is one node per atom but many edges."""
    d_feedforward: int = 256
    """Width of the feed-forward block inside each attention layer."""
    num_heads: int = 8
    """Number of attention heads; must divide ``d_pet``."""
    num_attention_layers: int = 2
    """Transformer layers inside each message-passing layer. More layers can help
    accuracy; cost grows linearly."""
    num_gnn_layers: int = 3
    """Message-passing layers. The receptive field is ``num_gnn_layers * cutoff``;
    one layer is much faster but less accurate."""
    normalization: Literal["RMSNorm", "LayerNorm"] = "RMSNorm"
    """Normalisation inside the transformer layers."""
    activation: Literal["SiLU", "SwiGLU"] = "SwiGLU"
    """Activation of the feed-forward blocks."""
    attention_temperature: float = 1.0
    """Divides the attention scores (besides the usual square root of the head
    width); values above 1 make attention more uniform."""
    transformer_type: Literal["PreLN", "PostLN"] = "PreLN"
    """Place of the normalisation: before (``PreLN``, more stable) or after
    (``PostLN``) each attention and feed-forward block."""
    featurizer_type: Literal["residual", "feedforward"] = "feedforward"
    """``feedforward`` reads out the last message-passing layer and mixes forward and
    reversed messages between layers; ``residual`` reads out every layer (the
    original PET scheme)."""
    momentum_encoder_width: Optional[int] = None
    """Width of the hidden layers of the MLP that encodes each atom's mass-scaled
    momentum into its initial node features. ``null`` uses ``d_node``. The encoder
    runs once per atom per stride; a wider one is rarely needed."""
    conserve_momentum: bool = True
    """Project the predicted momenta so that the total momentum of each system equals
    the input total momentum exactly (the least-squares correction in mass-scaled
    coordinates, i.e. one common velocity shift). Switch off only to study the raw
    network."""
    conserve_center_of_mass: bool = True
    """Shift the predicted positions so that the centre of mass of each system moves
    ballistically, COM(t+dt) = COM(t) + P dt / M, exactly."""


# ---------------------------------------------------------------------------------
#  Trainer hyperparameters
# ---------------------------------------------------------------------------------


class TrainerHypers(TypedDict):
    """Hyperparameters of the FlashMD trainer."""

    timestep: Optional[float] = None
    """The stride :math:`\\Delta t` between the two frames of each training pair, in
    fs. Required. It is stored in the model (``module.timestep``) and engines refuse
    to run it with another stride. Datasets written by ``mtt-flashmd pairs`` record
    their stride and training stops if it differs."""
    batch_size: int = 16
    """Number of pairs per optimisation step (summed over ranks when distributed).
    Larger batches train faster per epoch but need more memory."""
    # batch_size comes before masses: metatrain's command line looks for it by
    # walking the options in order and cannot walk past integer keys
    masses: Dict[int, float] = {}
    """Atomic masses in u, by atomic number. Elements left out take the
    ``ase.data`` masses (natural isotopic average). The masses are stored in the
    model; the dynamics it learned is only valid for them, so engines giving other
    masses (isotopes) are refused."""
    time_reversal: bool = True
    """Augment the training data with time-reversed pairs: swap the two frames and
    negate both momenta (Hamiltonian dynamics is time-reversible). Doubles the
    effective data; switch off only for non-reversible (e.g. thermostatted) data.
    The trainer owns time reversal: it reverses each pair with probability 1/2 at
    every epoch, so pair files need no reversed twins."""
    random_rotations: bool = True
    """Apply a random rotation (and, half of the time, an inversion) to each training
    pair, consistently to positions, cell, momenta and targets. The network is not
    exactly rotation-equivariant, so this is what teaches it the symmetry."""
    distributed: NotRequired[bool]
    """Force distributed training on (or off). When unset, it is switched on when the
    process runs under ``torchrun`` or as one of several SLURM tasks."""
    distributed_port: int = 39591
    """TCP port for the rendezvous of distributed ranks, when the launcher does not
    set ``MASTER_PORT``."""
    num_epochs: int = 1000
    """Total number of epochs. On restart, training continues up to this number."""
    warmup_fraction: float = 0.01
    """Fraction of all optimisation steps during which the learning rate rises
    linearly from zero; it then decays along a cosine to zero."""
    learning_rate: float = 3e-4
    """Peak learning rate of the Adam(W) optimiser."""
    weight_decay: Optional[float] = None
    """Decoupled weight decay (AdamW); ``null`` uses plain Adam."""
    log_interval: int = 1
    """Log training and validation errors every this many epochs."""
    checkpoint_interval: int = 100
    """Write ``model_<epoch>.ckpt`` every this many epochs."""
    seed_offset: int = 0
    """Added to the run's random seed for shuffling and augmentation; change it to
    draw other augmentations with the same model initialisation."""
    atomic_baseline: Union[FixedWeights, str] = {}
    """Per-element constant subtracted from a target before training. FlashMD
    targets (displacements and momenta) have zero mean by symmetry, so only zeros
    are accepted for ``position`` and ``momentum``; the option exists for
    compatibility with metatrain options files."""
    fixed_composition_weights: NotRequired[Union[FixedWeights, str]]
    """Older name of ``atomic_baseline``, still accepted."""
    scale_targets: bool = True
    """Normalise each mass-scaled target (and the momentum input) by its root mean
    square over the training set, so that the network works with numbers of order
    one. Leave on."""
    fixed_scaling_weights: FixedWeights = {}
    """Fix the normalisation of a target instead of computing it from the data: a
    number (the RMS of the mass-scaled target: A*u^(1/2) for ``position``,
    eV^(1/2) for ``momentum``) or, by atomic number, the RMS of the unscaled target
    (A or (eV*u)^(1/2)) for that element."""
    per_structure_targets: List[str] = []
    """Accepted for compatibility; FlashMD targets are per atom, so it must stay
    empty."""
    num_workers: Optional[int] = None
    """Processes preparing batches (neighbour lists, augmentation). ``null`` uses
    none for fewer than 2000 pairs and 2 otherwise."""
    log_mae: bool = False
    """Also log mean absolute errors."""
    log_separate_blocks: bool = False
    """Also log the errors of each element separately."""
    best_model_metric: Literal["rmse_prod", "mae_prod", "loss"] = "rmse_prod"
    """Validation metric that selects the model written for export: the product of
    the targets' RMSEs (``rmse_prod``), of their MAEs, or the loss."""
    grad_clip_norm: float = 1.0
    """Gradients are rescaled so that their norm does not exceed this value."""
    loss: Union[str, Dict[str, Union[LossSpecification, str]]] = "mse"
    """Loss of each target: a type for both (``mse``, ``mae``, ``huber``) or, per
    target name, a type or a specification with ``type``, ``weight``, ``delta``."""
    max_atoms_per_batch: Optional[int] = None
    """If set, batches are filled with pairs up to this total number of atoms
    instead of ``batch_size`` pairs; useful with structures of very different
    sizes."""
    min_atoms_per_batch: int = 0
    """With ``max_atoms_per_batch``: drop training batches with fewer atoms."""
    finetune: Union[
        NoFinetuneHypers, FullFinetuneHypers, LoRaFinetuneHypers, HeadsFinetuneHypers
    ] = {
        "read_from": None,
        "method": "full",
        "config": {},
        "inherit_heads": {},
    }
    """Start from a pre-trained FlashMD checkpoint (``read_from``) and train all
    parameters (``full``), low-rank adapters (``lora``) or the heads (``heads``).
    The stride of the pre-trained model must equal ``timestep``."""
