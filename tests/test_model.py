"""The FlashMD model: symmetries, conservation laws, outputs, errors, export."""

import ase
import ase.build
import ase.units
import numpy as np
import pytest
import torch
from helpers import flashmd_dataset_info, tiny_hypers, tiny_model, with_momenta
from metatensor.torch import Labels
from metatomic.torch import ModelEvaluationOptions, ModelOutput, systems_to_torch
from metatrain.utils.data.target_info import get_energy_target_info
from metatrain.utils.neighbor_lists import get_system_with_neighbor_lists

from metatrain_flashmd._names import LENGTH_UNIT, MOMENTUM_UNIT
from metatrain_flashmd.model import FlashMD


def make_system(atoms: ase.Atoms, model: FlashMD, dtype=torch.float64, masses=False):
    """metatomic system of ``atoms`` with its momenta (and masses), for ``model``."""
    system = systems_to_torch(atoms, dtype=dtype)
    system = get_system_with_neighbor_lists(system, model.requested_neighbor_lists())
    return with_momenta(system, torch.tensor(atoms.get_momenta()), masses=masses)


def alloy(periodic: bool = True, seed: int = 0) -> ase.Atoms:
    """A disordered Al/Cu/Au cluster or crystal with thermal momenta."""
    rng = np.random.default_rng(seed)
    atoms = ase.build.bulk("Al", "fcc", a=4.05, cubic=True).repeat(2)
    atoms.numbers[rng.choice(len(atoms), 10, replace=False)] = 29
    atoms.numbers[rng.choice(len(atoms), 5, replace=False)] = 79
    atoms.positions += rng.normal(scale=0.1, size=atoms.positions.shape)
    if not periodic:
        atoms.pbc = False
        atoms.cell = np.zeros((3, 3))
    atoms.set_momenta(
        rng.normal(size=(len(atoms), 3)) * np.sqrt(atoms.get_masses())[:, None] * 0.1
    )
    return atoms


def predict(model: FlashMD, atoms: ase.Atoms, dtype=torch.float64, **outputs):
    names = outputs or {"position": True, "momentum": True}
    system = make_system(atoms, model, dtype)
    result = model([system], {name: ModelOutput(sample_kind="atom") for name in names})
    return {name: tensor.block().values.squeeze(-1) for name, tensor in result.items()}


@pytest.fixture
def model() -> FlashMD:
    return tiny_model([13, 29, 79], timestep=20.0)


@pytest.mark.parametrize("periodic", [True, False])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_exact_momentum_and_center_of_mass(periodic, dtype):
    model = tiny_model([13, 29, 79], timestep=20.0, dtype=dtype)
    atoms = alloy(periodic)
    out = predict(model, atoms, dtype)
    masses = torch.tensor(atoms.get_masses(), dtype=torch.float64)
    momenta = torch.tensor(atoms.get_momenta())
    tolerance = 1e-12 if dtype == torch.float64 else 1e-5
    total_in = momenta.sum(0)
    total_out = out["momentum"].double().sum(0)
    assert torch.allclose(total_out, total_in, atol=tolerance * momenta.abs().sum())
    displacement = out["position"].double() - torch.tensor(atoms.positions)
    com_shift = (masses[:, None] * displacement).sum(0) / masses.sum()
    expected = total_in / masses.sum() * 20.0 * ase.units.fs
    assert torch.allclose(com_shift, expected, atol=tolerance * 10)


def test_conservation_can_be_switched_off():
    model = tiny_model(
        [13, 29, 79], conserve_momentum=False, conserve_center_of_mass=False
    )
    atoms = alloy()
    out = predict(model, atoms)
    total_in = torch.tensor(atoms.get_momenta()).sum(0)
    assert not torch.allclose(out["momentum"].sum(0), total_in, atol=1e-3)


def test_permutation_equivariance(model):
    atoms = alloy()
    permutation = np.random.default_rng(1).permutation(len(atoms))
    out = predict(model, atoms)
    permuted = predict(model, atoms[permutation])
    for name in ("position", "momentum"):
        assert torch.allclose(permuted[name], out[name][permutation], atol=1e-10)


def test_translation_invariance_of_displacement(model):
    atoms = alloy(periodic=False)
    out = predict(model, atoms)
    moved = atoms.copy()
    moved.positions += np.array([3.0, -7.0, 11.0])
    out_moved = predict(model, moved)
    assert torch.allclose(
        out_moved["position"] - torch.tensor(moved.positions),
        out["position"] - torch.tensor(atoms.positions),
        atol=1e-10,
    )
    assert torch.allclose(out_moved["momentum"], out["momentum"], atol=1e-10)


def test_periodic_images_give_the_same_prediction(model):
    atoms = alloy()
    shifted = atoms.copy()
    shifted.positions[0] += atoms.cell[1]  # same structure, atom 0 one cell away
    out, out_shifted = predict(model, atoms), predict(model, shifted)
    assert torch.allclose(out_shifted["momentum"], out["momentum"], atol=1e-10)
    displacement = out["position"] - torch.tensor(atoms.positions)
    shifted_displacement = out_shifted["position"] - torch.tensor(shifted.positions)
    assert torch.allclose(shifted_displacement, displacement, atol=1e-10)


def test_every_output_alone(model):
    atoms = alloy()
    everything = predict(model, atoms, **{name: True for name in model.outputs})
    for name in model.outputs:
        alone = predict(model, atoms, **{name: True})
        assert list(alone) == [name]
        assert torch.allclose(alone[name], everything[name], atol=1e-12)
    assert everything["feature"].shape == (len(atoms), 8 + 8)
    assert everything["mtt::aux::position_last_layer_features"].shape == (32, 16)


def test_selected_atoms(model):
    atoms = alloy()
    system = make_system(atoms, model)
    selection = Labels(["system", "atom"], torch.tensor([[0, 3], [0, 7]]))
    outputs = {"position": ModelOutput(sample_kind="atom")}
    full = model([system], outputs)["position"].block().values
    part = model([system], outputs, selected_atoms=selection)["position"]
    assert part.block().samples.values.tolist() == [[0, 3], [0, 7]]
    assert torch.allclose(part.block().values, full[[3, 7]])


def test_batch_equals_single_systems(model):
    first, second = alloy(seed=0), alloy(periodic=False, seed=1)
    systems = [make_system(first, model), make_system(second, model)]
    outputs = {"momentum": ModelOutput(sample_kind="atom")}
    together = model(systems, outputs)["momentum"].block().values
    alone = torch.cat([model([s], outputs)["momentum"].block().values for s in systems])
    assert torch.allclose(together, alone, atol=1e-12)


def test_single_atom(model):
    atoms = ase.Atoms("Cu", positions=[[0.0, 0.0, 0.0]], momenta=[[1.0, 2.0, 3.0]])
    out = predict(model, atoms)
    # one free atom: momentum conservation and ballistic motion are exact
    momentum = torch.tensor([[1.0, 2.0, 3.0]], dtype=torch.float64)
    assert torch.allclose(out["momentum"], momentum)
    velocity = momentum[0] / atoms.get_masses()[0]
    assert torch.allclose(out["position"][0], velocity * 20.0 * ase.units.fs)


def test_predict_momenta_as_difference_starts_from_input():
    model = tiny_model([13], predict_momenta_as_difference=True)
    with torch.no_grad():
        for layer in list(model.node_last_layers["momentum"]) + list(
            model.edge_last_layers["momentum"]
        ):
            layer.weight.zero_()
            layer.bias.zero_()
    atoms = alloy()
    atoms.numbers[:] = 13
    atoms.set_momenta(np.random.default_rng(3).normal(size=(32, 3)))
    out = predict(model, atoms)
    assert torch.allclose(out["momentum"], torch.tensor(atoms.get_momenta()))


def test_position_gradients(model):
    atoms = alloy(periodic=False)[:6]

    def displacement(positions):
        moved = atoms.copy()
        moved.positions = positions.detach().numpy()
        system = make_system(moved, model)
        system.positions = positions  # keeps the autograd graph
        out = model([system], {"position": ModelOutput(sample_kind="atom")})
        return out["position"].block().values

    positions = torch.tensor(atoms.positions, requires_grad=True)
    assert torch.autograd.gradcheck(displacement, positions, fast_mode=True)


def test_wrong_masses_are_refused(model):
    atoms = alloy()
    system = make_system(atoms, model, masses=True)
    system.get_data("mass").block().values[5] = 2.5
    with pytest.raises(ValueError, match=r"atom 5 of system 0 .* has mass 2.5 u"):
        model([system], {"position": ModelOutput(sample_kind="atom")})


def test_engine_masses_equal_to_model_masses_are_accepted(model):
    atoms = alloy()
    plain = make_system(atoms, model)
    with_masses = make_system(atoms, model, masses=True)
    outputs = {"position": ModelOutput(sample_kind="atom")}
    a = model([plain], outputs)["position"].block().values
    b = model([with_masses], outputs)["position"].block().values
    assert torch.equal(a, b)


def test_missing_momenta_are_refused(model):
    system = systems_to_torch(alloy(), dtype=torch.float64)
    system = get_system_with_neighbor_lists(system, model.requested_neighbor_lists())
    with pytest.raises(ValueError, match="system 0 has no 'momentum' data"):
        model([system], {"position": ModelOutput(sample_kind="atom")})


def test_other_targets_are_refused():
    info = flashmd_dataset_info([1])
    info.targets["energy"] = get_energy_target_info(
        "energy", {"quantity": "energy", "unit": "eV"}
    )
    with pytest.raises(ValueError, match="'position' and 'momentum' only.*'energy'"):
        FlashMD(tiny_hypers(), info)


def test_export_round_trip(tmp_path, model):
    exported = model.export()
    exported.save(str(tmp_path / "model.pt"))
    from metatomic.torch import load_atomistic_model

    loaded = load_atomistic_model(str(tmp_path / "model.pt"))
    assert float(loaded.module.timestep) == 20.0
    assert float(loaded.module.masses[29]) == pytest.approx(ase.data.atomic_masses[29])
    extra = loaded.metadata().extra
    assert extra["flashmd_timestep_fs"] == "20"
    atoms = alloy()
    system = make_system(atoms, model, masses=True)
    options = ModelEvaluationOptions(
        length_unit="angstrom",
        outputs={"position": ModelOutput(unit="angstrom", sample_kind="atom")},
    )
    out = loaded([system], options, check_consistency=True)
    expected = predict(model, atoms)["position"]
    assert torch.allclose(out["position"].block().values.squeeze(-1), expected)


def load_reference_checkpoint(name: str) -> dict:
    import gzip
    from pathlib import Path

    path = Path(__file__).parent / "checkpoints" / name
    with gzip.open(path, "rb") as file:
        return torch.load(file, weights_only=False)


def test_plugin_format_1_checkpoints_lose_long_range():
    checkpoint = load_reference_checkpoint("model-v1001_trainer-v1001.ckpt.gz")
    assert checkpoint["model_data"]["model_hypers"]["long_range"]["enable"] is False
    upgraded = FlashMD.upgrade_checkpoint(checkpoint)
    assert upgraded["model_ckpt_version"] == FlashMD.__checkpoint_version__ == 1003
    assert "long_range" not in upgraded["model_data"]["model_hypers"]
    FlashMD.load_checkpoint(upgraded, "export")

    enabled = load_reference_checkpoint("model-v1001_trainer-v1001.ckpt.gz")
    enabled["model_data"]["model_hypers"]["long_range"]["enable"] = True
    with pytest.raises(ValueError, match="it uses long-range features"):
        FlashMD.upgrade_checkpoint(enabled)


def test_training_path_equals_the_exported_model(tmp_path):
    """A batch from the training collate (vesin neighbour lists) through
    ``training_errors`` and the same structures through the exported model's
    ``forward`` give the same positions and momenta."""
    from metatomic.torch import load_atomistic_model

    from metatrain_flashmd.training.pair_data import Pair, PairCollate

    model = tiny_model([13, 29, 79], timestep=20.0)
    model.set_normalization(0.7, 0.03, 1.3)
    structures = [alloy(periodic=True), alloy(periodic=False, seed=1)]
    pairs = []
    for index, structure in enumerate(structures):
        zeros = np.zeros((len(structure), 3))
        pair = Pair(
            types=structure.numbers,
            positions=structure.positions,
            momenta=structure.get_momenta(),
            cell=structure.cell.array,
            pbc=structure.pbc,
            displacements=zeros,
            future_momenta=zeros,
        )
        pairs.append((index, pair))
    collate = PairCollate(model.cutoff, 0, time_reversal=False, random_rotations=False)
    batch = collate(pairs)
    atoms = batch.atoms(torch.float64, torch.device("cpu"))
    # with zero truth, the physical errors are the predictions themselves
    errors = model.training_errors(
        atoms, batch.truth(torch.float64, atoms.cells.device)
    )

    model.export().save(str(tmp_path / "model.pt"))
    exported = load_atomistic_model(str(tmp_path / "model.pt"))
    systems = [make_system(structure, model, masses=True) for structure in structures]
    options = ModelEvaluationOptions(
        length_unit=LENGTH_UNIT,
        outputs={
            "position": ModelOutput(unit=LENGTH_UNIT, sample_kind="atom"),
            "momentum": ModelOutput(unit=MOMENTUM_UNIT, sample_kind="atom"),
        },
    )
    out = exported(systems, options, check_consistency=True)
    positions = out["position"].block().values.squeeze(-1)
    momenta = out["momentum"].block().values.squeeze(-1)
    assert positions.dtype == torch.float64
    expected = atoms.positions + errors.physical["position"]
    torch.testing.assert_close(positions, expected, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(
        momenta, errors.physical["momentum"], rtol=1e-12, atol=1e-12
    )
    # and the predictions are not trivial: atoms move, momenta change
    assert (expected - atoms.positions).abs().max() > 1e-4
    assert not torch.allclose(momenta, atoms.momenta, atol=1e-4)


def test_flashmd_target_info_names_the_unknown_target():
    from metatrain_flashmd.dataset_info import flashmd_dataset_info, flashmd_target_info

    info = flashmd_dataset_info([29, 13])
    assert set(info.targets) == {"position", "momentum"}
    assert info.targets["momentum"].unit == "(eV*u)^(1/2)"
    with pytest.raises(ValueError, match="'energy'"):
        flashmd_target_info("energy")
