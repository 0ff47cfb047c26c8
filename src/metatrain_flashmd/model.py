"""The FlashMD model: positions and momenta at t + timestep from those at t."""

import json
import logging
import math
from typing import Any, Dict, List, Literal, Optional

import ase.data
import ase.units
import metatensor.torch as mts
import torch
from metatensor.torch import Labels, TensorBlock, TensorMap
from metatomic.torch import (
    AtomisticModel,
    ModelCapabilities,
    ModelMetadata,
    ModelOutput,
    NeighborListOptions,
    System,
)
from metatrain.pet.modules.finetuning import apply_finetuning_strategy
from metatrain.utils.abc import ModelInterface
from metatrain.utils.data import DatasetInfo
from metatrain.utils.dtype import dtype_to_str
from metatrain.utils.hypers import raise_if_hypers_mismatch
from metatrain.utils.metadata import merge_metadata

from ._names import (
    FEATURE,
    MASS,
    MOMENTUM,
    MOMENTUM_UNIT,
    POSITION,
    TARGET_NAMES,
    last_layer_features_name,
)
from .checkpoints import versions as checkpoints
from .dataset_info import check_targets
from .documentation import ModelHypers
from .network.backbone import Backbone
from .network.batching import (
    AtomBatch,
    concatenate_systems,
    padded_neighborhoods,
    read_masses,
)
from .network.conservation import conserve_center_of_mass, conserve_momentum
from .network.heads import head_mlps, last_layers, neighbor_sum


FS_IN_ASE_TIME: float = float(ase.units.fs)
"""One femtosecond in ASE time units, sqrt(u * A^2 / eV)."""


class FlashMD(ModelInterface[ModelHypers]):
    """FlashMD: one forward pass maps (positions, momenta) at t to t + timestep.

    The network sees each atom's momentum as ``p / sqrt(m)`` and predicts the
    mass-scaled displacement ``sqrt(m) * dr`` and momentum ``p' / sqrt(m)`` (or the
    change ``(p' - p) / sqrt(m)``), each normalised by its RMS over the training set.
    These scalings live in per-element buffers (``momentum_input_scale``,
    ``position_output_scale``, ``momentum_output_scale``). Total momentum and the
    ballistic motion of the centre of mass are then enforced exactly.

    Reference: F. Bigi, S. Chong, A. Kristiadi, M. Ceriotti, "FlashMD: long-stride,
    universal prediction of molecular dynamics", arXiv:2505.19350.

    :param hypers: model hyperparameters (:class:`ModelHypers`).
    :param dataset_info: elements and targets (``position`` and/or ``momentum``).
    """

    __checkpoint_version__ = checkpoints.MODEL_VERSION
    target_names: List[str]
    finetune_config: Dict[str, Any]
    _stale_finetune_targets: List[str]
    __supported_devices__ = ["cuda", "cpu"]
    __supported_dtypes__ = [torch.float32, torch.float64]
    # the fine-tuning record (nested dicts of mixed types) is for checkpoints only;
    # TorchScript cannot type it, and the exported model does not need it
    __jit_ignored_attributes__ = ["finetune_config"]
    __default_metadata__ = ModelMetadata(
        references={
            "architecture": ["https://arxiv.org/abs/2505.19350"],
            "implementation": [
                "https://github.com/metatrain-flashmd/metatrain-flashmd"
            ],
        }
    )

    def __init__(self, hypers: ModelHypers, dataset_info: DatasetInfo) -> None:
        super().__init__(hypers, dataset_info, self.__default_metadata__)
        check_targets(dataset_info.targets)
        self.atomic_types: List[int] = sorted(dataset_info.atomic_types)
        self.cutoff = float(hypers["cutoff"])
        self.cutoff_width = float(hypers["cutoff_width"])
        self.predict_momenta_as_difference = bool(
            hypers["predict_momenta_as_difference"]
        )
        self.conserve_momentum = bool(hypers.get("conserve_momentum", True))
        self.conserve_center_of_mass = bool(hypers.get("conserve_center_of_mass", True))
        self.fs_in_ase_time = FS_IN_ASE_TIME
        self.requested_nl = NeighborListOptions(
            cutoff=self.cutoff, full_list=True, strict=True
        )

        num_species = len(self.atomic_types)
        max_type = max(self.atomic_types)
        species_index = torch.full((max_type + 1,), -1, dtype=torch.long)
        species_index[torch.tensor(self.atomic_types)] = torch.arange(num_species)
        self.register_buffer("species_to_species_index", species_index)

        self.backbone = Backbone(dict(hypers), num_species)
        self.num_readout_layers = self.backbone.num_readout_layers

        d_node, d_pet, d_head = hypers["d_node"], hypers["d_pet"], hypers["d_head"]
        self.node_heads = torch.nn.ModuleDict()
        self.edge_heads = torch.nn.ModuleDict()
        self.node_last_layers = torch.nn.ModuleDict()
        self.edge_last_layers = torch.nn.ModuleDict()
        self.target_names = []
        self.outputs: Dict[str, ModelOutput] = {
            FEATURE: ModelOutput(
                sample_kind="atom", description="internal per-atom features"
            )
        }
        for name in TARGET_NAMES:
            if name not in dataset_info.targets:
                continue
            self.target_names.append(name)
            layers = self.num_readout_layers
            self.node_heads[name] = head_mlps(d_node, d_head, layers)
            self.edge_heads[name] = head_mlps(d_pet, d_head, layers)
            self.node_last_layers[name] = last_layers(d_head, 3, layers)
            self.edge_last_layers[name] = last_layers(d_head, 3, layers)
            self.outputs[name] = ModelOutput(
                unit="angstrom" if name == POSITION else MOMENTUM_UNIT,
                sample_kind="atom",
                description=(
                    "positions at t + timestep"
                    if name == POSITION
                    else "momenta at t + timestep"
                ),
            )
            self.outputs[last_layer_features_name(name)] = ModelOutput(
                sample_kind="atom",
                description=f"features of the {name} head before its last layer",
            )

        # per-element physical constants and scales (see the class docstring)
        default_masses = torch.full((max_type + 1,), float("nan"))
        for z in self.atomic_types:
            default_masses[z] = float(ase.data.atomic_masses[z])
        self.register_buffer("masses", default_masses)
        self.register_buffer("timestep", torch.tensor(float("nan")))
        sqrt_m = default_masses[torch.tensor(self.atomic_types)].sqrt()
        self.register_buffer("momentum_input_scale", 1.0 / sqrt_m)
        self.register_buffer("position_output_scale", 1.0 / sqrt_m)
        self.register_buffer("momentum_output_scale", sqrt_m.clone())

        self.finetune_config = {}
        self._stale_finetune_targets = []
        self.component_labels = Labels(["xyz"], torch.arange(3).reshape(-1, 1))
        self.single_key = Labels.single()

    # -- physical constants ------------------------------------------------------

    def set_timestep(self, timestep: float) -> None:
        """Store the stride this model predicts, in fs."""
        if not (math.isfinite(timestep) and timestep > 0):
            raise ValueError(
                f"the timestep must be a positive number of fs, got {timestep}"
            )
        self.timestep.fill_(float(timestep))

    def set_masses(self, masses: Dict[int, float]) -> None:
        """Store the mass of each element (atomic number -> u)."""
        for z, mass in masses.items():
            if z not in self.atomic_types:
                continue
            if not (math.isfinite(mass) and mass > 0):
                raise ValueError(
                    f"the mass of element {z} must be positive, got {mass}"
                )
            self.masses[z] = float(mass)

    def set_normalization(
        self, momentum_rms: float, position_rms: float, target_momentum_rms: float
    ) -> None:
        """Set the per-element scales from the stored masses and the RMS of the
        mass-scaled input momenta (eV^(1/2)), displacements (A*u^(1/2)) and target
        momenta (or momentum changes, eV^(1/2)) over the training set."""
        sqrt_m = self.masses[torch.tensor(self.atomic_types)].sqrt()
        self.momentum_input_scale.copy_(1.0 / (sqrt_m * momentum_rms))
        self.position_output_scale.copy_(position_rms / sqrt_m)
        self.momentum_output_scale.copy_(target_momentum_rms * sqrt_m)

    # -- metatrain interface -----------------------------------------------------

    def supported_outputs(self) -> Dict[str, ModelOutput]:
        return self.outputs

    def requested_neighbor_lists(self) -> List[NeighborListOptions]:
        return [self.requested_nl]

    def requested_inputs(self) -> Dict[str, ModelOutput]:
        return {
            MOMENTUM: ModelOutput(unit=MOMENTUM_UNIT, sample_kind="atom"),
            MASS: ModelOutput(unit="u", sample_kind="atom"),
        }

    def restart(
        self, dataset_info: DatasetInfo, model_hypers: Optional[Dict[str, Any]] = None
    ) -> "FlashMD":
        if model_hypers is not None:
            from metatrain.utils.hypers import init_with_defaults

            raise_if_hypers_mismatch(
                self.hypers,
                model_hypers,
                default_hypers=init_with_defaults(ModelHypers),
            )
        check_targets(dataset_info.targets)
        new_types = sorted(set(dataset_info.atomic_types) - set(self.atomic_types))
        if new_types:
            symbols = ", ".join(
                f"{ase.data.chemical_symbols[z]} ({z})" for z in new_types
            )
            raise ValueError(
                f"the training data contains elements this model was not trained on: "
                f"{symbols}. A FlashMD model cannot learn new elements when restarted "
                f"or fine-tuned (it knows {self.atomic_types}); train a new model."
            )
        missing = [
            name for name in dataset_info.targets if name not in self.target_names
        ]
        if missing:
            raise ValueError(
                f"the model has no head for {missing}; it was trained on "
                f"{self.target_names}. Train a new model to add targets."
            )
        self.dataset_info = self.dataset_info.union(dataset_info)
        return self

    def remove_output(self, target_name: str) -> None:
        raise ValueError(f"FlashMD models cannot drop the '{target_name}' output")

    def forward(
        self,
        systems: List[System],
        outputs: Dict[str, ModelOutput],
        selected_atoms: Optional[Labels] = None,
    ) -> Dict[str, TensorMap]:
        """Predict the requested outputs (``position``, ``momentum``, ``feature``,
        last-layer features) for ``systems``, which must carry ``momentum`` data."""
        if len(systems) == 0:
            return {}
        targets: List[str] = []
        ll_targets: List[str] = []
        for name in self.target_names:
            if name in outputs:
                targets.append(name)
            if last_layer_features_name(name) in outputs:
                ll_targets.append(name)
        batch = concatenate_systems(systems, self.requested_nl)
        self._check_masses(systems)
        values = self.predict(batch, systems, targets, ll_targets, "feature" in outputs)

        samples = Labels(
            ["system", "atom"],
            torch.stack([batch.system_indices, batch.atom_indices], dim=1).to(
                torch.int32
            ),
            assume_unique=True,
        )
        results: Dict[str, TensorMap] = {}
        for name, tensor in values.items():
            if name == "position":
                tensor = batch.positions + tensor
            if name in self.target_names:
                block = TensorBlock(
                    values=tensor.unsqueeze(-1),
                    samples=samples,
                    components=[self.component_labels.to(tensor.device)],
                    properties=Labels(
                        [name],
                        torch.zeros((1, 1), dtype=torch.int32, device=tensor.device),
                    ),
                )
                key = name
            else:
                block = TensorBlock(
                    values=tensor,
                    samples=samples,
                    components=[],
                    # not Labels.range: models calling it fail to save with torch 2.13
                    properties=Labels(
                        ["feature"],
                        torch.arange(
                            tensor.shape[1], dtype=torch.int32, device=tensor.device
                        ).reshape(-1, 1),
                    ),
                )
                key = (
                    "feature"
                    if name == "feature"
                    else last_layer_features_name(name[:-3])
                )
            tensor_map = TensorMap(self.single_key.to(tensor.device), [block])
            if outputs[key].sample_kind == "system":
                tensor_map = mts.sum_over_samples(tensor_map, ["atom"])
            results[key] = tensor_map

        if selected_atoms is not None:
            for key in list(results.keys()):
                if outputs[key].sample_kind == "atom":
                    results[key] = mts.slice(
                        results[key], axis="samples", selection=selected_atoms
                    )
        return results

    def predict(
        self,
        batch: AtomBatch,
        systems: List[System],
        targets: List[str],
        last_layer_targets: List[str],
        with_features: bool,
    ) -> Dict[str, torch.Tensor]:
        """Per-atom tensors for the atoms of ``batch``: the displacement
        (``position``, A) and new momenta (``momentum``, (eV*u)^(1/2)) for each name
        in ``targets``, the last-layer features of ``last_layer_targets`` (keyed by
        target name + ``"_ll"``) and, if asked, the backbone features (``feature``).

        ``systems`` (the same atoms) are only read by the long-range featurizer;
        without it an empty list will do.
        """
        species = self.species_to_species_index[batch.types]
        with torch.profiler.record_function("FlashMD::neighborhoods"):
            (
                _,
                neighbor_species,
                edge_vectors,
                edge_distances,
                padding_mask,
                reverse_neighbor_index,
                cutoff_factors,
            ) = padded_neighborhoods(
                batch, self.species_to_species_index, self.cutoff, self.cutoff_width
            )
        scale = self.momentum_input_scale[species].unsqueeze(-1)
        scaled_momenta = batch.momenta * scale
        with torch.profiler.record_function("FlashMD::backbone"):
            node_features, edge_features = self.backbone(
                species,
                scaled_momenta,
                neighbor_species,
                edge_vectors,
                edge_distances,
                padding_mask,
                cutoff_factors,
                reverse_neighbor_index,
            )

        values: Dict[str, torch.Tensor] = {}
        if with_features:
            pieces: List[torch.Tensor] = []
            for nodes, edges in zip(node_features, edge_features):
                pieces.append(nodes)
                pieces.append(neighbor_sum(cutoff_factors, edges))
            values["feature"] = torch.cat(pieces, dim=1)

        wanted = targets + last_layer_targets
        if len(wanted) == 0:
            return values
        features = self._last_layer_features(
            wanted, node_features, edge_features, cutoff_factors
        )
        for name in last_layer_targets:
            values[name + "_ll"] = torch.cat(features[name], dim=1)
        cutoff_sums = cutoff_factors.sum(dim=1, keepdim=True)
        raw: Dict[str, torch.Tensor] = {}
        for name, layers in self.node_last_layers.items():
            if name in targets:
                for i, layer in enumerate(layers):
                    contribution = layer(features[name][2 * i])
                    raw[name] = contribution if i == 0 else raw[name] + contribution
        # the edge last layers are linear, so they are applied after the neighbour
        # sum, their bias weighted by the sum of the cutoff factors
        for name, layers in self.edge_last_layers.items():
            if name in targets:
                for i, layer in enumerate(layers):
                    summed = features[name][2 * i + 1]
                    raw[name] = (
                        raw[name]
                        + torch.nn.functional.linear(summed, layer.weight)
                        + cutoff_sums * layer.bias
                    )
        masses = self.masses[batch.types]
        num_systems = batch.cells.shape[0]
        # target names spelled out: TorchScript cannot read string constants
        if "position" in raw:
            displacement = raw["position"] * self.position_output_scale[
                species
            ].unsqueeze(-1)
            if self.conserve_center_of_mass and bool(torch.isfinite(self.timestep)):
                displacement = conserve_center_of_mass(
                    displacement,
                    batch.momenta,
                    masses,
                    batch.system_indices,
                    num_systems,
                    self.timestep * self.fs_in_ase_time,
                )
            values["position"] = displacement
        if "momentum" in raw:
            momenta = raw["momentum"] * self.momentum_output_scale[species].unsqueeze(
                -1
            )
            if self.predict_momenta_as_difference:
                momenta = momenta + batch.momenta
            if self.conserve_momentum:
                momenta = conserve_momentum(
                    momenta, batch.momenta, masses, batch.system_indices, num_systems
                )
            values["momentum"] = momenta
        return values

    def _last_layer_features(
        self,
        names: List[str],
        node_features: List[torch.Tensor],
        edge_features: List[torch.Tensor],
        cutoff_factors: torch.Tensor,
    ) -> Dict[str, List[torch.Tensor]]:
        """Per target: [node head, summed edge head] for each readout layer.

        The edge heads run on chunks of atoms (those of the backbone), so that
        their (atoms, neighbours, d_head) hidden features never exist for the
        whole system at once.
        """
        features: Dict[str, List[torch.Tensor]] = {}
        with torch.profiler.record_function("FlashMD::heads"):
            for name, heads in self.node_heads.items():
                if name in names:
                    features[name] = [torch.zeros(0)] * (2 * self.num_readout_layers)
                    for i, head in enumerate(heads):
                        features[name][2 * i] = head(node_features[i])
            for name, heads in self.edge_heads.items():
                if name in names:
                    for i, head in enumerate(heads):
                        edges = edge_features[i]
                        bounds = self.backbone.chunks(edges.shape[0], edges.shape[1])
                        summed: List[torch.Tensor] = []
                        for start, end in zip(bounds[:-1], bounds[1:]):
                            hidden = head(edges[start:end])
                            summed.append(
                                neighbor_sum(cutoff_factors[start:end], hidden)
                            )
                        features[name][2 * i + 1] = torch.cat(summed)
        return features

    def _check_masses(self, systems: List[System]) -> None:
        """Refuse systems whose masses differ from the ones the model learned."""
        for index, system in enumerate(systems):
            given = read_masses(system)
            if given.shape[0] == 0:
                continue
            expected = self.masses[system.types].to(given.dtype)
            mismatch = torch.logical_not(
                torch.isclose(given, expected, rtol=1e-5, atol=0.0)
            )
            if bool(mismatch.any()):
                atom = int(torch.nonzero(mismatch)[0, 0])
                z = int(system.types[atom])
                raise ValueError(
                    "atom "
                    + str(atom)
                    + " of system "
                    + str(index)
                    + " (atomic number "
                    + str(z)
                    + ") has mass "
                    + str(float(given[atom]))
                    + " u, but this FlashMD model was trained with mass "
                    + str(float(expected[atom]))
                    + " u for this element: the learned dynamics is only valid "
                    "for the training masses"
                )

    # -- checkpoints and export --------------------------------------------------

    @classmethod
    def load_checkpoint(
        cls,
        checkpoint: Dict[str, Any],
        context: Literal["restart", "finetune", "export"],
    ) -> "FlashMD":
        checkpoints.convert_or_refuse(checkpoint, cls)
        if context == "restart":
            logging.info(f"Using latest model from epoch {checkpoint['epoch']}")
            state_dict = checkpoint["model_state_dict"]
        elif context in ("finetune", "export"):
            logging.info(f"Using best model from epoch {checkpoint['best_epoch']}")
            state_dict = checkpoint["best_model_state_dict"]
            if state_dict is None:
                state_dict = checkpoint["model_state_dict"]
        else:
            raise ValueError(f"unknown checkpoint context '{context}'")
        state_dict = dict(state_dict)
        finetune_config = state_dict.pop("finetune_config", {})
        model_data = checkpoint["model_data"]
        model = cls(model_data["model_hypers"], model_data["dataset_info"])
        if finetune_config:
            model = apply_finetuning_strategy(
                model, finetune_config, apply_inherit_heads=False
            )
        dtype = getattr(torch, checkpoint["model_data"]["dtype"])
        model.to(dtype).load_state_dict(state_dict)
        model.metadata = merge_metadata(model.metadata, checkpoint.get("metadata"))
        return model

    @classmethod
    def upgrade_checkpoint(cls, checkpoint: Dict[str, Any]) -> Dict[str, Any]:
        return checkpoints.upgrade_model_checkpoint(checkpoint, cls)

    def get_checkpoint(self) -> Dict[str, Any]:
        state_dict = self.state_dict()
        state_dict["finetune_config"] = self.finetune_config
        dtype = self.timestep.dtype
        return {
            "architecture_name": "experimental.flashmd",
            "implementation": checkpoints.IMPLEMENTATION,
            "model_ckpt_version": self.__checkpoint_version__,
            "metadata": self.metadata,
            "model_data": {
                "model_hypers": self.hypers,
                "dataset_info": self.dataset_info,
                "dtype": str(dtype).replace("torch.", ""),
            },
            "epoch": None,
            "best_epoch": None,
            "model_state_dict": state_dict,
            "best_model_state_dict": self.state_dict(),
        }

    def export(self, metadata: Optional[ModelMetadata] = None) -> AtomisticModel:
        dtype = self.timestep.dtype
        if dtype not in self.__supported_dtypes__:
            raise ValueError(f"FlashMD cannot be exported in {dtype}")
        self.to(dtype)
        capabilities = ModelCapabilities(
            outputs=self.outputs,
            atomic_types=self.atomic_types,
            interaction_range=self.cutoff * len(self.backbone.gnn_layers),
            length_unit="angstrom",
            supported_devices=self.__supported_devices__,
            dtype=dtype_to_str(dtype),
        )
        metadata = merge_metadata(self.metadata, metadata)
        return AtomisticModel(self.eval(), self._with_physics(metadata), capabilities)

    def _with_physics(self, metadata: ModelMetadata) -> ModelMetadata:
        """``metadata`` with the timestep (fs) and masses (u) in its ``extra``."""
        state = json.loads(metadata._get_method("__getstate__")())
        state.pop("class")
        state["extra"] = {
            **state.get("extra", {}),
            "flashmd_timestep_fs": f"{float(self.timestep):.10g}",
            "flashmd_masses_u": json.dumps(
                {
                    ase.data.chemical_symbols[z]: float(self.masses[z])
                    for z in self.atomic_types
                }
            ),
        }
        return ModelMetadata(**state)
