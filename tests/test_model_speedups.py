"""The optimised forward pass computes the same function as a plain one.

For a few hyperparameter variants, small float64 models (random weights, the
normalisations' weights perturbed so that folding them is tested) are evaluated on a
batch of systems with the model's public ``forward``, and by
:func:`reference_forward.reference_forward` (metatrain's ``CartesianTransformer``
forward and an unchunked backbone and heads) with the same parameters; the outputs
and the gradients of a scalar function of them with respect to every parameter must
agree to 1e-6. The transformer layer is also compared directly with metatrain's
``CartesianTransformer.forward`` on random padded inputs.
"""

import sys
from pathlib import Path
from typing import Any, Dict, List

import ase
import pytest
import torch
from helpers import flashmd_dataset_info, tiny_hypers
from metatomic.torch import ModelOutput
from metatrain.pet.modules.transformer import CartesianTransformer


sys.path.insert(0, str(Path(__file__).parent))
from reference_forward import reference_forward  # noqa: E402
from test_model import alloy, make_system  # noqa: E402

from metatrain_flashmd.model import FlashMD  # noqa: E402


TOLERANCE = 1e-6
SMALL = {
    "d_pet": 16,
    "d_head": 8,
    "d_node": 32,
    "d_feedforward": 16,
    "num_heads": 4,
    "num_attention_layers": 2,
    "num_gnn_layers": 2,
}
VARIANTS: Dict[str, Dict[str, Any]] = {
    "default": {},
    "residual_layernorm_silu": {
        "featurizer_type": "residual",
        "normalization": "LayerNorm",
        "activation": "SiLU",
    },
    "postln_equal_widths": {"transformer_type": "PostLN", "d_node": 16},
    "three_layers_difference": {
        "num_gnn_layers": 3,
        "num_attention_layers": 1,
        "predict_momenta_as_difference": True,
        "attention_temperature": 2.0,
    },
}
OUTPUTS = [
    "position",
    "momentum",
    "feature",
    "mtt::aux::position_last_layer_features",
    "mtt::aux::momentum_last_layer_features",
]


def build(variant: str, seed: int = 0) -> FlashMD:
    """A float64 model of ``variant`` with random weights, its normalisations'
    weights perturbed and a non-trivial normalisation of inputs and outputs."""
    torch.manual_seed(seed)
    hypers = tiny_hypers(**{**SMALL, **VARIANTS[variant]})
    model = FlashMD(hypers, flashmd_dataset_info([13, 29, 79]))
    model.set_timestep(20.0)
    model.set_normalization(0.7, 0.03, 1.3)
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if "norm" in name:
                parameter.add_(0.3 * torch.randn_like(parameter))
    return model.to(torch.float64)


def structures() -> List[ase.Atoms]:
    """A periodic alloy, a cluster and a dilute periodic one (very uneven numbers
    of neighbours, so that padding matters)."""
    dilute = alloy(periodic=True, seed=3)
    dilute.positions[:8] += 0.9
    return [alloy(periodic=True), alloy(periodic=False, seed=1), dilute]


def scalar_of(values: Dict[str, torch.Tensor]) -> torch.Tensor:
    """A scalar function of all outputs that every output element changes."""
    return sum(
        (torch.sin(3.0 * v) * torch.linspace(-1, 1, v.numel()).reshape(v.shape))
        .sum()
        .double()
        for v in values.values()
    )


def with_gradients(
    module: torch.nn.Module, values: Dict[str, torch.Tensor]
) -> Dict[str, torch.Tensor]:
    """``values`` (detached) and, as ``grad:<name>``, the gradient of
    :func:`scalar_of` them with respect to each parameter of ``module``."""
    scalar_of(values).backward()
    gradients = {}
    for name, parameter in module.named_parameters():
        grad = parameter.grad
        gradients["grad:" + name] = (
            torch.zeros_like(parameter) if grad is None else grad.detach().clone()
        )
    return {**{k: v.detach() for k, v in values.items()}, **gradients}


def per_atom(results: Dict[str, Any]) -> Dict[str, torch.Tensor]:
    """The values of the model's output ``TensorMap`` of each of :data:`OUTPUTS`,
    as (atoms, values) tensors."""
    values = {}
    for name in OUTPUTS:
        block_values = results[name].block().values
        values[name] = block_values.reshape(block_values.shape[0], -1)
    return values


def evaluate(model: FlashMD) -> Dict[str, torch.Tensor]:
    """All outputs of ``model.forward`` for the batch of :func:`structures` ((atoms,
    values) each), and the gradients with respect to every parameter."""
    systems = [make_system(atoms, model, masses=True) for atoms in structures()]
    requested = {name: ModelOutput(sample_kind="atom") for name in OUTPUTS}
    model.zero_grad()
    return with_gradients(model, per_atom(model(systems, requested)))


def evaluate_reference(model: FlashMD) -> Dict[str, torch.Tensor]:
    """What :func:`evaluate` gives, computed by the plain reference with the same
    parameters."""
    systems = [make_system(atoms, model, masses=True) for atoms in structures()]
    model.zero_grad()
    values = reference_forward(model, systems)
    return with_gradients(model, {name: values[name] for name in OUTPUTS})


def check_against_reference(
    results: Dict[str, torch.Tensor], reference: Dict[str, torch.Tensor]
) -> None:
    for name, got in results.items():
        expected = reference[name]
        assert got.shape == expected.shape, name
        scale = max(1.0, float(expected.abs().max()))
        error = float((got - expected).abs().max())
        assert error <= TOLERANCE * scale, f"{name}: {error:.3g}"


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_reference_sees_every_parameter(variant):
    """The scalar function depends on every parameter (a parameter the reference
    ignored would otherwise go untested)."""
    gradients = evaluate_reference(build(variant))
    for name, gradient in gradients.items():
        if name.startswith("grad:"):
            assert float(gradient.abs().max()) > 0.0, name


@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("chunk_tokens", [None, 70])
def test_same_outputs_and_gradients_as_reference(variant, chunk_tokens):
    model = build(variant)
    if chunk_tokens is not None:
        model.backbone.chunk_tokens = chunk_tokens
    expected = evaluate_reference(model)
    results = evaluate(model)
    assert sorted(results) == sorted(expected)
    check_against_reference(results, expected)


@pytest.mark.parametrize("variant", ["default", "residual_layernorm_silu"])
def test_exported_model_matches_reference(variant, tmp_path):
    from metatomic.torch import ModelEvaluationOptions, load_atomistic_model

    model = build(variant)
    expected = evaluate_reference(model)
    model.backbone.chunk_tokens = 70
    model.export().save(str(tmp_path / "model.pt"))
    exported = load_atomistic_model(str(tmp_path / "model.pt"))
    systems = [make_system(atoms, model, masses=True) for atoms in structures()]
    options = ModelEvaluationOptions(
        length_unit="angstrom",
        outputs={name: ModelOutput(sample_kind="atom") for name in OUTPUTS},
    )
    for _ in range(3):  # TorchScript optimises the graph over the first calls
        results = exported(systems, options, check_consistency=True)
    check_against_reference(per_atom(results), expected)


def random_layer_inputs(
    num_atoms: int,
    max_neighbors: int,
    d_pet: int,
    d_node: int,
    num_species: int,
    seed: int,
) -> List[torch.Tensor]:
    """Inputs of a ``CartesianTransformer`` in PET's padded layout, with between 0
    and ``max_neighbors`` real neighbours per atom."""
    generator = torch.Generator().manual_seed(seed)

    def normal(*shape: int) -> torch.Tensor:
        return torch.randn(*shape, generator=generator, dtype=torch.float64)

    counts = torch.randint(0, max_neighbors + 1, (num_atoms,), generator=generator)
    counts[0] = max_neighbors
    padding = torch.arange(max_neighbors)[None, :] < counts[:, None]
    vectors = normal(num_atoms, max_neighbors, 3) * padding[..., None]
    distances = torch.sqrt((vectors**2).sum(-1) + 1e-15)
    cutoffs = torch.rand(
        num_atoms, max_neighbors, generator=generator, dtype=torch.float64
    )
    cutoffs = cutoffs * padding
    species = torch.randint(
        0, num_species, (num_atoms, max_neighbors), generator=generator
    )
    return [
        normal(num_atoms, d_node),
        normal(num_atoms, max_neighbors, d_pet),
        species * padding,
        vectors,
        padding,
        distances,
        cutoffs,
    ]


LAYER_VARIANTS = [
    dict(norm="RMSNorm", activation="SwiGLU", kind="PreLN", d_node=24, first=True),
    dict(norm="RMSNorm", activation="SwiGLU", kind="PreLN", d_node=24, first=False),
    dict(norm="LayerNorm", activation="SiLU", kind="PreLN", d_node=24, first=False),
    dict(norm="RMSNorm", activation="SwiGLU", kind="PreLN", d_node=16, first=False),
    dict(norm="LayerNorm", activation="SwiGLU", kind="PostLN", d_node=24, first=False),
]


def transformer_pair(options: Dict[str, Any]) -> Any:
    from metatrain_flashmd.network.transformer import FastCartesianTransformer

    arguments = (
        4.5,
        0.2,
        16,
        4,
        options["d_node"],
        20,
        2,
        options["norm"],
        options["activation"],
        1.5,
        options["kind"],
        3,
        options["first"],
    )
    torch.manual_seed(0)
    reference = CartesianTransformer(*arguments).to(torch.float64)
    fast = FastCartesianTransformer(*arguments).to(torch.float64)
    assert list(fast.state_dict()) == list(reference.state_dict())
    for name, tensor in fast.state_dict().items():
        assert tensor.shape == reference.state_dict()[name].shape
    # perturb the norms' weights so that folding them is tested
    with torch.no_grad():
        for name, parameter in reference.named_parameters():
            if "norm" in name:
                parameter.add_(0.3 * torch.randn_like(parameter))
    fast.load_state_dict(reference.state_dict())
    return reference, fast


@pytest.mark.parametrize("options", LAYER_VARIANTS)
@pytest.mark.parametrize("scripted", [False, True])
def test_transformer_layer_matches_metatrain(options, scripted):
    reference, fast = transformer_pair(options)
    if scripted:
        fast = torch.jit.script(fast)
    inputs = random_layer_inputs(37, 9, 16, options["d_node"], 3, seed=1)
    expected = CartesianTransformer.forward(reference, *inputs, False)
    got = fast(*inputs, False)
    for a, b in zip(got, expected):
        assert a.shape == b.shape
        assert float((a - b).detach().abs().max()) < TOLERANCE
    # padded slots may differ (they are never read); real ones may not
    padding = inputs[4]
    assert float((got[1] - expected[1])[padding].detach().abs().max()) < TOLERANCE


def test_transformer_layer_with_lora_matches_metatrain():
    from metatrain.pet.modules.finetuning import inject_lora_layers

    options = LAYER_VARIANTS[1]
    reference, fast = transformer_pair(options)
    targets = ("input_linear", "w_in")
    reference = inject_lora_layers(reference, targets, rank=2, dtype=torch.float64)
    fast = inject_lora_layers(fast, targets, rank=2, dtype=torch.float64)
    with torch.no_grad():
        for name, parameter in reference.named_parameters():
            if "lora_B" in name:
                parameter.normal_()
    fast.load_state_dict(reference.state_dict())
    inputs = random_layer_inputs(11, 5, 16, options["d_node"], 3, seed=2)
    expected = CartesianTransformer.forward(reference, *inputs, False)
    for module in (fast, torch.jit.script(fast)):
        got = module(*inputs, False)
        for a, b in zip(got, expected):
            assert float((a - b).detach().abs().max()) < TOLERANCE


@pytest.mark.parametrize("options", LAYER_VARIANTS)
def test_float32_scripted_layer_matches_metatrain(options):
    """In float32 inference, the scripted layer agrees with metatrain's to float32
    rounding."""
    reference, fast = transformer_pair(options)
    reference, fast = reference.float(), torch.jit.script(fast.float())
    inputs = random_layer_inputs(37, 9, 16, options["d_node"], 3, seed=4)
    inputs = [x.float() if x.is_floating_point() else x for x in inputs]
    with torch.no_grad():
        expected = CartesianTransformer.forward(reference, *inputs, False)
        for _ in range(3):
            got = fast(*inputs, False)
    for a, b in zip(got, expected):
        assert float((a - b).abs().max()) < 2e-4 * max(1.0, float(b.abs().max()))


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_float32_inference_matches_training_mode(variant):
    """Without gradients, the backbone reuses its buffers in place, chunk by chunk;
    it computes what the autograd path computes."""
    model = build(variant).float()
    model.backbone.chunk_tokens = 70
    systems = [
        make_system(atoms, model, dtype=torch.float32, masses=True)
        for atoms in structures()
    ]
    requested = {name: ModelOutput(sample_kind="atom") for name in OUTPUTS}
    with_gradients = model(systems, requested)  # parameters require gradients
    with torch.no_grad():
        in_place = model(systems, requested)
    for name in OUTPUTS:
        a = in_place[name].block().values
        b = with_gradients[name].block().values.detach()
        assert float((a - b).abs().max()) < 2e-4 * max(1.0, float(b.abs().max()))
