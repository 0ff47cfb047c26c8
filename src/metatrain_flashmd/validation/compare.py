"""The comparisons of a validation: a FlashMD run's figures against a reference
run's, each with its noise floor measured on the reference.

Noise floors: for mean temperatures and the widths of their distributions, the
block-averaged standard errors of the reference's (times the square root of two
for the difference of two runs' figures); for RDFs, VACFs and diffusion, the
deviation between the reference's first and second halves; for the energy drift,
the reference's own. Figures are those of
:func:`~metatrain_flashmd.validation.figures.run_figures`.
"""

import dataclasses
import math
from typing import Any, Dict, List, Optional

import ase.units
import numpy as np

from metatrain_flashmd.observables.structure import rdf_difference
from metatrain_flashmd.observables.trajectory import Trajectory
from metatrain_flashmd.observables.transport import (
    DIFFUSION_THRESHOLD_A2,
    vacf_difference,
)
from metatrain_flashmd.validation.checks import Check, judge, relative
from metatrain_flashmd.validation.figures import run_figures
from metatrain_flashmd.validation.tolerances import Tolerances


KB_MEV_PER_K = ase.units.kB * 1000.0
"""Boltzmann's constant, meV/K."""


def element_spread(temperatures: Dict[str, float]) -> float:
    """(max - min) / mean of per-element mean temperatures; infinite when one is
    not finite (a run that stopped), NaN for none."""
    values = np.array(list(temperatures.values()), dtype=float)
    if values.size == 0:
        return math.nan
    if not np.all(np.isfinite(values)):
        return math.inf
    return float((values.max() - values.min()) / values.mean())


def _vacf_distance(run: Dict[str, Any], reference: Dict[str, Any], key: str) -> float:
    """VACF difference with the reference interpolated to the run's lags."""
    return vacf_difference(reference, run, key)


CURVES = {"rdf": ("r", "RDF", rdf_difference), "vacf": ("t", "VACF", _vacf_distance)}
"""For each compared curve: its abscissa, its name, and the difference of two
(``difference(run, reference, key)``)."""


@dataclasses.dataclass
class ReferenceFigures:
    """Figures of the reference run, whole and by halves (its noise)."""

    whole: Dict[str, Any]
    first_half: Dict[str, Any]
    second_half: Dict[str, Any]


def reference_figures(
    trajectory: Trajectory, tolerances: Tolerances
) -> ReferenceFigures:
    """Figures of the reference run and of its two halves."""
    first, second = trajectory.halves()
    lag = tolerances.vacf_max_lag_fs
    return ReferenceFigures(
        whole=run_figures(trajectory, lag),
        first_half=run_figures(first, lag),
        second_half=run_figures(second, lag),
    )


@dataclasses.dataclass
class Comparison:
    """One FlashMD run's figures against the reference's."""

    reference: ReferenceFigures
    run: Dict[str, Any]
    """The run's figures."""
    run_name: str
    tolerances: Tolerances

    def check(self, name: str, quantity: str, subject: str, **fields: Any) -> Check:
        """A judged :class:`Check`: ``fields`` holds ``value``, ``reference``,
        ``unit``, ``deviation``, ``noise_floor``, ``tolerance``, ``factor`` and
        optionally ``note``."""
        tolerance, factor = fields.pop("tolerance"), fields.pop("factor")
        threshold, passed = judge(
            fields["deviation"], tolerance, fields["noise_floor"], factor
        )
        return Check(
            name,
            quantity,
            subject,
            self.run_name,
            threshold=threshold,
            passed=passed,
            **fields,
        )

    def temperature_checks(self, target_K: Optional[float]) -> List[Check]:
        """Each element's mean temperature (:meth:`mean_temperature_check`) and
        the width of its distribution."""
        checks = []
        for symbol, ours in self.run["temperature"].items():
            theirs = self.reference.whole["temperature"][symbol]
            checks.append(self.mean_temperature_check(symbol, target_K))
            checks.append(
                self.check(
                    f"temperature spread {symbol}",
                    "temperature_spread",
                    symbol,
                    value=ours["std"],
                    reference=theirs["std"],
                    unit="K",
                    deviation=relative(ours["std"], theirs["std"]),
                    noise_floor=math.sqrt(2) * theirs["std_error"] / theirs["std"],
                    tolerance=self.tolerances.temperature_spread,
                    factor=self.tolerances.temperature_noise_factor,
                )
            )
        return checks

    def mean_temperature_check(self, symbol: str, target_K: Optional[float]) -> Check:
        """The mean temperature of element ``symbol`` against ``target_K`` (NVT;
        noise floor: the reference element's block error) or, when ``None`` (NVE),
        against the reference's temperature of all atoms together. Classical
        equipartition gives every element the system's temperature, so the
        reference's own element means differ from it only by their noise, and the
        whole system's mean is the better estimate of each (108-atom Cu3Au, 40 ps:
        the reference's Au and Cu came out 2.9% apart). Noise floor in NVE: the
        whole system's block error and the element's (standing in for the run's
        own) added in quadrature."""
        ours = self.run["temperature"][symbol]
        theirs = self.reference.whole["temperature"][symbol]
        if target_K is not None:
            against, error, name = target_K, theirs["error"], "target"
        else:
            whole = self.reference.whole["temperature_all"]
            against, name = whole["mean"], "reference"
            error = math.hypot(whole["error"], theirs["error"])
        return self.check(
            f"mean temperature {symbol} vs {name}",
            "temperature_mean",
            symbol,
            value=ours["mean"],
            reference=against,
            unit="K",
            deviation=relative(ours["mean"], against),
            noise_floor=error / against,
            tolerance=self.tolerances.temperature,
            factor=self.tolerances.temperature_noise_factor,
            note=f"reference run {theirs['mean']:.1f} +/- {theirs['error']:.1f} K",
        )

    def equipartition_check(self) -> Check:
        """Whether the elements share the kinetic energy: the spread of their
        mean temperatures, (max - min) / mean, against the tolerance on
        temperatures or the reference's own spread (its noise: zero at
        equilibrium), whichever is larger."""
        ours = {
            k: math.nan if v["mean"] is None else float(v["mean"])
            for k, v in self.run["temperature"].items()
        }
        theirs = self.reference.whole["temperature"]
        reference_spread = element_spread({k: v["mean"] for k, v in theirs.items()})
        error = math.hypot(*sorted(v["error"] for v in theirs.values())[-2:])
        mean = float(np.mean([v["mean"] for v in theirs.values()]))
        spread = element_spread(ours)
        hottest = max(ours, key=lambda k: np.nan_to_num(ours[k], nan=-math.inf))
        coldest = min(ours, key=lambda k: np.nan_to_num(ours[k], nan=math.inf))
        return self.check(
            "equipartition between elements",
            "equipartition",
            "all",
            value=spread,
            reference=reference_spread,
            unit="(max - min) / mean",
            deviation=spread,
            noise_floor=max(reference_spread, error / mean),
            tolerance=self.tolerances.temperature,
            factor=self.tolerances.temperature_noise_factor,
            note=f"hottest {hottest} {ours[hottest]:.1f} K, coldest {coldest} "
            f"{ours[coldest]:.1f} K",
        )

    def curve_checks(
        self, quantity: str, tolerance: float, factor: float
    ) -> List[Check]:
        """Each curve of ``quantity`` (``rdf``: total and partial RDFs, their
        integrated difference; ``vacf``: each element's VACF, the root mean square
        difference) against the reference's."""
        abscissa, title, difference = CURVES[quantity]
        halves = (self.reference.first_half, self.reference.second_half)
        whole = self.reference.whole[quantity]
        checks = []
        for key in [k for k in whole if k != abscissa]:
            deviation = float("nan")
            if self.run[quantity]:
                deviation = difference(self.run[quantity], whole, key)
            checks.append(
                self.check(
                    f"{title} {key}",
                    quantity,
                    key,
                    value=deviation,
                    reference=0.0,
                    unit="",
                    deviation=deviation,
                    noise_floor=difference(
                        halves[1][quantity], halves[0][quantity], key
                    ),
                    tolerance=tolerance,
                    factor=factor,
                )
            )
        return checks

    def diffusion_check(self) -> Check:
        """The diffusion coefficient where the reference diffuses; where it does
        not, the run must not diffuse either (its MSD at half the run at most
        :data:`~metatrain_flashmd.observables.transport.DIFFUSION_THRESHOLD_A2`)."""
        theirs = self.reference.whole["diffusion"]
        ours = self.run["diffusion"]
        if not theirs["msd_half_A2"] > DIFFUSION_THRESHOLD_A2:
            return self.check(
                "no diffusion (reference does not diffuse)",
                "diffusion",
                "all",
                value=ours["msd_half_A2"],
                reference=theirs["msd_half_A2"],
                unit="A^2 (MSD at half the run)",
                deviation=ours["msd_half_A2"] / DIFFUSION_THRESHOLD_A2,
                noise_floor=float("nan"),
                tolerance=1.0,
                factor=0.0,
                note=f"a run diffuses above {DIFFUSION_THRESHOLD_A2:g} A^2",
            )
        halves = [
            part["diffusion"]["D_A2_per_ps"]
            for part in (self.reference.first_half, self.reference.second_half)
        ]
        return self.check(
            "diffusion coefficient",
            "diffusion",
            "all",
            value=ours["D_A2_per_ps"],
            reference=theirs["D_A2_per_ps"],
            unit="A^2/ps",
            deviation=relative(ours["D_A2_per_ps"], theirs["D_A2_per_ps"]),
            noise_floor=relative(*halves),
            tolerance=self.tolerances.diffusion,
            factor=self.tolerances.diffusion_noise_factor,
        )

    def pressure_check(self) -> Check:
        """The mean virial pressure (:mod:`.pressure`) against the reference's,
        in GPa: the deviation and noise floor are differences in GPa (the
        reference's block-averaged error times the square root of two)."""
        ours, theirs = self.run["pressure"], self.reference.whole["pressure"]
        note = (
            f"deviation and threshold in GPa; reference {theirs['mean']:.3f} "
            f"+/- {theirs['error']:.3f} GPa"
        )
        return self.check(
            "mean virial pressure",
            "pressure",
            "all",
            note=note,
            unit="GPa",
            value=ours["mean"],
            reference=theirs["mean"],
            deviation=abs(ours["mean"] - theirs["mean"]),
            noise_floor=math.sqrt(2) * theirs["error"],
            tolerance=self.tolerances.pressure,
            factor=self.tolerances.pressure_noise_factor,
        )

    def drift_check(self) -> Check:
        """NVE: the run's total energy drift, as the temperature change it makes
        over the reference's length (Delta E / 3 k_B per atom) relative to the
        reference's mean temperature (averaged over elements); the noise floor is
        the reference's own drift, so measured."""
        whole = self.reference.whole
        temperature = np.mean([v["mean"] for v in whole["temperature"].values()])
        scale = whole["duration_ps"] / (3.0 * KB_MEV_PER_K * temperature)
        ours = self.run["energy_drift_meV_atom_ps"]
        theirs = whole["energy_drift_meV_atom_ps"]
        return self.check(
            "energy drift",
            "energy_drift",
            "all",
            value=ours,
            reference=theirs,
            unit="meV/atom/ps",
            deviation=abs(ours) * scale,
            noise_floor=abs(theirs) * scale,
            tolerance=self.tolerances.energy_drift,
            factor=self.tolerances.energy_drift_noise_factor,
            note="without rescaling"
            if self.run_name == "nve"
            else "with energy rescaling",
        )


def compare_run(
    reference: ReferenceFigures,
    run: Dict[str, Any],
    run_name: str,
    tolerances: Tolerances,
    target_K: Optional[float],
) -> List[Check]:
    """Temperatures, RDFs, VACFs, diffusion and, when both have it (figures
    ``pressure``), the virial pressure of ``run`` against ``reference``.

    :param target_K: the bath temperature (NVT), against which mean temperatures
        are judged; ``None`` (NVE) to judge them against the reference's
        temperature of all atoms.
    """
    comparison = Comparison(reference, run, run_name, tolerances)
    checks = comparison.temperature_checks(target_K)
    if len(run["temperature"]) > 1:
        checks.append(comparison.equipartition_check())
    checks += comparison.curve_checks(
        "rdf", tolerances.rdf, tolerances.rdf_noise_factor
    )
    checks += comparison.curve_checks(
        "vacf", tolerances.vacf, tolerances.vacf_noise_factor
    )
    checks.append(comparison.diffusion_check())
    if run.get("pressure") and reference.whole.get("pressure"):
        checks.append(comparison.pressure_check())
    return checks
