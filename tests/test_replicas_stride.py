"""The batched stride on tensors and the atom budget of the replicas."""

from typing import Any, List

import ase
import ase.build
import numpy as np
import pytest
import torch
from helpers import tiny_model
from metatomic.torch import ModelOutput
from metatomic_ase import MetatomicCalculator

from metatrain_flashmd.replicas import batched_stride, default_atom_budget, plan_calls
from metatrain_flashmd.replicas.atoms import stack_atoms
from metatrain_flashmd.replicas.budget import available_memory


@pytest.fixture(scope="module")
def model() -> Any:
    """A tiny random FlashMD model for Al and Cu (float64)."""
    return tiny_model(atomic_types=[13, 29]).export()


def mixed_systems(seed: int = 0) -> List[ase.Atoms]:
    """32 periodic Al, 108 periodic Al with 5 Cu and a non-periodic 13-atom Al
    cluster, displaced and with random momenta."""
    rng = np.random.default_rng(seed)
    small = ase.build.bulk("Al", "fcc", a=4.05, cubic=True).repeat(2)
    large = ase.build.bulk("Al", "fcc", a=4.05, cubic=True).repeat(3)
    large.symbols[:5] = "Cu"
    cluster = ase.Atoms("Al13", positions=rng.normal(scale=2.5, size=(13, 3)))
    systems = [small, large, cluster]
    for atoms in systems:
        atoms.positions += rng.normal(scale=0.05, size=(len(atoms), 3))
        atoms.set_momenta(rng.normal(scale=0.5, size=(len(atoms), 3)))
    return systems


def alone(model: Any, atoms: ase.Atoms) -> List[np.ndarray]:
    """Positions and momenta after one stride of ``atoms`` evaluated alone, as the
    ASE integrators evaluate it."""
    outputs = {
        "position": ModelOutput(unit="angstrom", sample_kind="atom"),
        "momentum": ModelOutput(unit="(eV*u)^(1/2)", sample_kind="atom"),
    }
    with torch.no_grad():
        results = MetatomicCalculator(model).run_model(atoms, outputs)
    return [results[name].block().values.reshape(-1, 3).numpy() for name in outputs]


def test_batched_stride_matches_each_system_alone(model):
    systems = mixed_systems()
    tensors = stack_atoms(systems)
    positions, momenta = batched_stride(model, *tensors)
    assert positions.dtype == torch.float64 and positions.shape == (153, 3)
    start = 0
    for atoms in systems:
        expected_positions, expected_momenta = alone(model, atoms)
        stop = start + len(atoms)
        np.testing.assert_allclose(
            positions[start:stop], expected_positions, atol=1e-12
        )
        np.testing.assert_allclose(momenta[start:stop], expected_momenta, atol=1e-12)
        assert not np.allclose(expected_positions, atoms.positions, atol=1e-4)
        start = stop


def test_atoms_may_come_in_any_order(model):
    tensors = stack_atoms(mixed_systems())
    in_order = batched_stride(model, *tensors)
    shuffle = torch.from_numpy(np.random.default_rng(1).permutation(153))
    per_atom = [0, 1, 2, 5, 6]  # positions, momenta, masses, types, system index
    shuffled = [t[shuffle] if i in per_atom else t for i, t in enumerate(tensors)]
    positions, momenta = batched_stride(model, *shuffled)
    np.testing.assert_allclose(positions, in_order[0][shuffle], atol=1e-12)
    np.testing.assert_allclose(momenta, in_order[1][shuffle], atol=1e-12)


def test_float32_model_and_float32_tensors(model):
    single = tiny_model(atomic_types=[13, 29], dtype=torch.float32).export()
    tensors = stack_atoms(mixed_systems())
    double = batched_stride(model, *tensors)
    float32 = [t.float() if t.is_floating_point() else t for t in tensors]
    positions, momenta = batched_stride(single, *float32)
    assert positions.dtype == torch.float32
    np.testing.assert_allclose(positions, double[0], atol=1e-4)
    np.testing.assert_allclose(momenta, double[1], atol=1e-4)


def test_bad_tensors_are_refused(model):
    positions, momenta, masses, cells, pbc, types, index = stack_atoms(mixed_systems())
    with pytest.raises(ValueError, match=r"momenta has shape \(152, 3\)"):
        batched_stride(model, positions, momenta[1:], masses, cells, pbc, types, index)
    with pytest.raises(ValueError, match="between 0 and 2"):
        batched_stride(model, positions, momenta, masses, cells, pbc, types, index + 1)
    empty = torch.where(index == 1, 0, index)
    with pytest.raises(ValueError, match="at least one atom"):
        batched_stride(model, positions, momenta, masses, cells, pbc, types, empty)


def test_device_argument(model):
    tensors = stack_atoms(mixed_systems())
    on_cpu = batched_stride(model, *tensors, device="cpu")
    np.testing.assert_array_equal(on_cpu[0], batched_stride(model, *tensors)[0])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_matches_cpu():
    model = tiny_model(atomic_types=[13, 29]).export()
    tensors = stack_atoms(mixed_systems())
    on_cpu = batched_stride(model, *tensors, device="cpu")
    on_gpu = batched_stride(model, *[t.cuda() for t in tensors], device="cuda")
    assert on_gpu[0].device.type == "cuda"
    np.testing.assert_allclose(on_gpu[0].cpu(), on_cpu[0], atol=1e-8)
    np.testing.assert_allclose(on_gpu[1].cpu(), on_cpu[1], atol=1e-8)


# -- the atom budget ---------------------------------------------------------------


def test_calls_hold_the_budget_and_are_few():
    sizes = [32] * 64
    assert plan_calls(sizes, 10_000) == [list(range(64))]
    calls = plan_calls(sizes, 100)  # three 32-atom replicas per call
    assert len(calls) == 22
    assert sorted(i for call in calls for i in call) == list(range(64))
    assert all(sum(sizes[i] for i in call) <= 100 for call in calls)


def test_mixed_sizes_fill_calls_largest_first():
    sizes = [500, 32, 108, 32, 400, 2000]
    calls = plan_calls(sizes, 1000)
    # 2000 alone; 500 + 400, then 108 does not fit and opens a call, 32s fill up
    assert calls == [[5], [0, 1, 3, 4], [2]]
    assert plan_calls([3, 3], 1) == [[0], [1]]  # too large ones go alone
    with pytest.raises(ValueError, match="at least 1"):
        plan_calls(sizes, 0)


def test_default_budget_follows_the_available_memory():
    available = available_memory("cpu")
    assert available is not None and available > 0
    budget = default_atom_budget("cpu")
    assert 1 <= budget <= available / 110e3
    assert default_atom_budget("cpu", bytes_per_atom=1e12) == 1
