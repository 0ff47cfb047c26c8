"""metatrain's generic architecture test suites, applied to FlashMD.

Which suites apply, and why not all of them:

- ``CheckpointTests``, ``TrainingTests``, ``InputTests``: apply as they are, fed
  with a small EMT aluminium pair dataset that carries momenta.
- ``TorchscriptTests`` and ``ExportedTests``: apply, but their tests build systems
  without momenta, which FlashMD needs as input; the tests that run a forward pass
  are re-stated below with momenta attached. ``test_torchscript_save_load`` and
  ``test_torchscript_integers`` run unchanged.
- ``OutputTests``: does not apply. Every test in it requests an ``energy`` output
  (or scalar/spherical targets) from momentum-less molecules; FlashMD only predicts
  the ``position`` and ``momentum`` vectors. ``tests/test_model.py`` covers what
  it checks for FlashMD outputs: every output alone, features and last-layer
  features, selected atoms, single atoms, and equivariance.
- ``AutogradTests``: does not apply. It differentiates an ``energy`` twice with
  respect to positions and cell (forces and stress); FlashMD has no energy and
  needs no force backpropagation. ``tests/test_model.py`` checks first derivatives
  of the predicted positions with ``gradcheck`` instead.
"""

import copy
from pathlib import Path

import pytest
import torch
from helpers import (
    TINY_MODEL_HYPERS,
    flashmd_dataset_info,
    pair_target_options,
    with_momenta,
)
from metatomic.torch import ModelEvaluationOptions, ModelMetadata, System
from metatrain.utils.architectures import get_default_hypers
from metatrain.utils.neighbor_lists import (
    get_requested_neighbor_lists,
    get_system_with_neighbor_lists,
)
from metatrain.utils.testing import (
    CheckpointTests,
    ExportedTests,
    InputTests,
    TorchscriptTests,
    TrainingTests,
)


TESTS_DIR = Path(__file__).parent


class FlashMDSuite:
    """Fixtures shared by all suites: FlashMD targets on EMT aluminium pairs."""

    architecture = "experimental.flashmd"

    @pytest.fixture
    def dataset_path(self, al_pairs: Path) -> str:
        return str(al_pairs)

    @pytest.fixture
    def dataset_targets(self, dataset_path: str) -> dict:
        return pair_target_options(dataset_path)

    @pytest.fixture
    def dataset_info(self):
        return flashmd_dataset_info([1, 6, 7, 8])

    @pytest.fixture
    def minimal_model_hypers(self) -> dict:
        hypers = get_default_hypers(self.architecture)["model"]
        hypers.update(
            {key: 1 for key in TINY_MODEL_HYPERS},
            momentum_encoder_width=1,
        )
        return hypers

    @pytest.fixture
    def model_hypers(self) -> dict:
        hypers = get_default_hypers(self.architecture)["model"]
        hypers.update(TINY_MODEL_HYPERS)
        return hypers

    @pytest.fixture
    def default_hypers(self) -> dict:
        hypers = copy.deepcopy(get_default_hypers(self.architecture))
        hypers["training"]["timestep"] = 10.0
        hypers["training"]["batch_size"] = 4
        hypers["training"]["num_workers"] = 0
        return hypers


class TestCheckpoints(FlashMDSuite, CheckpointTests):
    @pytest.fixture(autouse=True)
    def in_tests_directory(self, monkeypatch: pytest.MonkeyPatch) -> None:
        # the suite finds reference checkpoints in ./checkpoints
        monkeypatch.chdir(TESTS_DIR)


class TestTraining(FlashMDSuite, TrainingTests):
    supports_atomic_basis = False  # FlashMD learns position and momentum only


class TestInput(FlashMDSuite, InputTests):
    pass


def _molecule(dtype: torch.dtype, model: torch.nn.Module) -> System:
    system = System(
        types=torch.tensor([6, 1, 8, 7]),
        positions=torch.tensor(
            [[0.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 0.0, 2.0], [0.0, 0.0, 3.0]],
            dtype=dtype,
        ),
        cell=torch.zeros(3, 3, dtype=dtype),
        pbc=torch.tensor([False, False, False]),
    )
    system = get_system_with_neighbor_lists(system, model.requested_neighbor_lists())
    return with_momenta(system)


class TestTorchscript(FlashMDSuite, TorchscriptTests):
    supports_spherical_outputs = False
    float_hypers = ["cutoff", "cutoff_width", "attention_temperature"]

    # the suite's versions run systems without momenta; these attach momenta
    def test_torchscript(self, model_hypers, dataset_info, dtype):
        model = self.model_cls(model_hypers, dataset_info).to(dtype)
        system = _molecule(dtype, model)
        expected = model([system], model.outputs)
        scripted = self.jit_compile(model)
        outputs = scripted([system], model.outputs)
        for name, tensor_map in expected.items():
            assert torch.allclose(
                outputs[name].block().values, tensor_map.block().values
            )

    def test_torchscript_dtypechange(self, model_hypers, dataset_info, dtype):
        model = self.model_cls(model_hypers, dataset_info)
        scripted = self.jit_compile(model).to(dtype)
        outputs = scripted([_molecule(dtype, model)], model.outputs)
        assert outputs["position"].block().values.dtype == dtype


class TestExported(FlashMDSuite, ExportedTests):
    # the suite's version runs a system without momenta; this one attaches them
    def test_to(self, device, dtype, model_hypers, dataset_info):
        model = self.model_cls(model_hypers, dataset_info).to(dtype=dtype)
        exported = model.export(metadata=ModelMetadata(name="test"))
        assert "This is the test model" in str(exported.metadata())
        exported.to(device=device)
        system = System(
            types=torch.tensor([6, 6]),
            positions=torch.tensor([[0.0, 0.0, 0.0], [0.0, 0.0, 1.0]]),
            cell=torch.zeros(3, 3),
            pbc=torch.tensor([False, False, False]),
        )
        system = get_system_with_neighbor_lists(
            system, get_requested_neighbor_lists(exported)
        )
        system = with_momenta(system.to(device=device, dtype=dtype), masses=True)
        options = ModelEvaluationOptions(
            length_unit=dataset_info.length_unit, outputs=model.outputs
        )
        outputs = exported([system], options, check_consistency=True)
        assert outputs["position"].block().values.shape == (2, 3, 1)
