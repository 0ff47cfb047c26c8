"""The FlashMD model: positions and momenta at t + timestep from those at t."""

import math
from typing import Any, Dict, List, Literal, Mapping, Optional, Union

import ase.data
import numpy as np
import torch
from metatensor.torch import Labels, TensorMap
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
    LENGTH_UNIT,
    MASS,
    MASS_UNIT,
    MOMENTUM,
    MOMENTUM_UNIT,
    POSITION,
    TARGET_NAMES,
    last_layer_features_name,
)
from .checkpoints import records
from .checkpoints import versions as checkpoints
from .dataset_info import check_targets
from .documentation import ModelHypers
from .network.batching import AtomBatch, check_masses, concatenate_systems
from .network.flashmd import FlashMDNetwork
from .network.outputs import TrainingErrors, select_outputs, to_tensor_maps


_TARGET_OUTPUTS = {
    POSITION: (LENGTH_UNIT, "positions at t + timestep"),
    MOMENTUM: (MOMENTUM_UNIT, "momenta at t + timestep"),
}
"""Unit and description of the output of each target."""


class FlashMD(ModelInterface[ModelHypers], FlashMDNetwork):
    """FlashMD: one forward pass maps (positions, momenta) at t to t + timestep.

    The network sees each atom's momentum as ``p / sqrt(m)`` and predicts the
    mass-scaled displacement ``sqrt(m) * dr`` and momentum ``p' / sqrt(m)`` (or the
    change ``(p' - p) / sqrt(m)``), each normalised by its RMS over the training set.
    These scalings live in per-element buffers (``momentum_input_scale``,
    ``position_output_scale``, ``momentum_output_scale``), written only by
    :meth:`set_normalization` and :meth:`set_fixed_scales`. Total momentum and the
    ballistic motion of the centre of mass are then enforced exactly.

    Engines call :meth:`forward`; training calls :meth:`training_errors`. Both run
    the network through :meth:`predict`.

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
        targets = [name for name in TARGET_NAMES if name in dataset_info.targets]
        self.build(dict(hypers), list(dataset_info.atomic_types), targets)
        self.set_normalization(1.0, 1.0, 1.0)
        self.requested_nl = NeighborListOptions(
            cutoff=self.cutoff, full_list=True, strict=True
        )
        self.outputs: Dict[str, ModelOutput] = {
            FEATURE: ModelOutput(
                sample_kind="atom", description="internal per-atom features"
            )
        }
        for name in self.target_names:
            unit, description = _TARGET_OUTPUTS[name]
            self.outputs[name] = ModelOutput(
                unit=unit, sample_kind="atom", description=description
            )
            self.outputs[last_layer_features_name(name)] = ModelOutput(
                sample_kind="atom",
                description=f"features of the {name} head before its last layer",
            )
        self.finetune_config = {}
        self._stale_finetune_targets = []
        self.component_labels = Labels(["xyz"], torch.arange(3).reshape(-1, 1))
        self.single_key = Labels.single()

    # -- physical constants and normalisation ------------------------------------

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

    def output_scale(self, target: str) -> torch.Tensor:
        """The per-element (species order) output scale buffer of ``target``: A for
        ``position``, (eV*u)^(1/2) for ``momentum``."""
        if target == POSITION:
            return self.position_output_scale
        if target == MOMENTUM:
            return self.momentum_output_scale
        raise ValueError(f"FlashMD targets are {TARGET_NAMES}, not '{target}'")

    def _scales_for_rms(self, target: str, rms: float) -> torch.Tensor:
        """Per-element output scale of ``target`` whose mass-scaled RMS is ``rms``:
        ``sqrt(m) dr`` (A*u^(1/2)) gives ``rms / sqrt(m)`` (A), ``p / sqrt(m)``
        (eV^(1/2)) gives ``rms * sqrt(m)`` ((eV*u)^(1/2))."""
        sqrt_m = self.masses[torch.tensor(self.atomic_types)].sqrt()
        return rms / sqrt_m if target == POSITION else rms * sqrt_m

    def set_normalization(
        self, momentum_rms: float, position_rms: float, target_momentum_rms: float
    ) -> None:
        """Set the per-element scales from the stored masses and the RMS of the
        mass-scaled input momenta (eV^(1/2)), displacements (A*u^(1/2)) and target
        momenta (or momentum changes, eV^(1/2)) over the training set."""
        # the input is divided by the momentum whose mass-scaled RMS it has
        self.momentum_input_scale.copy_(
            1.0 / self._scales_for_rms(MOMENTUM, momentum_rms)
        )
        self.position_output_scale.copy_(self._scales_for_rms(POSITION, position_rms))
        self.momentum_output_scale.copy_(
            self._scales_for_rms(MOMENTUM, target_momentum_rms)
        )

    def set_fixed_scales(
        self, fixed: Mapping[str, Union[float, Mapping[int, float]]]
    ) -> None:
        """Overwrite output scales (the ``fixed_scaling_weights`` trainer hyper):
        per target, a number is the RMS of the mass-scaled target (A*u^(1/2) for
        ``position``, eV^(1/2) for ``momentum``; see :meth:`set_normalization`),
        and a mapping from atomic number gives that element's scale directly, the
        RMS of the unscaled target (A or (eV*u)^(1/2))."""
        for target, value in fixed.items():
            if target not in TARGET_NAMES:
                raise ValueError(
                    f"training.fixed_scaling_weights names '{target}'; FlashMD targets "
                    f"are {TARGET_NAMES}"
                )
            scales = self.output_scale(target)
            if not isinstance(value, Mapping):
                scales.copy_(self._scales_for_rms(target, float(value)))
                continue
            for z, scale in value.items():
                if z not in self.atomic_types:
                    raise ValueError(
                        f"training.fixed_scaling_weights.{target} names element "
                        f"{z}, which is not in the data"
                    )
                scales[self.atomic_types.index(z)] = float(scale)

    def record_training_limits(self, table: np.ndarray) -> None:
        """Widen the recorded ``training_limits`` to cover ``table`` too (rows in
        species order, columns of ``metatrain_flashmd._names.TRAINING_LIMITS``;
        see :mod:`metatrain_flashmd.training.limits`): a fine-tuned or restarted
        model knows the union of its training sets."""
        from .training.limits import merged_limits

        old = self.training_limits.detach().to("cpu", torch.float64).numpy()
        merged = merged_limits(old, np.asarray(table, dtype=float))
        self.training_limits.copy_(torch.from_numpy(merged))

    # -- metatrain interface -----------------------------------------------------

    def supported_outputs(self) -> Dict[str, ModelOutput]:
        return self.outputs

    def requested_neighbor_lists(self) -> List[NeighborListOptions]:
        return [self.requested_nl]

    def requested_inputs(self) -> Dict[str, ModelOutput]:
        return {
            MOMENTUM: ModelOutput(unit=MOMENTUM_UNIT, sample_kind="atom"),
            MASS: ModelOutput(unit=MASS_UNIT, sample_kind="atom"),
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
        last_layer_targets: List[str] = []
        for name in self.target_names:
            if name in outputs:
                targets.append(name)
            if last_layer_features_name(name) in outputs:
                last_layer_targets.append(name)
        batch = concatenate_systems(systems, self.requested_nl)
        check_masses(systems, self.masses)
        prediction = self.predict(
            batch, targets, last_layer_targets, "feature" in outputs
        )
        results = to_tensor_maps(
            prediction, batch, self.component_labels, self.single_key
        )
        return select_outputs(results, outputs, selected_atoms)

    # -- training ----------------------------------------------------------------

    def training_errors(
        self, atoms: AtomBatch, truth: Dict[str, torch.Tensor]
    ) -> TrainingErrors:
        """Predict every target of the model for ``atoms`` and compare with
        ``truth``, in physical units and in the normalised units of the network
        (the error divided by the element's output scale).

        :param truth: per target (n, 3): the displacement from t to t + timestep
            (``position``, A) and the momenta at t + timestep (``momentum``,
            (eV*u)^(1/2)).
        """
        prediction = self.predict(atoms, self.target_names, [], False)
        species = self.species_to_species_index[atoms.types]
        physical: Dict[str, torch.Tensor] = {}
        normalised: Dict[str, torch.Tensor] = {}
        for name in self.target_names:
            error = prediction.targets[name] - truth[name].to(atoms.positions)
            physical[name] = error
            normalised[name] = error / self.output_scale(name)[species].unsqueeze(-1)
        return TrainingErrors(physical, normalised, species)

    # -- checkpoints and export --------------------------------------------------

    @classmethod
    def load_checkpoint(
        cls,
        checkpoint: Dict[str, Any],
        context: Literal["restart", "finetune", "export"],
    ) -> "FlashMD":
        checkpoints.convert_or_refuse(checkpoint, cls)
        state_dict, finetune_config = records.weights_to_load(checkpoint, context)
        model_data = checkpoint["model_data"]
        model = cls(model_data["model_hypers"], model_data["dataset_info"])
        if finetune_config:
            model = apply_finetuning_strategy(
                model, finetune_config, apply_inherit_heads=False
            )
        model.to(getattr(torch, model_data["dtype"])).load_state_dict(state_dict)
        model.metadata = merge_metadata(model.metadata, checkpoint.get("metadata"))
        return model

    @classmethod
    def upgrade_checkpoint(cls, checkpoint: Dict[str, Any]) -> Dict[str, Any]:
        return checkpoints.upgrade_model_checkpoint(checkpoint, cls)

    def get_checkpoint(self) -> Dict[str, Any]:
        return records.model_checkpoint(self)

    def export(self, metadata: Optional[ModelMetadata] = None) -> AtomisticModel:
        dtype = self.timestep.dtype
        if dtype not in self.__supported_dtypes__:
            raise ValueError(f"FlashMD cannot be exported in {dtype}")
        self.to(dtype)
        capabilities = ModelCapabilities(
            outputs=self.outputs,
            atomic_types=self.atomic_types,
            interaction_range=self.cutoff * len(self.backbone.gnn_layers),
            length_unit=LENGTH_UNIT,
            supported_devices=self.__supported_devices__,
            dtype=dtype_to_str(dtype),
        )
        metadata = records.metadata_with_physics(
            merge_metadata(self.metadata, metadata),
            float(self.timestep),
            {z: float(self.masses[z]) for z in self.atomic_types},
        )
        return AtomisticModel(self.eval(), metadata, capabilities)
