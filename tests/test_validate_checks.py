"""The verdict rule of a validation and its per-stride diagnostics, on data with
known answers."""

import math

import numpy as np
import pytest

from metatrain_flashmd.validation.checks import Check, judge, relative
from metatrain_flashmd.validation.result import judged_as_today, judging_rules
from metatrain_flashmd.validation.stride import (
    StrideData,
    stride_diagnostics,
    thermostat_offset,
)


def test_judge_against_tolerance_and_noise_floor():
    assert judge(0.04, 0.03, 0.01, 2.0) == (0.03, False)
    assert judge(0.04, 0.03, 0.025, 2.0) == (0.05, True)  # noisy reference
    assert judge(0.02, 0.03, float("nan"), 2.0) == (0.03, True)
    assert judge(float("nan"), 0.03, 0.01, 2.0)[1] is False
    assert relative(110.0, 100.0) == pytest.approx(0.1)
    assert math.isnan(relative(1.0, 0.0))


def stride_data(shrink: float) -> StrideData:
    """Random pairs whose predictions are the truth with the changes of
    position and momentum scaled by ``shrink``."""
    rng = np.random.default_rng(2)
    positions = rng.normal(size=(200, 3))
    momenta = rng.normal(size=(200, 3))
    positions_true = positions + rng.normal(scale=0.1, size=(200, 3))
    momenta_true = momenta + rng.normal(scale=0.5, size=(200, 3))
    return StrideData(
        positions=positions,
        momenta=momenta,
        positions_true=positions_true,
        momenta_true=momenta_true,
        positions_pred=positions + shrink * (positions_true - positions),
        momenta_pred=momenta + shrink * (momenta_true - momenta),
        masses=np.full(200, 27.0),
        numbers=np.array([13] * 100 + [29] * 100),
    )


def test_stride_diagnostics():
    exact = stride_diagnostics(stride_data(1.0))
    assert exact["slopes"] == pytest.approx(
        {"displacement": 1.0, "momentum": 1.0, "momentum_change": 1.0}
    )
    assert exact["elements"]["Al"]["kinetic_bias_K"] == pytest.approx(0.0, abs=1e-9)
    assert exact["elements"]["Cu"]["samples"] == 100
    shrunk = stride_diagnostics(stride_data(0.5))
    assert shrunk["slopes"]["momentum_change"] == pytest.approx(0.5)
    assert shrunk["slopes"]["displacement"] == pytest.approx(0.5)
    assert shrunk["elements"]["Al"]["kinetic_bias_K"] < 0  # it cools
    # +1 K per 10 fs stride against a 100 fs bath
    assert thermostat_offset(1.0, 10.0, 100.0, "bussi") == pytest.approx(10.0)
    assert thermostat_offset(1.0, 10.0, 100.0, "langevin") == pytest.approx(5.0)


def test_check_serialises_without_nan():
    check = Check(
        "RDF total", "rdf", "total", "nvt", 0.1, 0.0, "", 0.1, float("nan"), 0.01, False
    )
    values = check.to_dict()
    assert values["noise_floor"] is None and values["verdict"] == "FAIL"
    assert check.failed("stopped").note == "stopped"


def test_judging_rules_of_summaries_without_their_version():
    """A summary without ``rules`` was judged by rules 2 when its reference has
    the temperature of all atoms (added with them), else by rules 1, which judge
    alike but in NVE with several elements."""
    assert judging_rules({"rules": 2}) == 2
    assert judging_rules({"figures": {"reference": {"temperature_all": {}}}}) == 2
    assert judging_rules({"figures": {"reference": {}}}) == 1
    two = {"reference": {"temperature": {"Cu": {}, "Au": {}}}}
    one = {"reference": {"temperature": {"Al": {}}}}
    nve = {"ensemble": "nve"}
    assert not judged_as_today({"settings": nve, "figures": two})
    assert judged_as_today({"settings": nve, "figures": one})
    assert judged_as_today({"rules": 2, "settings": nve, "figures": two})


def test_nvt_summaries_before_rules_3_are_judged_otherwise_today():
    """Rules 3 changed the NVT reference made by a calculator (the integrator
    with exact strides); an NVT summary against a reference trajectory, and any
    summary of rules 3, is judged as today."""
    figures = {"reference": {"temperature": {"Al": {}}}}
    calculator = {"ensemble": "nvt", "reference_kind": "calculator"}
    trajectory = {"ensemble": "nvt", "reference_kind": "trajectory"}
    for rules in (1, 2):
        summary = {"rules": rules, "settings": calculator, "figures": figures}
        assert not judged_as_today(summary)
        assert judged_as_today({**summary, "settings": trajectory})
    assert judged_as_today({"rules": 3, "settings": calculator, "figures": figures})
