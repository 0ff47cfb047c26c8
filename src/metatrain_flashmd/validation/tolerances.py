"""How close a FlashMD run must come to its reference: the default tolerances.

Every check compares a *deviation* of the FlashMD run from the reference (or from
the target temperature) with a *threshold*, the larger of a tolerance and a
multiple of the *noise floor*, the same deviation measured on the reference itself
(its first half against its second half, or its block-averaged standard error).
A check fails only when the run is both outside the tolerance and worse than the
reference's own statistical noise: a short run cannot fail for lack of
statistics, and a long one is not held to differences nobody would notice.
"""

import dataclasses
from typing import Any, Dict


@dataclasses.dataclass
class Tolerances:
    """Tolerances of :func:`~metatrain_flashmd.validation.validate`, each of which
    can be changed (``Tolerances(temperature=0.05)``)."""

    temperature: float = 0.03
    """Mean temperature of each element: within this fraction of the target (NVT)
    or of the reference run's mean temperature of all atoms (NVE)."""
    temperature_noise_factor: float = 2.0
    """... or within this many block-averaged standard errors of the reference's
    mean temperature (its noise floor; in NVE, of the difference between the
    element's mean and the whole system's)."""
    temperature_spread: float = 0.15
    """Width (standard deviation) of each element's instantaneous temperature:
    within this fraction of the reference's (the distribution equipartition
    gives), or within ``temperature_noise_factor`` standard errors of the
    difference."""
    rdf_noise_factor: float = 1.5
    """RDFs, total and partial: integrated difference from the reference's within
    this multiple of the noise floor, the difference between the reference's two
    halves ..."""
    rdf: float = 0.01
    """... or below this (dimensionless, see
    :func:`~metatrain_flashmd.observables.structure.rdf_difference`)."""
    vacf_noise_factor: float = 1.5
    """Velocity autocorrelation of each element: root mean square difference from
    the reference's within this multiple of the noise floor (the reference's two
    halves) ..."""
    vacf: float = 0.05
    """... or below this (dimensionless)."""
    vacf_max_lag_fs: float = 500.0
    """Lag times over which VACFs are compared, fs."""
    diffusion: float = 0.2
    """Diffusion coefficient, where the reference diffuses: within this fraction of
    the reference's, or of the difference between the reference's halves times
    ``diffusion_noise_factor``. Where it does not, the FlashMD run must not
    diffuse either."""
    diffusion_noise_factor: float = 1.5
    """See ``diffusion``."""
    pressure: float = 0.05
    """Mean virial pressure (the stress of the positions, from the reference
    calculator; :mod:`~metatrain_flashmd.validation.pressure`): within this many
    GPa of the reference's. A constant-pressure run turns an error Delta P into a
    volume error Delta V / V ~ Delta P / B (B the bulk modulus): 0.05 GPa is
    0.1-0.2% of a metal's volume; set it to B times the volume error you
    accept ..."""
    pressure_noise_factor: float = 2.0
    """... or within this many standard errors of the difference of two means
    (block-averaged, the reference's times the square root of two)."""
    energy_drift: float = 0.03
    """NVE: energy gained or lost over the run, per atom, expressed as the
    temperature change it makes in a harmonic solid (Delta E / 3 k_B), within this
    fraction of the reference's mean temperature ..."""
    energy_drift_noise_factor: float = 1.5
    """... or within this multiple of the reference's own drift."""

    def to_dict(self) -> Dict[str, Any]:
        """The tolerances by name."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: Dict[str, Any]) -> "Tolerances":
        """Tolerances from a dictionary (unknown names refused)."""
        names = {field.name for field in dataclasses.fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise ValueError(
                f"unknown tolerance(s) {', '.join(unknown)}; known: "
                + ", ".join(sorted(names))
            )
        return cls(**{key: float(value) for key, value in values.items()})
