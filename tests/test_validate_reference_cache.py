"""The reference cache of ``validate``: a cached reference run gives the verdicts
of a fresh one, bit for bit; anything that changes the run (the bath's random
stream, the reference) makes a new one; an unreadable entry is run again."""

import logging
from pathlib import Path
from typing import Any, List

import ase.build
import numpy as np
import pytest
from ase.calculators.emt import EMT
from exact_stride import verlet_stride_model
from test_validate_runs import OPTIONS, STRIDE_FS, SUBSTEPS, TEMPERATURE

import metatrain_flashmd.validation.workflow as workflow
from metatrain_flashmd.validation import validate
from metatrain_flashmd.validation.reference_cache import reference_identity


pytestmark = pytest.mark.xdist_group("validate-emt")


@pytest.fixture
def reference_runs(monkeypatch: pytest.MonkeyPatch) -> List[Any]:
    """Records every reference MD run that is actually made (NVE or NVT)."""
    made: List[Any] = []

    def counting(original: Any) -> Any:
        def run(*args: Any, **kwargs: Any) -> Any:
            made.append(args)
            return original(*args, **kwargs)

        return run

    for name in ("run_reference", "run_nvt_reference"):
        monkeypatch.setattr(workflow, name, counting(getattr(workflow, name)))
    return made


def thermal_aluminium() -> ase.Atoms:
    """32 atoms of fcc Al with momenta at 300 K (the same for every seed)."""
    atoms = ase.build.bulk("Al", "fcc", a=4.05, cubic=True).repeat(2)
    rng = np.random.default_rng(0)
    momenta = rng.normal(size=(len(atoms), 3)) * np.sqrt(
        atoms.get_masses()[:, None] * ase.units.kB * TEMPERATURE
    )
    atoms.set_momenta(momenta - momenta.mean(axis=0))
    atoms.rattle(0.02, seed=1)
    return atoms


def nvt(seed: int, cache: Any = None, reference: Any = "emt") -> dict:
    """The exact stand-in validated in NVT for 0.6 ps; its result as a dict."""
    result = validate(
        verlet_stride_model(STRIDE_FS, SUBSTEPS),
        thermal_aluminium(),
        TEMPERATURE,
        reference,
        time_ps=0.6,
        seed=seed,
        quiet=True,
        reference_cache=cache,
        **OPTIONS,
    )
    return result.to_dict()


def test_a_cached_reference_gives_the_same_verdicts(reference_runs, tmp_path):
    fresh = nvt(seed=5)
    assert len(reference_runs) == 1
    stored = nvt(seed=5, cache=tmp_path)
    assert len(reference_runs) == 2 and len(list(tmp_path.glob("*.npz"))) == 1
    reused = nvt(seed=5, cache=tmp_path)
    assert len(reference_runs) == 2  # read, not run
    for result in (stored, reused):
        assert result["checks"] == fresh["checks"]
        assert result["figures"]["reference"] == fresh["figures"]["reference"]
    # the same start, another seed: another bath noise, so another reference run
    other = nvt(seed=6, cache=tmp_path)
    assert len(reference_runs) == 3 and len(list(tmp_path.glob("*.npz"))) == 2
    assert other["figures"]["reference"] != fresh["figures"]["reference"]


def test_an_unreadable_entry_is_run_again(reference_runs, tmp_path, caplog):
    first = nvt(seed=5, cache=tmp_path)
    (entry,) = tmp_path.glob("*.npz")
    entry.write_bytes(entry.read_bytes()[:100])  # an interrupted copy
    with caplog.at_level(logging.WARNING):
        again = nvt(seed=5, cache=tmp_path)
    assert len(reference_runs) == 2 and "cannot read" in caplog.text
    assert again["checks"] == first["checks"]
    assert nvt(seed=5, cache=tmp_path)["checks"] == first["checks"]
    assert len(reference_runs) == 2  # the rewritten entry is read


def test_a_calculator_object_is_not_cached(reference_runs, tmp_path):
    nvt(seed=5, cache=tmp_path, reference=EMT())
    nvt(seed=5, cache=tmp_path, reference=EMT())
    assert len(reference_runs) == 2 and not list(tmp_path.glob("*.npz"))


def test_the_identity_of_a_file_is_its_content(tmp_path: Path):
    model = tmp_path / "mlip.pt"
    model.write_bytes(b"weights one")
    first = reference_identity(model)
    assert first == reference_identity(str(model)) and first.startswith("sha256:")
    model.write_bytes(b"weights two")
    assert reference_identity(model) != first
    assert reference_identity("emt") == "emt"
    assert reference_identity("package.module:make") == "package.module:make"
    assert reference_identity(object()) is None
