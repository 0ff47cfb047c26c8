"""The FlashMD network: from a batch of atoms to displacements and new momenta.

:class:`FlashMDNetwork` holds the network's modules and buffers and its forward
maths, TorchScript-ready. It is the base of the metatrain model
(:class:`metatrain_flashmd.model.FlashMD`), so that its modules and buffers sit at
the top level of the model's state dict, where checkpoints and metatrain's
fine-tuning helpers find them by name (``backbone``, ``node_heads``, ...).
"""

from typing import Any, Dict, List, Optional, Tuple

import ase.data
import ase.units
import torch

from .._names import TRAINING_LIMITS
from .backbone import Backbone
from .batching import AtomBatch, padded_neighborhoods
from .conservation import conserve_center_of_mass, conserve_momentum
from .heads import head_mlps, last_layers, neighbor_sum
from .outputs import Prediction


FS_IN_ASE_TIME: float = float(ase.units.fs)
"""One femtosecond in ASE time units, sqrt(u * A^2 / eV)."""


class FlashMDNetwork(torch.nn.Module):
    """Modules, buffers and forward maths of FlashMD; :meth:`build` creates them.

    Per-element buffers, in the order of :attr:`atomic_types` (species index):
    ``momentum_input_scale`` multiplies the input momenta, ``position_output_scale``
    and ``momentum_output_scale`` the network's outputs (the model sets them, see
    ``FlashMD.set_normalization``). ``masses`` (u) is indexed by atomic number,
    ``timestep`` is the stride (fs; NaN until set). ``training_limits`` (one row
    per element, the columns of ``metatrain_flashmd._names.TRAINING_LIMITS``)
    records what the training set covered, for the integrators' guard; NaN until
    a trainer records it.
    """

    def build(
        self, hypers: Dict[str, Any], atomic_types: List[int], target_names: List[str]
    ) -> None:
        """Create the backbone, the heads of each of ``target_names`` and the
        buffers (ASE masses, unit scales) for the elements ``atomic_types``.

        :param hypers: model hyperparameters (see ``ModelHypers``).
        """
        self.atomic_types: List[int] = sorted(atomic_types)
        self.target_names: List[str] = list(target_names)
        self.cutoff = float(hypers["cutoff"])
        self.cutoff_width = float(hypers["cutoff_width"])
        self.predict_momenta_as_difference = bool(
            hypers["predict_momenta_as_difference"]
        )
        self.conserve_momentum = bool(hypers.get("conserve_momentum", True))
        self.conserve_center_of_mass = bool(hypers.get("conserve_center_of_mass", True))
        self.fs_in_ase_time = FS_IN_ASE_TIME

        max_type = max(self.atomic_types)
        num_species = len(self.atomic_types)
        species_index = torch.full((max_type + 1,), -1, dtype=torch.long)
        species_index[torch.tensor(self.atomic_types)] = torch.arange(num_species)
        self.register_buffer("species_to_species_index", species_index)

        self.backbone = Backbone(dict(hypers), num_species)
        self.num_readout_layers = self.backbone.num_readout_layers
        d_node, d_pet, d_head = hypers["d_node"], hypers["d_pet"], hypers["d_head"]
        layers = self.num_readout_layers
        self.node_heads = torch.nn.ModuleDict()
        self.edge_heads = torch.nn.ModuleDict()
        self.node_last_layers = torch.nn.ModuleDict()
        self.edge_last_layers = torch.nn.ModuleDict()
        for name in self.target_names:
            self.node_heads[name] = head_mlps(d_node, d_head, layers)
            self.edge_heads[name] = head_mlps(d_pet, d_head, layers)
            self.node_last_layers[name] = last_layers(d_head, 3, layers)
            self.edge_last_layers[name] = last_layers(d_head, 3, layers)

        masses = torch.full((max_type + 1,), float("nan"))
        for z in self.atomic_types:
            masses[z] = float(ase.data.atomic_masses[z])
        self.register_buffer("masses", masses)
        self.register_buffer("timestep", torch.tensor(float("nan")))
        for name in ("momentum_input", "position_output", "momentum_output"):
            self.register_buffer(f"{name}_scale", torch.ones(num_species))
        self.register_buffer(
            "training_limits",
            torch.full((num_species, len(TRAINING_LIMITS)), float("nan")),
        )

    def predict(
        self,
        batch: AtomBatch,
        targets: List[str],
        last_layer_targets: List[str],
        with_features: bool,
    ) -> Prediction:
        """The network on the atoms of ``batch``: the displacement (``position``,
        A) and new momenta (``momentum``, (eV*u)^(1/2)) for each name in
        ``targets``, the last-layer features of ``last_layer_targets`` and, if
        asked, the backbone features."""
        species = self.species_to_species_index[batch.types]
        node_features, edge_features, cutoff_factors = self._backbone_features(
            batch, species
        )
        features: Optional[torch.Tensor] = None
        if with_features:
            pieces: List[torch.Tensor] = []
            for nodes, edges in zip(node_features, edge_features):
                pieces.append(nodes)
                pieces.append(neighbor_sum(cutoff_factors, edges))
            features = torch.cat(pieces, dim=1)
        values: Dict[str, torch.Tensor] = {}
        last_layer: Dict[str, torch.Tensor] = {}
        wanted = targets + last_layer_targets
        if len(wanted) > 0:
            head_features = self._last_layer_features(
                wanted, node_features, edge_features, cutoff_factors
            )
            for name in last_layer_targets:
                last_layer[name] = torch.cat(head_features[name], dim=1)
            raw = self._last_layers(targets, head_features, cutoff_factors)
            values = self._physical_targets(raw, batch, species)
        return Prediction(values, last_layer, features)

    def _backbone_features(
        self, batch: AtomBatch, species: torch.Tensor
    ) -> Tuple[List[torch.Tensor], List[torch.Tensor], torch.Tensor]:
        """Node and edge features of each readout layer, and the (n, k) cutoff
        factors of the padded neighbourhoods."""
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
        with torch.profiler.record_function("FlashMD::backbone"):
            node_features, edge_features = self.backbone(
                species,
                batch.momenta * scale,
                neighbor_species,
                edge_vectors,
                edge_distances,
                padding_mask,
                cutoff_factors,
                reverse_neighbor_index,
            )
        return node_features, edge_features, cutoff_factors

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

    def _last_layers(
        self,
        targets: List[str],
        features: Dict[str, List[torch.Tensor]],
        cutoff_factors: torch.Tensor,
    ) -> Dict[str, torch.Tensor]:
        """The normalised, mass-scaled output (n, 3) of each of ``targets``."""
        raw: Dict[str, torch.Tensor] = {}
        for name, layers in self.node_last_layers.items():
            if name in targets:
                for i, layer in enumerate(layers):
                    contribution = layer(features[name][2 * i])
                    raw[name] = contribution if i == 0 else raw[name] + contribution
        # the edge last layers are linear, so they are applied after the neighbour
        # sum, their bias weighted by the sum of the cutoff factors
        cutoff_sums = cutoff_factors.sum(dim=1, keepdim=True)
        for name, layers in self.edge_last_layers.items():
            if name in targets:
                for i, layer in enumerate(layers):
                    summed = features[name][2 * i + 1]
                    raw[name] = (
                        raw[name]
                        + torch.nn.functional.linear(summed, layer.weight)
                        + cutoff_sums * layer.bias
                    )
        return raw

    def _physical_targets(
        self, raw: Dict[str, torch.Tensor], batch: AtomBatch, species: torch.Tensor
    ) -> Dict[str, torch.Tensor]:
        """Displacements (A) and momenta ((eV*u)^(1/2)) from the ``raw`` network
        outputs: scaled per element, then corrected to conserve the total momentum
        and the ballistic motion of the centre of mass."""
        masses = self.masses[batch.types]
        num_systems = batch.cells.shape[0]
        values: Dict[str, torch.Tensor] = {}
        # target names spelled out: TorchScript cannot read string constants
        if "position" in raw:
            scale = self.position_output_scale[species].unsqueeze(-1)
            displacement = raw["position"] * scale
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
            scale = self.momentum_output_scale[species].unsqueeze(-1)
            momenta = raw["momentum"] * scale
            if self.predict_momenta_as_difference:
                momenta = momenta + batch.momenta
            if self.conserve_momentum:
                momenta = conserve_momentum(
                    momenta, batch.momenta, masses, batch.system_indices, num_systems
                )
            values["momentum"] = momenta
        return values
