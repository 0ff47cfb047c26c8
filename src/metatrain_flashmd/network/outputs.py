"""What one pass of the network returns, and its metatensor form for engines.

:class:`Prediction` holds plain per-atom tensors (the training path reads them);
:func:`to_tensor_maps` turns them into the ``TensorMap`` outputs of the metatomic
interface, with absolute positions.
"""

from typing import Dict, List, NamedTuple, Optional

import metatensor.torch as mts
import torch
from metatensor.torch import Labels, TensorBlock, TensorMap
from metatomic.torch import ModelOutput

from .._names import last_layer_features_name
from .batching import AtomBatch


class Prediction(NamedTuple):
    """Per-atom results of the network for the ``n`` atoms of a batch."""

    targets: Dict[str, torch.Tensor]
    """Requested targets, (n, 3) each: ``position`` is the displacement from t to
    t + timestep (A), ``momentum`` the momenta at t + timestep ((eV*u)^(1/2))."""
    last_layer_features: Dict[str, torch.Tensor]
    """Requested last-layer features, by target name, (n, features)."""
    features: Optional[torch.Tensor]
    """Backbone features (n, features), if requested."""


def atom_samples(batch: AtomBatch) -> Labels:
    """``system, atom`` sample labels of the atoms of ``batch``."""
    return Labels(
        ["system", "atom"],
        torch.stack([batch.system_indices, batch.atom_indices], dim=1).to(torch.int32),
        assume_unique=True,
    )


def vector_map(
    values: torch.Tensor, samples: Labels, components: Labels, key: Labels, name: str
) -> TensorMap:
    """A per-atom Cartesian vector output (n, 3) as a single-block ``TensorMap``."""
    device = values.device
    block = TensorBlock(
        values=values.unsqueeze(-1),
        samples=samples,
        components=[components.to(device)],
        properties=Labels(
            [name], torch.zeros((1, 1), dtype=torch.int32, device=device)
        ),
    )
    return TensorMap(key.to(device), [block])


def feature_map(values: torch.Tensor, samples: Labels, key: Labels) -> TensorMap:
    """Per-atom features (n, d) as a single-block ``TensorMap``."""
    device = values.device
    block = TensorBlock(
        values=values,
        samples=samples,
        components=[],
        # not Labels.range: models calling it fail to save with torch 2.13
        properties=Labels(
            ["feature"],
            torch.arange(values.shape[1], dtype=torch.int32, device=device).reshape(
                -1, 1
            ),
        ),
    )
    return TensorMap(key.to(device), [block])


def to_tensor_maps(
    prediction: Prediction,
    batch: AtomBatch,
    components: Labels,
    key: Labels,
) -> Dict[str, TensorMap]:
    """The outputs of ``prediction`` by output name, positions made absolute.

    :param components: the ``xyz`` component labels of vector outputs.
    :param key: the single key of every output.
    """
    samples = atom_samples(batch)
    results: Dict[str, TensorMap] = {}
    for name, values in prediction.targets.items():
        # spelled out: TorchScript cannot read string constants of _names
        if name == "position":
            values = batch.positions + values
        results[name] = vector_map(values, samples, components, key, name)
    for name, values in prediction.last_layer_features.items():
        results[last_layer_features_name(name)] = feature_map(values, samples, key)
    features = prediction.features
    if features is not None:
        results["feature"] = feature_map(features, samples, key)
    return results


def select_outputs(
    results: Dict[str, TensorMap],
    outputs: Dict[str, ModelOutput],
    selected_atoms: Optional[Labels],
) -> Dict[str, TensorMap]:
    """``results`` summed over atoms where a per-system output is asked for, and
    restricted to ``selected_atoms`` (if given) otherwise."""
    names: List[str] = list(results.keys())
    for name in names:
        if outputs[name].sample_kind == "system":
            results[name] = mts.sum_over_samples(results[name], ["atom"])
        elif selected_atoms is not None:
            results[name] = mts.slice(
                results[name], axis="samples", selection=selected_atoms
            )
    return results


class TrainingErrors(NamedTuple):
    """Errors of a batch's predictions against the training targets."""

    physical: Dict[str, torch.Tensor]
    """Per target, prediction minus truth (n, 3): A for ``position`` (the
    displacement), (eV*u)^(1/2) for ``momentum``."""
    normalised: Dict[str, torch.Tensor]
    """Per target, the same error mass-scaled and divided by the target's RMS over
    the training set (n, 3), dimensionless: what the loss compares."""
    species: torch.Tensor
    """(n,) species index of each atom (the model's element order)."""
