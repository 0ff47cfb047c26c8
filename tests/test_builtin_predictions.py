"""Converted built-in FlashMD checkpoints predict what the built-in implementation
predicts.

The built-in implementation itself runs in a subprocess with the plugin switched off
(``METATRAIN_FLASHMD_DISABLE=1``): one subprocess evaluates every checkpoint on the
same systems and saves the predictions.
"""

import gzip
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List

import ase.data
import ase.io
import pytest
import torch
from builtin_checkpoint_files import (
    CHECKPOINTS,
    NEWEST,
    PAIRS,
    TESTS,
    TIMESTEP,
    load,
    mtt,
    name_of,
)
from metatensor.torch import Labels, TensorBlock, TensorMap
from metatomic.torch import (
    ModelEvaluationOptions,
    ModelOutput,
    NeighborListOptions,
    System,
    load_atomistic_model,
)
from metatrain.utils.io import model_from_checkpoint
from metatrain.utils.neighbor_lists import get_system_with_neighbor_lists


FRAMES = [0, 4, 9]
"""Structures of ``PAIRS`` the models are compared on (evaluated as one batch)."""
SYNTHETIC = "synthetic-residual-difference"
"""A built-in model written by the reference subprocess (see
:func:`write_synthetic_builtin`): residual featurizer, momentum differences, two
elements with different scales."""
RTOL = 1e-5


# -- the same inputs in both processes ----------------------------------------------


def input_systems(
    options: List[NeighborListOptions],
    two_elements: bool = False,
    dtype: torch.dtype = torch.float64,
) -> List[System]:
    """The structures ``FRAMES`` of ``PAIRS`` with momenta and masses; with
    ``two_elements``, every fourth atom is copper."""
    systems = []
    for index, atoms in enumerate(ase.io.read(PAIRS, ":")):
        if index not in FRAMES:
            continue
        if two_elements:
            atoms.numbers[::4] = 29
        system = System(
            types=torch.tensor(atoms.numbers, dtype=torch.int32),
            positions=torch.tensor(atoms.positions, dtype=torch.float64),
            cell=torch.tensor(atoms.cell.array, dtype=torch.float64),
            pbc=torch.tensor(atoms.pbc),
        )
        system = get_system_with_neighbor_lists(system.to(dtype), options)
        masses = torch.tensor(ase.data.atomic_masses[atoms.numbers])
        momenta = torch.tensor(atoms.get_momenta(), dtype=torch.float64)
        for name, values in [("momentum", momenta), ("mass", masses)]:
            system.add_data(name, _atom_data(values.unsqueeze(-1).to(dtype), name))
        systems.append(system)
    return systems


def _atom_data(values: torch.Tensor, name: str) -> TensorMap:
    n = values.shape[0]
    samples = Labels(
        ["system", "atom"], torch.tensor([[0, i] for i in range(n)], dtype=torch.int32)
    )
    components = []
    if values.dim() == 3:
        components = [Labels(["xyz"], torch.arange(3).reshape(-1, 1))]
    block = TensorBlock(
        values=values,
        samples=samples,
        components=components,
        properties=Labels([name], torch.tensor([[0]])),
    )
    return TensorMap(Labels.single(), [block])


def predict(model: torch.nn.Module, two_elements: bool = False) -> Dict[str, Any]:
    """Positions and momenta at t + timestep predicted by ``model`` (float64)."""
    model = model.to(torch.float64).eval()
    systems = input_systems(model.requested_neighbor_lists(), two_elements)
    outputs = {
        name: ModelOutput(sample_kind="atom") for name in ("position", "momentum")
    }
    with torch.no_grad():
        results = model(systems, outputs)
    return {
        name: tensor_map.block().values.reshape(-1, 3).clone()
        for name, tensor_map in results.items()
    }


# -- the built-in side (run with METATRAIN_FLASHMD_DISABLE=1) ------------------------


def write_synthetic_builtin(path: Path) -> None:
    """Save a randomly initialised built-in model with the residual featurizer, two
    GNN layers, momentum differences and two elements with their own scales."""
    import metatensor.torch as mts
    from metatrain.experimental.flashmd.model import FlashMD as BuiltinFlashMD
    from metatrain.utils.architectures import get_default_hypers
    from metatrain.utils.data import DatasetInfo
    from metatrain.utils.data.target_info import get_generic_target_info

    torch.manual_seed(1)
    hypers = get_default_hypers("experimental.flashmd")["model"]
    hypers.update(
        d_pet=4,
        d_head=4,
        d_node=4,
        d_feedforward=4,
        num_heads=2,
        num_gnn_layers=2,
        featurizer_type="residual",
        predict_momenta_as_difference=True,
    )

    def vector(name: str, unit: str) -> Any:
        options = {
            "quantity": name,
            "unit": unit,
            "type": {"cartesian": {"rank": 1}},
            "num_subtargets": 1,
            "sample_kind": "atom",
        }
        return get_generic_target_info(name, options)

    info = DatasetInfo(
        length_unit="angstrom",
        atomic_types=[13, 29],
        targets={
            "position": vector("position", "A"),
            "momentum": vector("momentum", "(eV*u)^(1/2)"),
        },
    )
    model = BuiltinFlashMD(hypers, info)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(0.2 * torch.randn_like(parameter))
    model.set_timestep(TIMESTEP)
    model.set_masses({z: float(ase.data.atomic_masses[z]) for z in (13, 29)})
    scales = {"position": [0.05, 0.02], "momentum": [0.9, 1.7]}
    for target, values in scales.items():
        for kind in ("", "per_target_"):
            key = f"{target}_{kind}scaler_buffer"
            tensor_map = mts.load_buffer(getattr(model.scaler, key))
            tensor_map.block().values[:, 0] = torch.tensor(values)
            setattr(model.scaler, key, mts.save_buffer(tensor_map))
    torch.save(model.get_checkpoint(), path)


def write_builtin_reference(output: str) -> None:
    """Predictions of the built-in FlashMD for every checkpoint (with the best and
    the latest weights) and for :func:`write_synthetic_builtin`'s model, saved to
    ``output``; the synthetic checkpoint is written beside it."""
    import metatrain.experimental.flashmd as builtin

    location = Path(builtin.__file__).resolve()
    if "site-packages" not in location.parts or "metatrain" not in location.parts:
        raise RuntimeError(f"not metatrain's built-in FlashMD: {location}")
    synthetic = Path(output).with_name(SYNTHETIC + ".ckpt")
    write_synthetic_builtin(synthetic)
    results = {}
    for path in [*CHECKPOINTS, synthetic]:
        for context in ("export", "restart"):
            if path == synthetic and context == "restart":
                continue  # a bare model checkpoint has no separate latest weights
            model = model_from_checkpoint(load(path), context=context)
            for target, values in predict(model, path == synthetic).items():
                results[f"{name_of(path)}/{context}/{target}"] = values
    torch.save(results, output)


@pytest.fixture(scope="session")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Dict[str, Any]:
    """The built-in predictions, computed once for all xdist workers."""
    from filelock import FileLock

    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # shared by the workers of this run
    output = root / "builtin-reference" / "reference.pt"
    output.parent.mkdir(exist_ok=True)
    with FileLock(str(output) + ".lock"):
        if not output.exists():
            code = (
                "import sys; sys.path.insert(0, sys.argv[1]); "
                "import test_builtin_predictions as t; "
                "t.write_builtin_reference(sys.argv[2])"
            )
            result = subprocess.run(
                [sys.executable, "-c", code, str(TESTS), str(output)],
                capture_output=True,
                text=True,
                env={**os.environ, "METATRAIN_FLASHMD_DISABLE": "1"},
            )
            assert result.returncode == 0, result.stdout + result.stderr
    return {
        "predictions": torch.load(output, weights_only=False),
        "synthetic": output.with_name(SYNTHETIC + ".ckpt"),
    }


def relative_differences(
    ours: Dict[str, torch.Tensor],
    builtin: Dict[str, torch.Tensor],
    positions: torch.Tensor,
) -> Dict[str, float]:
    """Largest difference relative to the largest value, for the new positions, the
    displacements (new minus old positions) and the new momenta."""

    def relative(a: torch.Tensor, b: torch.Tensor) -> float:
        return float((a - b).abs().max() / b.abs().max())

    return {
        "position": relative(ours["position"], builtin["position"]),
        "displacement": relative(
            ours["position"] - positions, builtin["position"] - positions
        ),
        "momentum": relative(ours["momentum"], builtin["momentum"]),
    }


def _positions(two_elements: bool = False) -> torch.Tensor:
    options = [NeighborListOptions(cutoff=4.5, full_list=True, strict=True)]
    return torch.cat([s.positions for s in input_systems(options, two_elements)])


@pytest.mark.parametrize("context", ["export", "restart"])
@pytest.mark.parametrize("path", CHECKPOINTS, ids=name_of)
def test_predictions_equal_the_builtin_ones(path, context, reference, record_property):
    model = model_from_checkpoint(load(path), context=context)
    ours = predict(model)
    builtin = {
        target: reference["predictions"][f"{name_of(path)}/{context}/{target}"]
        for target in ("position", "momentum")
    }
    differences = relative_differences(ours, builtin, _positions())
    record_property("relative_differences", differences)
    assert max(differences.values()) < RTOL, differences
    # the comparison is not trivial: the atoms move
    assert float((builtin["position"] - _positions()).abs().max()) > 1e-4


def test_synthetic_model_predictions_equal_the_builtin_ones(reference):
    checkpoint = load(reference["synthetic"])
    model = model_from_checkpoint(checkpoint, context="export")
    assert model.atomic_types == [13, 29]
    assert model.predict_momenta_as_difference
    assert len(model.backbone.node_encoders) == 2
    assert model.momentum_output_scale.tolist() == pytest.approx([0.9, 1.7])
    ours = predict(model, two_elements=True)
    builtin = {
        target: reference["predictions"][f"{SYNTHETIC}/export/{target}"]
        for target in ("position", "momentum")
    }
    differences = relative_differences(ours, builtin, _positions(True))
    assert max(differences.values()) < RTOL, differences


def test_mtt_export(tmp_path, reference):
    checkpoint = tmp_path / "builtin.ckpt"
    checkpoint.write_bytes(gzip.decompress(NEWEST.read_bytes()))
    mtt("export", "builtin.ckpt", "-o", "exported.pt", cwd=tmp_path)
    exported = load_atomistic_model(str(tmp_path / "exported.pt"))
    assert float(exported.module.timestep) == TIMESTEP

    # the model stays in float32, the precision it was trained in
    systems = input_systems(exported.requested_neighbor_lists(), dtype=torch.float32)
    options = ModelEvaluationOptions(
        length_unit="angstrom",
        outputs={
            name: ModelOutput(sample_kind="atom") for name in ("position", "momentum")
        },
    )
    results = exported(systems, options, check_consistency=True)
    ours = {
        name: tensor_map.block().values.reshape(-1, 3).double()
        for name, tensor_map in results.items()
    }
    builtin = {
        target: reference["predictions"][f"{name_of(NEWEST)}/export/{target}"]
        for target in ("position", "momentum")
    }
    differences = relative_differences(ours, builtin, _positions())
    assert max(differences.values()) < 1e-5, differences
