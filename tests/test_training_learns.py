"""Training reaches the right answer: it learns exactly known dynamics, and the
normalisation it sets up has the values computed by hand."""

import copy
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import (
    flashmd_dataset_info,
    free_flight_pairs,
    load_pairs_dataset,
    tiny_hypers,
    write_exact_pairs,
)
from metatrain.utils.architectures import get_default_hypers

from metatrain_flashmd.model import FlashMD
from metatrain_flashmd.trainer import Trainer
from metatrain_flashmd.training.normalization import gather_statistics
from metatrain_flashmd.training.pair_data import IndexedPairs, PairCollate


def trainer_hypers(**changes):
    hypers = copy.deepcopy(get_default_hypers("experimental.flashmd")["training"])
    hypers.update(timestep=10.0, batch_size=4, num_workers=0)
    hypers.update(changes)
    return hypers


def train(model, dataset, directory: Path, **changes) -> None:
    Trainer(trainer_hypers(**changes)).train(
        model, torch.float64, [torch.device("cpu")], [dataset], [dataset], directory
    )


@pytest.fixture
def one_thread():
    """Train on one thread: faster on a shared machine, and reproducible."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def position_error_ratio(model: FlashMD, dataset) -> float:
    """RMSE of the predicted positions over that of predicting no motion."""
    pairs = IndexedPairs([dataset], "validation set")
    collate = PairCollate(model.cutoff, 0, time_reversal=False, random_rotations=False)
    batch = collate([pairs[index] for index in range(len(pairs))])
    atoms = batch.atoms(torch.float64, torch.device("cpu"))
    with torch.no_grad():
        errors = model.training_errors(atoms, batch.truth(torch.float64, "cpu"))
    error = errors.physical["position"].pow(2).mean().sqrt()
    no_motion = batch.displacements.pow(2).mean().sqrt()
    return float(error / no_motion)


def test_training_learns_free_flight(tmp_path, one_thread):
    free_flight_pairs(tmp_path / "train.extxyz", 64, timestep_fs=10.0, seed=0)
    free_flight_pairs(tmp_path / "val.extxyz", 16, timestep_fs=10.0, seed=1)
    dataset = load_pairs_dataset(tmp_path / "train.extxyz")
    validation = load_pairs_dataset(tmp_path / "val.extxyz")
    torch.manual_seed(0)
    widths = {"d_pet": 16, "d_node": 16, "d_head": 16, "d_feedforward": 16}
    model = FlashMD(tiny_hypers(**widths), flashmd_dataset_info([13, 29]))

    Trainer(trainer_hypers(num_epochs=20, learning_rate=1e-2)).train(
        model, torch.float64, [torch.device("cpu")], [dataset], [validation], tmp_path
    )
    ratio = position_error_ratio(model, validation)
    assert ratio < 0.3, f"position RMSE is {ratio:.2f} of the no-motion baseline"

    # the criterion tells a model predicting no motion apart
    with torch.no_grad():
        for layers in (model.node_last_layers, model.edge_last_layers):
            for layer in layers["position"]:
                layer.weight.zero_()
                layer.bias.zero_()
    assert position_error_ratio(model, validation) == pytest.approx(1.0)


# -- normalisation, by hand ------------------------------------------------------------

MASSES = {1: 1.0, 8: 16.0}
"""Masses (u) with simple square roots: 1 and 4."""

PAIRS = [
    {
        "numbers": [1, 8],
        "positions": [[0.0, 0.0, 0.0], [5.0, 0.0, 0.0]],
        "momenta": [[2.0, 0.0, 0.0], [0.0, 8.0, 0.0]],
        "displacements": [[0.3, 0.0, 0.0], [0.0, 0.0, 0.1]],
        "future_momenta": [[1.0, 0.0, 0.0], [0.0, 4.0, 0.0]],
    },
    {
        "numbers": [8],
        "positions": [[0.0, 0.0, 0.0]],
        "momenta": [[0.0, 0.0, 4.0]],
        "displacements": [[0.05, 0.0, 0.0]],
        "future_momenta": [[0.0, 0.0, -4.0]],
    },
]
"""Two pairs; mass-scaled (9 components over 3 atoms):
input momenta p/sqrt(m): (2, 0, 0), (0, 2, 0), (0, 0, 1): sum of squares 9;
displacements sqrt(m) dr: (0.3, 0, 0), (0, 0, 0.4), (0.2, 0, 0): 0.29;
target momenta p'/sqrt(m): (1, 0, 0), (0, 1, 0), (0, 0, -1): 3;
their changes (p' - p)/sqrt(m): (-1, 0, 0), (0, -1, 0), (0, 0, -2): 6."""

MOMENTUM_RMS = 1.0
DISPLACEMENT_RMS = math.sqrt(0.29 / 9)
TARGET_MOMENTUM_RMS = math.sqrt(3 / 9)
MOMENTUM_CHANGE_RMS = math.sqrt(6 / 9)


@pytest.fixture
def hand_pairs(tmp_path):
    write_exact_pairs(tmp_path / "pairs.extxyz", PAIRS)
    return load_pairs_dataset(tmp_path / "pairs.extxyz")


@pytest.mark.parametrize("difference", [False, True])
def test_statistics_by_hand(hand_pairs, difference):
    stats = gather_statistics(
        IndexedPairs([hand_pairs], "training set"), MASSES, difference
    )
    assert stats.momentum_rms == pytest.approx(MOMENTUM_RMS)
    assert stats.displacement_rms == pytest.approx(DISPLACEMENT_RMS)
    expected = MOMENTUM_CHANGE_RMS if difference else TARGET_MOMENTUM_RMS
    assert stats.target_momentum_rms == pytest.approx(expected)
    assert (stats.num_pairs, stats.num_atoms, stats.sizes) == (2, 3, [2, 1])
    assert stats.largest_displacement == pytest.approx(0.3)


def normalised_model(dataset, directory: Path, **changes) -> FlashMD:
    """A fresh model through the trainer's set-up only (no epoch)."""
    model = FlashMD(tiny_hypers(), flashmd_dataset_info([1, 8])).double()
    train(model, dataset, directory, num_epochs=0, masses=MASSES, **changes)
    return model


def test_scales_from_the_data(hand_pairs, tmp_path):
    model = normalised_model(hand_pairs, tmp_path)
    sqrt_m = torch.tensor([1.0, 4.0], dtype=torch.float64)  # H, O
    expected = {
        "momentum_input_scale": 1.0 / (sqrt_m * MOMENTUM_RMS),
        "position_output_scale": DISPLACEMENT_RMS / sqrt_m,
        "momentum_output_scale": TARGET_MOMENTUM_RMS * sqrt_m,
    }
    for name, value in expected.items():
        torch.testing.assert_close(getattr(model, name), value, msg=name)


def test_scales_without_data_statistics(hand_pairs, tmp_path):
    model = normalised_model(hand_pairs, tmp_path, scale_targets=False)
    sqrt_m = torch.tensor([1.0, 4.0], dtype=torch.float64)
    torch.testing.assert_close(model.momentum_input_scale, 1.0 / sqrt_m)
    torch.testing.assert_close(model.position_output_scale, 1.0 / sqrt_m)
    torch.testing.assert_close(model.momentum_output_scale, sqrt_m)


def test_fixed_scaling_weights(hand_pairs, tmp_path):
    fixed = {"position": 0.5, "momentum": {8: 3.0}}
    model = normalised_model(hand_pairs, tmp_path, fixed_scaling_weights=fixed)
    # a number is the mass-scaled RMS: divided by sqrt(m) for displacements
    torch.testing.assert_close(
        model.position_output_scale, torch.tensor([0.5, 0.125], dtype=torch.float64)
    )
    # a value per element is that element's scale; H keeps the data's
    torch.testing.assert_close(
        model.momentum_output_scale,
        torch.tensor([TARGET_MOMENTUM_RMS, 3.0], dtype=torch.float64),
    )

    # the loss sees errors divided by these scales
    pairs = IndexedPairs([hand_pairs], "training set")
    collate = PairCollate(model.cutoff, 0, time_reversal=False, random_rotations=False)
    batch = collate([pairs[0], pairs[1]])
    atoms = batch.atoms(torch.float64, torch.device("cpu"))
    with torch.no_grad():
        predicted = model.predict(atoms, model.target_names, [], False).targets
        offset = torch.tensor([[1.0, 0.0, 0.0], [0.0, 2.0, 0.0], [0.0, 0.0, 3.0]])
        truth = {name: values - offset for name, values in predicted.items()}
        errors = model.training_errors(atoms, truth)
    torch.testing.assert_close(errors.physical["position"], offset.double())
    torch.testing.assert_close(
        errors.normalised["position"],
        torch.tensor([[2.0, 0, 0], [0, 16.0, 0], [0, 0, 24.0]], dtype=torch.float64),
    )
    torch.testing.assert_close(
        errors.normalised["momentum"],
        torch.tensor(
            [[1.0 / TARGET_MOMENTUM_RMS, 0, 0], [0, 2.0 / 3.0, 0], [0, 0, 1.0]],
            dtype=torch.float64,
        ),
    )


def test_fixed_scaling_weights_of_unknown_targets_and_elements(hand_pairs, tmp_path):
    with pytest.raises(ValueError, match="names 'energy'; FlashMD targets are"):
        normalised_model(hand_pairs, tmp_path, fixed_scaling_weights={"energy": 1.0})
    with pytest.raises(ValueError, match="position names element 29, which is not"):
        normalised_model(
            hand_pairs, tmp_path, fixed_scaling_weights={"position": {29: 1.0}}
        )


def test_masses_enter_the_scales(hand_pairs, tmp_path):
    """Doubling every mass changes the mass-scaled statistics and the per-element
    scales as sqrt(m) says."""
    heavy = {z: 2.0 * m for z, m in MASSES.items()}
    stats = gather_statistics(IndexedPairs([hand_pairs], "training set"), heavy, False)
    assert stats.momentum_rms == pytest.approx(MOMENTUM_RMS / np.sqrt(2))
    assert stats.displacement_rms == pytest.approx(DISPLACEMENT_RMS * np.sqrt(2))
    model = FlashMD(tiny_hypers(), flashmd_dataset_info([1, 8])).double()
    train(model, hand_pairs, tmp_path, num_epochs=0, masses=heavy)
    sqrt_m = torch.tensor([1.0, 4.0], dtype=torch.float64) * np.sqrt(2)
    torch.testing.assert_close(
        model.position_output_scale, stats.displacement_rms / sqrt_m
    )
    torch.testing.assert_close(
        model.momentum_input_scale, 1.0 / (stats.momentum_rms * sqrt_m)
    )
