r"""Radial distribution functions, total and partial, and how far apart two are.

For atoms of elements :math:`a` and :math:`b` (or all atoms, ``total``), the RDF
counts pairs at distance :math:`r` in shells of width :math:`\delta r`, averaged
over frames, and divides by the count an ideal gas of the same densities would
give:

.. math::

    g_{ab}(r) = \frac{\langle n_{ab}(r) \rangle}
    {P_{ab}\, 4\pi r^2 \delta r / V},
    \qquad P_{aa} = N_a (N_a - 1)/2, \quad P_{ab} = N_a N_b,

so that :math:`g \to 1` at large :math:`r`. Distances are taken to every periodic
image (not only the nearest one), so that ``r_max`` may exceed half the cell of a
small system; an atom and its own images are not a pair. Without periodicity in
every direction the volume is undefined, and :math:`g` is instead the density of
pair distances per shell, normalised to one over :math:`[0, r_{max}]` (1/A).

Distances in A.
"""

from typing import Dict, List, Tuple

import ase.data
import numpy as np
import vesin


RDF_MAX_A = 6.0
"""Default largest distance of the RDFs, A."""
RDF_BIN_A = 0.05
"""Default RDF bin width, A."""


def element_symbols(numbers: np.ndarray) -> List[str]:
    """Chemical symbols of the elements present, by increasing atomic number."""
    return [ase.data.chemical_symbols[z] for z in sorted(set(np.asarray(numbers)))]


def rdf_keys(numbers: np.ndarray) -> List[str]:
    """Names of the RDFs of a system: ``total``, then ``A-B`` for each pair of
    elements (with ``A`` first by atomic number) when there are several."""
    symbols = element_symbols(numbers)
    keys = ["total"]
    if len(symbols) > 1:
        for index, first in enumerate(symbols):
            keys += [f"{first}-{second}" for second in symbols[index:]]
    return keys


def _pair_distances(
    positions: np.ndarray, cell: np.ndarray, pbc: np.ndarray, r_max: float
) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each unordered pair of distinct atoms within ``r_max`` of one frame, every
    periodic image counted: (first atoms, second atoms, distances in A)."""
    calculator = vesin.NeighborList(cutoff=float(r_max), full_list=False)
    box = cell if np.any(pbc) else np.zeros((3, 3))
    first, second, distance = calculator.compute(
        points=positions, box=box, periodic=[bool(p) for p in pbc], quantities="ijd"
    )
    distinct = first != second
    return first[distinct], second[distinct], distance[distinct]


def rdf(
    positions: np.ndarray,
    cell: np.ndarray,
    numbers: np.ndarray,
    pbc: np.ndarray = (True, True, True),
    r_max: float = RDF_MAX_A,
    bin_width: float = RDF_BIN_A,
) -> Dict[str, np.ndarray]:
    """Total and partial RDFs averaged over frames (see the module docstring).

    :param positions: (frames, n, 3) positions, A.
    :param cell: (3, 3) cell vectors as rows, A.
    :param numbers: (n,) atomic numbers.
    :param pbc: (3,) periodic directions.
    :param r_max: largest distance, A.
    :param bin_width: shell width, A.
    :return: ``r`` (bin centres, A) and one array per key of :func:`rdf_keys`.
    """
    positions = np.asarray(positions, dtype=float).reshape(-1, len(numbers), 3)
    numbers = np.asarray(numbers)
    pbc = np.asarray(pbc, dtype=bool)
    edges = np.arange(0.0, r_max + bin_width / 2, bin_width)
    keys = rdf_keys(numbers)
    symbols = np.array([ase.data.chemical_symbols[z] for z in numbers])
    counts = {key: np.zeros(len(edges) - 1) for key in keys}
    for frame in positions:
        first, second, distance = _pair_distances(frame, cell, pbc, edges[-1])
        counts["total"] += np.histogram(distance, edges)[0]
        for key in keys[1:]:
            a, b = key.split("-")
            mask = ((symbols[first] == a) & (symbols[second] == b)) | (
                (symbols[first] == b) & (symbols[second] == a)
            )
            counts[key] += np.histogram(distance[mask], edges)[0]
    result = {"r": 0.5 * (edges[1:] + edges[:-1])}
    for key in keys:
        if np.all(pbc):
            ideal = _ideal_pairs(key, symbols, cell, edges) * len(positions)
        else:
            ideal = max(float(counts[key].sum()), 1.0) * bin_width
        result[key] = counts[key] / ideal
    return result


def _ideal_pairs(
    key: str, symbols: np.ndarray, cell: np.ndarray, edges: np.ndarray
) -> np.ndarray:
    """Pairs per shell of an ideal gas with the densities of ``key`` in the
    periodic ``cell``."""
    if key == "total":
        count = len(symbols)
        pairs = count * (count - 1) / 2
    else:
        a, b = key.split("-")
        count_a = np.count_nonzero(symbols == a)
        count_b = np.count_nonzero(symbols == b)
        pairs = count_a * (count_a - 1) / 2 if a == b else count_a * count_b
    shells = 4.0 / 3.0 * np.pi * (edges[1:] ** 3 - edges[:-1] ** 3)
    return pairs * shells / abs(np.linalg.det(cell))


def rdf_difference(
    first: Dict[str, np.ndarray], second: Dict[str, np.ndarray], key: str = "total"
) -> float:
    r"""How far apart two RDFs are: :math:`\frac{1}{r_{max}} \int_0^{r_{max}}
    |g_1 - g_2|\, dr` (dimensionless; 0 for identical RDFs, about 2 for RDFs of the
    same height whose peaks do not overlap). Both must have the same bins.

    :param first: RDFs of :func:`rdf`.
    :param second: RDFs of :func:`rdf`, same ``r``.
    :param key: which RDF (``total``, ``Cu-Au``, ...).
    """
    r = first["r"]
    if len(r) != len(second["r"]) or not np.allclose(r, second["r"]):
        raise ValueError("the two RDFs do not have the same bins")
    width = float(r[1] - r[0]) if len(r) > 1 else 0.0
    r_max = float(r[-1] + width / 2)
    return float(np.sum(np.abs(first[key] - second[key])) * width / r_max)
