r"""One FlashMD stride of many independent systems in one model call, on tensors.

:func:`batched_stride` takes flat tensors of all atoms of all systems (the layout of
batched simulation engines such as TorchSim), builds one metatomic
:class:`~metatomic.torch.System` per system with the neighbour lists the model asks
for, and evaluates the exported model once:

.. math::

    (q_s, p_s) \leftarrow \Phi_{\Delta t}(q_s, p_s) \quad \text{for every system } s,

with :math:`\Phi_{\Delta t}` the learned stride. Systems do not interact: each one's
result is the one it would get alone, up to the rounding of the batched products.
Nothing here knows about ASE, so an engine can call it on its own tensors, on CPU or
CUDA.
"""

from typing import List, Optional, Sequence, Tuple, Union

import torch
from metatensor.torch import Labels, TensorBlock, TensorMap
from metatomic.torch import (
    AtomisticModel,
    ModelEvaluationOptions,
    ModelOutput,
    System,
)
from vesin.metatomic import NeighborList

from metatrain_flashmd._names import (
    LENGTH_UNIT,
    MASS,
    MASS_UNIT,
    MOMENTUM,
    MOMENTUM_UNIT,
    POSITION,
)


DTYPES = {"float32": torch.float32, "float64": torch.float64}
"""Model dtypes (``capabilities().dtype``) and their torch types."""

OUTPUTS = {
    POSITION: ModelOutput(unit=LENGTH_UNIT, sample_kind="atom"),
    MOMENTUM: ModelOutput(unit=MOMENTUM_UNIT, sample_kind="atom"),
}
"""The outputs one stride asks for, in the units of the inputs."""


def model_device(model: AtomisticModel) -> torch.device:
    """The device holding the model's weights (those of its ``masses`` table)."""
    return model.module.masses.device


def model_cutoff(model: AtomisticModel) -> float:
    """The largest neighbour-list cutoff the model asks for, A."""
    return max(
        options.engine_cutoff(LENGTH_UNIT)
        for options in model.requested_neighbor_lists()
    )


def _per_atom(name: str, values: torch.Tensor, unit: str, system: System) -> TensorMap:
    """``values`` of ``system``'s atoms ((n, 3) vectors or (n,) scalars) as the
    TensorMap a model reads as input ``name``, tagged with ``unit``."""
    device = values.device
    samples = Labels(
        ["system", "atom"],
        torch.stack(
            [
                torch.zeros(len(system), dtype=torch.int32, device=device),
                torch.arange(len(system), dtype=torch.int32, device=device),
            ],
            dim=1,
        ),
        assume_unique=True,
    )
    components = []
    if values.dim() == 2:
        xyz = torch.arange(3, dtype=torch.int32, device=device).reshape(-1, 1)
        components.append(Labels(["xyz"], xyz))
    block = TensorBlock(
        values=values.unsqueeze(-1),
        samples=samples,
        components=components,
        properties=Labels(
            [name], torch.zeros((1, 1), dtype=torch.int32, device=device)
        ),
    )
    keys = Labels(["_"], torch.zeros((1, 1), dtype=torch.int32, device=device))
    tensor = TensorMap(keys, [block])
    tensor.set_info("unit", unit)
    return tensor


def build_systems(inputs: Sequence[torch.Tensor], sizes: List[int]) -> List[System]:
    """One metatomic system per group of ``sizes`` consecutive atoms, with its
    momenta and masses attached (no neighbour lists yet).

    Cell vectors of non-periodic directions are set to zero, as metatomic expects.

    :param inputs: positions (n, 3, A), momenta (n, 3, (eV*u)^(1/2)), masses (n,
        u), cells (s, 3, 3, A, vectors as rows), periodicity (s, 3) and atomic
        numbers (n,); the floating-point ones in the model's dtype, all on its
        device, the atoms grouped by system.
    :param sizes: number of atoms of each system, in order; they sum to n.
    """
    positions, momenta, masses, cells, pbc, types = inputs
    cells = torch.where(pbc.unsqueeze(-1), cells, torch.zeros_like(cells))
    systems = []
    start = 0
    for index, size in enumerate(sizes):
        atoms = slice(start, start + size)
        system = System(
            types=types[atoms].to(torch.int32),
            positions=positions[atoms],
            cell=cells[index],
            pbc=pbc[index],
        )
        system.add_data(
            MOMENTUM, _per_atom(MOMENTUM, momenta[atoms], MOMENTUM_UNIT, system)
        )
        system.add_data(MASS, _per_atom(MASS, masses[atoms], MASS_UNIT, system))
        systems.append(system)
        start += size
    return systems


def add_neighbor_lists(model: AtomisticModel, systems: List[System]) -> None:
    """Compute the neighbour lists ``model`` asks for and attach them to
    ``systems`` (vesin, on the systems' device)."""
    for options in model.requested_neighbor_lists():
        calculator = NeighborList(options, LENGTH_UNIT, skin=0.0)
        calculator.add_neighbor_list(systems, copy=True)


INPUT_SHAPES = (
    ("positions", ("n", 3)),
    ("momenta", ("n", 3)),
    ("masses", ("n",)),
    ("cells", ("s", 3, 3)),
    ("pbc", ("s", 3)),
    ("types", ("n",)),
    ("system_index", ("n",)),
)
"""The inputs of :func:`batched_stride` and their shapes, for n atoms in s
systems."""


def _check_shapes(tensors: Sequence[torch.Tensor]) -> None:
    """Refuse inputs (in the order of :data:`INPUT_SHAPES`) whose shapes do not
    describe n atoms in s systems."""
    sizes = {"n": tensors[0].shape[0], "s": tensors[3].shape[0]}
    for tensor, (name, template) in zip(tensors, INPUT_SHAPES):
        shape = tuple(sizes.get(str(size), size) for size in template)
        if tuple(tensor.shape) != shape:
            raise ValueError(
                f"{name} has shape {tuple(tensor.shape)}, expected {shape} for "
                f"{sizes['n']} atoms in {sizes['s']} systems"
            )


def batched_stride(
    model: AtomisticModel,
    positions: torch.Tensor,
    momenta: torch.Tensor,
    masses: torch.Tensor,
    cells: torch.Tensor,
    pbc: torch.Tensor,
    types: torch.Tensor,
    system_index: torch.Tensor,
    *,
    device: Optional[Union[str, torch.device]] = None,
) -> Tuple[torch.Tensor, torch.Tensor]:
    r"""Advance every system by one model stride, with one model evaluation.

    Atoms may come in any order; ``system_index`` says which system each belongs
    to. Each system is built with its own cell, periodicity and neighbour lists, so
    the systems can differ in size, composition and periodicity.

    :param model: the exported FlashMD model (masses are checked by it).
    :param positions: (n, 3) positions at :math:`t`, A.
    :param momenta: (n, 3) momenta at :math:`t`, (eV*u)^(1/2).
    :param masses: (n,) masses, u (they must be the model's).
    :param cells: (s, 3, 3) cell vectors as rows, A (ignored along non-periodic
        directions).
    :param pbc: (s, 3) booleans, periodicity along each cell vector.
    :param types: (n,) atomic numbers.
    :param system_index: (n,) system of each atom, 0 to s - 1; every system must
        have at least one atom.
    :param device: where to evaluate (``"cpu"``, ``"cuda"``, ...); the model is
        moved there (in place). ``None`` keeps the model where it is.
    :return: positions (A) and momenta ((eV*u)^(1/2)) at :math:`t + \Delta t`,
        each (n, 3), in the dtype and on the device of ``positions``.
    """
    _check_shapes((positions, momenta, masses, cells, pbc, types, system_index))
    if device is not None:
        model = model.to(device=torch.device(device))
    target = model_device(model)
    dtype = DTYPES[model.capabilities().dtype]
    order, sizes = _system_order(system_index.to(target), cells.shape[0])
    inputs = (
        positions.to(target)[order].to(dtype),
        momenta.to(target)[order].to(dtype),
        masses.to(target)[order].to(dtype),
        cells.to(device=target, dtype=dtype),
        pbc.to(device=target, dtype=torch.bool),
        types.to(target)[order],
    )
    systems = build_systems(inputs, sizes)
    add_neighbor_lists(model, systems)
    options = ModelEvaluationOptions(length_unit=LENGTH_UNIT, outputs=OUTPUTS)
    with torch.no_grad():
        results = model(systems, options, check_consistency=False)
    back = order.to(positions.device)
    return (
        _unsorted(results[POSITION], back, positions),
        _unsorted(results[MOMENTUM], back, momenta),
    )


def _system_order(
    system_index: torch.Tensor, num_systems: int
) -> Tuple[torch.Tensor, List[int]]:
    """The order that groups the atoms by system (stable) and each system's
    size."""
    system_index = system_index.to(torch.long)
    if system_index.numel() > 0 and (
        int(system_index.min()) < 0 or int(system_index.max()) >= num_systems
    ):
        raise ValueError(f"system_index must be between 0 and {num_systems - 1}")
    sizes = torch.bincount(system_index, minlength=num_systems).tolist()
    if min(sizes, default=1) == 0:
        raise ValueError("every system must have at least one atom")
    return torch.argsort(system_index, stable=True), sizes


def _unsorted(
    output: TensorMap, back: torch.Tensor, like: torch.Tensor
) -> torch.Tensor:
    """The (n, 3) per-atom ``output`` (atoms grouped by system) in the atoms'
    original order ``back``, with the dtype and device of ``like``."""
    values = output.block().values.reshape(-1, 3)
    result = torch.empty_like(like)
    result[back] = values.to(device=like.device, dtype=like.dtype)
    return result
