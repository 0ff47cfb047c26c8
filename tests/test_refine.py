"""``mtt-flashmd refine``: the loop's folders and final files, stopping when
validation passes or the budget is spent, resuming an interrupted refine, the
physics of the reference restarts, and bad input.

The loop tests replace ``mtt train`` by a stand-in that exports a tiny random
model, and the validation by one that fails or passes on demand; everything
else (collection, trouble scores, reference restarts, pairs, options) is real.
The slow test runs the command line with ``mtt train`` and the real validation.
"""

import json
import math
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import ase.build
import ase.io
import ase.units
import numpy as np
import pytest
import torch
import yaml
from helpers import TINY_MODEL_HYPERS, aluminium_trajectory, tiny_model

from metatrain_flashmd.observables.temperature import temperature
from metatrain_flashmd.pairs.build import build_pairs
from metatrain_flashmd.refine import RefineInputError, refine
from metatrain_flashmd.refine.loop import kept_round
from metatrain_flashmd.refine.schedule import epochs, imbalance, severity
from metatrain_flashmd.validation import ValidationInputError
from metatrain_flashmd.validation.result import JUDGING_RULES


TEMPERATURE = 600.0
QUICK = dict(
    time_ps=0.45, equilibration_ps=0.05, reference_timestep_fs=2.5, progress=False
)


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Pairs of 32-atom EMT Al (10 fs), their options file (tiny model, one
    epoch) and a START without momenta."""
    torch.set_num_threads(1)
    directory = tmp_path_factory.mktemp("refine-data")
    trajectory = directory / "md.extxyz"
    aluminium_trajectory(trajectory, 200, temperature_K=2 * TEMPERATURE)
    options = directory / "options.yaml"
    build_pairs(
        [trajectory],
        directory / "pairs.xyz",
        lag=10,
        spacing=5,
        validation=0.2,
        test=0.0,
        options=options,
    )
    document = yaml.safe_load(options.read_text())
    document["seed"] = 0
    document["architecture"]["model"] = dict(TINY_MODEL_HYPERS)
    document["architecture"]["training"].update(
        num_epochs=2, batch_size=8, learning_rate=2e-3, num_workers=0
    )
    options.write_text(yaml.safe_dump(document))
    model = directory / "tiny.pt"
    tiny_model(timestep=10.0).export().save(str(model))
    start = directory / "start.xyz"
    ase.io.write(start, ase.build.bulk("Al", "fcc", a=4.05, cubic=True).repeat(2))
    return {"options": options, "start": start, "model": model}


class StandIns:
    """``mtt train`` and validation stand-ins that count their calls."""

    def __init__(self, model, verdicts=(), interrupt_at=None, deviations=()):
        self.model = model
        self.verdicts = list(verdicts)
        self.deviations = list(deviations)
        self.interrupt_at = interrupt_at
        self.trained = []
        self.validated = []

    def train(self, options: Path, folder: Path) -> None:
        if self.interrupt_at is not None and len(self.trained) == self.interrupt_at:
            raise KeyboardInterrupt
        self.trained.append(folder.name)
        shutil.copyfile(self.model, folder / "model.pt")
        (folder / "model.ckpt").write_text(options.read_text())

    def validate(self, model: Path, report: Path) -> dict:
        passed = self.verdicts.pop(0) if self.verdicts else False
        deviation = self.deviations.pop(0) if self.deviations else 2.0
        self.validated.append(model.parent.name)
        report.mkdir(parents=True, exist_ok=True)
        (report / "report.md").write_text(f"stand-in of {model.parent.name}")
        check = {
            "name": "RDF total",
            "passed": passed,
            "deviation": deviation,
            "threshold": 1.0,
        }
        return {
            "rules": JUDGING_RULES,
            "passed": passed,
            "failed": [] if passed else ["RDF total (nvt)"],
            "checks": [check],
        }


def run_refine(data, directory, stand_ins, rounds=1, **changes):
    options = dict(
        QUICK,
        rounds=rounds,
        directory=directory,
        train=stand_ins.train,
        validator=stand_ins.validate,
    )
    options.update(changes)
    return refine(data["options"], data["start"], "emt", TEMPERATURE, **options)


def test_schedule_rules():
    assert severity([{"passed": True, "deviation": 9.0, "threshold": 1.0}]) == 1.0
    assert severity([{"passed": False, "deviation": 4.0, "threshold": 2.0}]) == 2.0
    assert severity([{"passed": False, "deviation": None, "threshold": 1}]) == math.inf
    assert [epochs(2, s) for s in (1.0, 2.0, 4.0, 16.0, math.inf)] == [2, 3, 4, 6, 6]
    assert imbalance(0.01) == 0.25 and imbalance(0.3) == pytest.approx(0.45)
    assert imbalance(5.0) == 0.75


def test_budget_spent_writes_every_round(data, tmp_path):
    stand_ins = StandIns(data["model"])
    result = run_refine(data, tmp_path / "out", stand_ins)
    out = tmp_path / "out"
    assert result.outcome == "budget spent" and not result.passed
    assert stand_ins.trained == ["round-00", "round-01"]
    for name in ("model.pt", "model.ckpt", "round.json", "report/summary.json"):
        assert (out / "round-00" / name).exists() and (out / "round-01" / name).exists()
    for name in ("visited.extxyz", "options.yaml", "pairs/pairs-train.xyz"):
        assert (out / "round-01" / name).exists()
    restarts = sorted(p.name for p in (out / "round-01" / "restarts").iterdir())
    assert restarts == [
        "imbalanced-0.extxyz",
        "imbalanced-1.extxyz",
        "visited-0.extxyz",
        "visited-1.extxyz",
    ]
    assert (out / "final.pt").read_bytes() == (out / "round-01/model.pt").read_bytes()
    assert (out / "final.ckpt").exists() and (out / "final-report/report.md").exists()
    state = json.loads((out / "refine.json").read_text())
    assert state["stopped"] == "budget spent" and len(state["rounds"]) == 2

    # the round's options: fine-tune of round 0's checkpoint on both data sets,
    # epochs and learning rate by the rules (severity 2: 1.5 x 2 epochs, lr / 2)
    options = yaml.safe_load((out / "round-01/options.yaml").read_text())
    training = options["architecture"]["training"]
    assert training["finetune"]["read_from"] == str(out / "round-00/model.ckpt")
    assert training["num_epochs"] == 3 and training["learning_rate"] == 1e-3
    assert len(options["training_set"]) == 2 and len(options["validation_set"]) == 2
    check_restarts(out / "round-01", state["rounds"][1]["schedule"]["imbalance"])
    starts = [
        ase.io.read(out / "round-01/restarts" / f"visited-{i}.extxyz", index=0)
        for i in range(2)
    ]
    assert not np.allclose(starts[0].positions, starts[1].positions)
    start = ase.io.read(out / "start.extxyz")
    assert not any(np.allclose(a.positions, start.positions) for a in starts)


def test_budget_spent_keeps_the_least_severe_round(data, tmp_path):
    # round 1 halves the failing check's deviation and round 2 makes it worse:
    # the final files are round 1's, and the state and result say so
    stand_ins = StandIns(data["model"], deviations=[4.0, 1.5, 3.0])
    out = tmp_path / "out"
    result = run_refine(data, out, stand_ins, rounds=2)
    assert result.outcome == "budget spent" and result.final_round == 1
    assert stand_ins.validated == ["round-00", "round-01", "round-02"]
    ckpt = (out / "final.ckpt").read_bytes()
    assert ckpt == (out / "round-01/model.ckpt").read_bytes()
    assert ckpt != (out / "round-02/model.ckpt").read_bytes()
    assert (out / "final-report/report.md").read_text() == "stand-in of round-01"
    state = json.loads((out / "refine.json").read_text())
    assert state["final_round"] == 1 and len(state["rounds"]) == 3
    assert [r["severity"] for r in state["rounds"]] == [4.0, 1.5, 3.0]


def test_kept_round_rules():
    def record(number, severity, passed=False):
        return {"round": number, "severity": severity, "passed": passed}

    equal = [record(0, 2.0), record(1, 2.0)]
    assert kept_round(equal)["round"] == 1  # the later of equals
    assert kept_round([record(0, 3.0), record(1, None)])["round"] == 0
    assert kept_round([record(0, None), record(1, None)])["round"] == 1
    passed = [record(0, 3.0), record(1, 1.5), record(2, 2.0, passed=True)]
    assert kept_round(passed)["round"] == 2


def check_restarts(folder: Path, delta: float) -> None:
    """The restarts are reference NVE: the out-of-equipartition ones start at
    T (1 + delta) and T (1 - delta) (one element: the whole system), and every
    one conserves the total energy."""
    for name, factor in (("imbalanced-0", 1 + delta), ("imbalanced-1", 1 - delta)):
        first = ase.io.read(folder / "restarts" / f"{name}.extxyz", index=0)
        measured = temperature(first.get_momenta(), first.get_masses())
        assert measured == pytest.approx(TEMPERATURE * factor, rel=1e-6)
    for path in (folder / "restarts").iterdir():
        frames = ase.io.read(path, index=":")
        total = [f.get_potential_energy() + f.get_kinetic_energy() for f in frames]
        kinetic = np.mean([f.get_kinetic_energy() for f in frames])
        assert np.ptp(total) < 0.02 * kinetic, path.name


def test_stops_when_validation_passes(data, tmp_path):
    stand_ins = StandIns(data["model"], verdicts=[False, True])
    result = run_refine(data, tmp_path / "out", stand_ins, rounds=3)
    out = tmp_path / "out"
    assert result.outcome == "passed" and result.passed
    assert stand_ins.validated == ["round-00", "round-01"]
    assert not (out / "round-02").exists()
    assert (out / "final.pt").read_bytes() == (out / "round-01/model.pt").read_bytes()
    assert json.loads((out / "refine.json").read_text())["stopped"] == "passed"


def test_interrupted_refine_resumes_at_the_next_round(data, tmp_path):
    out = tmp_path / "out"
    first = StandIns(
        data["model"], interrupt_at=2
    )  # interrupted when round 2 starts training
    with pytest.raises(KeyboardInterrupt):
        run_refine(data, out, first, rounds=2)
    assert first.trained == ["round-00", "round-01"]
    assert not (out / "round-02" / "model.pt").exists()
    kept = {p: p.stat().st_mtime_ns for p in out.glob("round-0[01]/**/*")}
    visited = (out / "round-02" / "visited.extxyz").stat().st_mtime_ns

    second = StandIns(data["model"])
    result = run_refine(data, out, second, rounds=2)
    assert second.trained == ["round-02"] and second.validated == ["round-02"]
    assert {p: p.stat().st_mtime_ns for p in kept} == kept
    assert (out / "round-02" / "visited.extxyz").stat().st_mtime_ns == visited
    assert result.outcome == "budget spent" and len(result.rounds) == 3


def test_rounds_judged_by_older_rules_are_named_on_resume(data, tmp_path, capsys):
    """A round whose summary predates today's judging rules keeps its verdict,
    and the resumed refine says which round and how to judge it again."""
    out = tmp_path / "out"
    run_refine(data, out, StandIns(data["model"]), rounds=1)
    two_elements = {"Cu": {"mean": 600.0}, "Au": {"mean": 580.0}}

    def resumed_notes(settings: dict) -> list:
        """Round 0's summary as validate wrote it before the rules had a
        version (no ``rules``, no ``temperature_all``), then the notes of a
        resumed refine."""
        summary = out / "round-00" / "report" / "summary.json"
        older = json.loads(summary.read_text())
        older.pop("rules", None)
        older["settings"] = settings
        older["figures"] = {"reference": {"temperature": two_elements}}
        summary.write_text(json.dumps(older))
        capsys.readouterr()
        again = StandIns(data["model"])
        result = run_refine(data, out, again, rounds=1, progress=True)
        assert again.trained == [] and again.validated == []
        assert result.outcome == "budget spent"
        printed = capsys.readouterr().out
        return [line for line in printed.splitlines() if "rules of validate" in line]

    notes = resumed_notes({"ensemble": "nve"})
    assert len(notes) == 1 and notes[0].startswith("round 0/1: note")
    assert f"version 1 (now {JUDGING_RULES}" in notes[0]
    nvt = {"ensemble": "nvt", "reference_kind": "calculator"}
    assert len(resumed_notes(nvt)) == 1  # rules 3 made the NVT reference anew
    # against a reference trajectory, NVT is judged alike by every version
    assert resumed_notes({**nvt, "reference_kind": "trajectory"}) == []


def test_a_second_refine_in_the_same_directory_is_refused(data, tmp_path):
    """A running refine's lock (here: this process's) refuses another refine
    before it writes anything, and is left in place."""
    out = tmp_path / "out"
    out.mkdir()
    lock = out / "refine.lock"
    holder = {"pid": os.getpid(), "host": socket.gethostname(), "started": "then"}
    lock.write_text(json.dumps(holder))
    stand_ins = StandIns(data["model"])
    with pytest.raises(RefineInputError, match="another refine") as error:
        run_refine(data, out, stand_ins)
    assert str(error.value).startswith(str(out))
    assert f"process {os.getpid()} on {socket.gethostname()}" in str(error.value)
    assert stand_ins.trained == [] and not (out / "refine.json").exists()
    assert json.loads(lock.read_text()) == holder


def test_a_lock_left_by_a_stopped_refine_is_taken_over(data, tmp_path, capsys):
    """A lock whose process no longer runs is taken over (and said so); the lock
    is gone when the refine stops, also when it is interrupted."""
    out = tmp_path / "out"
    out.mkdir()
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    holder = {"pid": gone.pid, "host": socket.gethostname(), "started": "then"}
    (out / "refine.lock").write_text(json.dumps(holder))
    with pytest.raises(KeyboardInterrupt):
        run_refine(data, out, StandIns(data["model"], interrupt_at=1), progress=True)
    assert f"left by process {gone.pid}" in capsys.readouterr().out
    assert not (out / "refine.lock").exists()
    result = run_refine(data, out, StandIns(data["model"]))
    assert result.outcome == "budget spent"
    assert not (out / "refine.lock").exists()


def test_validation_time_chosen_for_a_new_refine_and_kept_on_resume(
    data, tmp_path, capsys
):
    """Without ``time_ps`` a new refine of Al (one element) validates for
    10 ps; one resumed without it keeps the time it was started with; the
    opening line says which."""
    fresh = tmp_path / "fresh"
    run_refine(
        data, fresh, StandIns(data["model"]), rounds=0, time_ps=None, progress=True
    )
    state = json.loads((fresh / "refine.json").read_text())
    assert state["settings"]["time_ps"] == 10.0
    opening = capsys.readouterr().out.splitlines()[0]
    assert opening == (
        f"refine in {fresh}: NVT validations of 10 ps (the default for this "
        f"ensemble and these elements) at {TEMPERATURE:g} K, up to 0 refinement "
        "round(s)"
    )
    resumed = tmp_path / "resumed"
    run_refine(data, resumed, StandIns(data["model"]), rounds=0)  # QUICK: 0.45 ps
    again = StandIns(data["model"])
    result = run_refine(data, resumed, again, rounds=1, time_ps=None, progress=True)
    assert again.trained == ["round-01"]  # resumed, not refused
    assert "0.45 ps (this refine's own" in capsys.readouterr().out
    state = json.loads((resumed / "refine.json").read_text())
    assert state["settings"]["time_ps"] == QUICK["time_ps"]
    assert len(result.rounds) == 2


def broken_calculator():
    """A calculator that fails on every system."""
    from ase.calculators.calculator import Calculator

    class Broken(Calculator):
        implemented_properties = ["energy", "forces"]

        def calculate(self, *args, **kwargs):
            raise RuntimeError("no parameters for this system")

    return Broken()


def test_bad_input_names_the_file_and_keeps_earlier_rounds(data, tmp_path):
    out = tmp_path / "out"
    copper = tmp_path / "copper.xyz"
    atoms = ase.io.read(data["start"])
    atoms[0].symbol = "Cu"
    ase.io.write(copper, atoms)
    with pytest.raises(
        RefineInputError, match="Cu are not in the training data"
    ) as error:
        refine(data["options"], copper, "emt", TEMPERATURE, directory=out, **QUICK)
    assert str(error.value).startswith(str(copper))
    with pytest.raises(RefineInputError, match="fewer than 45 strides of 10 fs"):
        run_refine(data, out, StandIns(data["model"]), time_ps=0.3)
    assert not out.exists()

    run_refine(data, out, StandIns(data["model"]), rounds=0)
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*")}
    with pytest.raises(ValidationInputError, match="cannot handle") as error:
        refine(
            data["options"],
            data["start"],
            "test_refine:broken_calculator",
            TEMPERATURE,
            directory=out,
            **QUICK,
        )
    assert "test_refine:broken_calculator" in str(error.value)
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*")} == before

    with pytest.raises(RefineInputError, match="other settings") as error:
        run_refine(data, out, StandIns(data["model"]), rounds=0, seed=5)
    assert str(error.value).startswith(str(out / "refine.json"))


def test_nve_refine_validates_with_energy_rescaling_only(data, tmp_path):
    """``ensemble="nve"``: the real validation runs FlashMD with energy rescaling
    against reference NVE, not the bare run; a resume in another ensemble is
    refused, and a ``refine.json`` from before the setting resumes as NVT."""
    out = tmp_path / "out"
    run_refine(data, out, StandIns(data["model"]), rounds=0, validator=None)
    state = json.loads((out / "refine.json").read_text())
    assert state["settings"]["ensemble"] == "nvt"
    del state["settings"]["ensemble"]
    (out / "refine.json").write_text(json.dumps(state))
    run_refine(data, out, StandIns(data["model"]), rounds=0, validator=None)
    with pytest.raises(RefineInputError, match="ensemble 'nvt' -> 'nve'"):
        run_refine(data, out, StandIns(data["model"]), rounds=0, ensemble="nve")

    nve = tmp_path / "nve"
    run_refine(
        data, nve, StandIns(data["model"]), rounds=0, ensemble="nve", validator=None
    )
    summary = json.loads((nve / "round-00" / "report" / "summary.json").read_text())
    assert summary["settings"]["ensemble"] == "nve"
    assert {check["run"] for check in summary["checks"]} == {"nve_rescaled"}
    assert any(check["quantity"] == "energy_drift" for check in summary["checks"])
    assert len(list((nve / "reference-cache").glob("*.npz"))) == 1
    with pytest.raises(RefineInputError, match="--ensemble"):
        run_refine(data, tmp_path / "npt", StandIns(data["model"]), ensemble="npt")
    assert not (tmp_path / "npt").exists()


@pytest.mark.slow
def test_command_line_trains_and_validates_for_real(
    data, tmp_path, capsys, monkeypatch
):
    """``mtt-flashmd refine`` with ``mtt train`` and the real validation: a
    one-epoch tiny model fails, one round is spent, and the round's fine-tune
    starts from round 0's checkpoint."""
    from metatrain_flashmd.cli import main

    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    out = tmp_path / "out"
    argv = ["refine", str(data["options"]), str(data["start"]), "--reference", "emt"]
    argv += ["--temperature", str(TEMPERATURE), "--rounds", "1", "-o", str(out)]
    argv += ["--time-ps", "0.6", "--equilibration-ps", "0.1"]
    argv += ["--reference-timestep", "2.5"]
    status = main(argv)
    printed = capsys.readouterr().out
    assert status == 1 and "refine: budget spent after round 1" in printed
    assert "round 1/1: fine-tuning" in printed and "validation FAIL" in printed
    summary = json.loads((out / "final-report" / "summary.json").read_text())
    assert summary["passed"] is False and summary["checks"]
    assert summary["settings"]["temperature_K"] == TEMPERATURE
    for number in ("00", "01"):
        assert "Epoch" in (out / f"round-{number}" / "train.log").read_text()
        assert (out / f"round-{number}" / "report" / "report.md").exists()
    assert len(list((out / "reference-cache").glob("*.npz"))) == 1  # run once
    options = yaml.safe_load((out / "round-01" / "options.yaml").read_text())
    read_from = options["architecture"]["training"]["finetune"]["read_from"]
    assert read_from == str((out / "round-00" / "model.ckpt").resolve())
    checkpoint = torch.load(out / "final.ckpt", weights_only=False)
    assert checkpoint["architecture_name"] == "experimental.flashmd"

    # starting from a checkpoint: round 0 exports it instead of training
    again = tmp_path / "again"
    argv[argv.index(str(out))] = str(again)
    argv[argv.index("--rounds") + 1] = "0"
    assert main([*argv, "--checkpoint", str(out / "final.ckpt")]) == 1
    assert not (again / "round-00" / "options.yaml").exists()
    exported = (again / "final-report" / "summary.json").read_text()
    assert json.loads(exported)["settings"]["model"].endswith("round-00/model.pt")


def test_out_of_equipartition_starts_two_elements():
    """Cu3Au: each start puts one element at T (1 + delta) and the other at
    T (1 - delta) about their own centres of mass, alternating; the total
    momentum stays zero."""
    from ase.md.velocitydistribution import Stationary, thermalize_momenta

    from metatrain_flashmd.ase.equipartition import element_internal_temperatures
    from metatrain_flashmd.refine.restarts import restart_starts

    atoms = ase.build.bulk("Cu", "fcc", a=3.75, cubic=True).repeat(2)
    atoms.numbers[::4] = 79
    thermalize_momenta(atoms, TEMPERATURE, rng=np.random.default_rng(0))
    Stationary(atoms)
    starts = restart_starts([atoms], TEMPERATURE, 0.5, visited=1, imbalanced=2)
    assert [label for label, _ in starts] == [
        "visited-0",
        "imbalanced-0",
        "imbalanced-1",
    ]
    assert starts[0][1] is atoms
    for (_, start), (copper, gold) in zip(starts[1:], [(900, 300), (300, 900)]):
        values = element_internal_temperatures(
            start.get_momenta(), start.get_masses(), start.numbers
        )
        assert values[29] == pytest.approx(copper) and values[79] == pytest.approx(gold)
        assert np.abs(start.get_momenta().sum(axis=0)).max() < 1e-10


def test_training_data_of_other_proportions_or_temperature_gets_a_note(data, caplog):
    from metatrain_flashmd.refine.checks import check_composition
    from metatrain_flashmd.refine.trouble import sample_frames

    frames = sample_frames([data["options"].parent / "pairs-train.xyz"], 8)
    start = ase.io.read(data["start"])
    with caplog.at_level("WARNING"):
        check_composition(start, "start.xyz", frames, "options.yaml", TEMPERATURE)
    assert not caplog.records
    mixed = start.copy()
    mixed.numbers[:16] = 29
    frames[0].numbers[:1] = 29
    with caplog.at_level("WARNING"):
        check_composition(mixed, "mixed.xyz", frames, "options.yaml", 3 * TEMPERATURE)
    notes = " ".join(record.getMessage() for record in caplog.records)
    assert "options.yaml: the training data (" in notes and "mixed.xyz" in notes
    assert "far from --temperature 1800 K" in notes


def test_choose_leaves_out_runaways_and_spreads_the_starts():
    """The most troubled states that have not run away, a tenth of a run apart
    within a run."""
    from metatrain_flashmd.refine.collect import Visited, choose, run_starts

    stats = {"contact": {"mean": 2.6, "std": 0.05}}
    kT = ase.units.kB * TEMPERATURE

    def state(replica, stride, score, imbalance=0.1, excess=0.0, contact=2.5):
        scores = dict(score=score, imbalance=imbalance, energy_excess=excess)
        return Visited(None, replica, stride, dict(scores, closest_contact=contact))

    visited = [state(0, stride, float(stride)) for stride in range(100)]
    visited += [
        state(1, 5, 500.0, imbalance=1.2),  # an element above 2 T
        state(1, 6, 400.0, excess=2.0 * kT),  # energy of a solid above 2 T
        state(1, 7, 300.0, contact=2.0),  # atoms too close
        state(1, 50, 90.5),
    ]
    chosen = choose(visited, 3, stats, TEMPERATURE)
    assert [(s.replica, s.stride) for s in chosen] == [(0, 99), (1, 50), (0, 90)]

    # every state after the starts ran away: no choice, and the fallback takes
    # the runs' starts, one per run
    runaway = [state(r, k, 50.0, imbalance=3.0) for r in range(3) for k in (1, 2)]
    starts = [state(r, 0, 1.0) for r in range(3)]
    assert choose(runaway + starts, 2, stats, TEMPERATURE) == []
    fallback = run_starts(runaway + starts, 2)
    assert [(s.replica, s.stride) for s in fallback] == [(0, 0), (1, 0)]


def test_rounds_skip_the_final_evaluation_unless_the_options_ask(tmp_path):
    from metatrain_flashmd.refine.training import round_options

    checkpoint = tmp_path / "model.ckpt"
    options = round_options({"seed": 0}, [], checkpoint, 2, 1e-4)
    assert options["final_eval"] is False
    training = options["architecture"]["training"]
    assert training["finetune"] == {"method": "full", "read_from": str(checkpoint)}
    assert (training["num_epochs"], training["learning_rate"]) == (2, 1e-4)
    kept = round_options({"final_eval": True}, [], checkpoint, 2, 1e-4)
    assert kept["final_eval"] is True
