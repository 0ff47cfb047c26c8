"""Training pairs from trajectories: metatrain_flashmd.pairs.build_pairs."""

import weakref
from pathlib import Path
from typing import Dict, List

import ase
import ase.build
import ase.io
import ase.units
import numpy as np
import pytest
import yaml
from ase.calculators.emt import EMT
from ase.md.verlet import VelocityVerlet
from helpers import aluminium_trajectory, ase_md_trajectory, write_pairs

from metatrain_flashmd._names import (
    FUTURE_MOMENTA_KEY,
    FUTURE_POSITIONS_KEY,
    MOMENTUM_UNIT,
    POSITION_TARGET_UNIT,
    TIMESTEP_INFO_KEY,
)
from metatrain_flashmd.pairs import reading as trajectory_io
from metatrain_flashmd.pairs.build import (
    FRAME_INFO_KEY,
    FUTURE_FRAME_INFO_KEY,
    REVERSED_INFO_KEY,
    SOURCE_INFO_KEY,
    PairsSummary,
    build_pairs,
)
from metatrain_flashmd.pairs.reading import ReadOptions


AL_MASS = 26.9815385
"""ASE's mass of aluminium, u."""


def build(
    tmp_path: Path, sources: List[Path], **kwargs
) -> "tuple[PairsSummary, Dict[str, List[ase.Atoms]]]":
    """Run build_pairs into ``tmp_path/out`` and read back every set file."""
    out = tmp_path / "out"
    out.mkdir(parents=True, exist_ok=True)
    summary = build_pairs(sources, out / "pairs.xyz", **kwargs)
    sets = {name: ase.io.read(path, ":") for name, path in summary.files.items()}
    return summary, sets


def assert_same_pairs(ours: List[ase.Atoms], reference: List[ase.Atoms]) -> None:
    """Same structures, positions, momenta and targets (extxyz keeps 8 decimals)."""
    assert len(ours) == len(reference)
    for mine, theirs in zip(ours, reference):
        np.testing.assert_array_equal(mine.numbers, theirs.numbers)
        np.testing.assert_allclose(mine.cell.array, theirs.cell.array, atol=1e-8)
        np.testing.assert_array_equal(mine.pbc, theirs.pbc)
        for key in ("positions", "momenta", FUTURE_POSITIONS_KEY, FUTURE_MOMENTA_KEY):
            np.testing.assert_allclose(
                mine.arrays[key], theirs.arrays[key], rtol=0, atol=2e-8, err_msg=key
            )


@pytest.fixture(scope="module")
def al_frames(al_trajectory: Path) -> List[ase.Atoms]:
    return ase.io.read(al_trajectory, ":")


def copies(frames: List[ase.Atoms]) -> List[ase.Atoms]:
    return [atoms.copy() for atoms in frames]


# -- pairs match those built by hand ----------------------------------------------


def test_pairs_match_hand_made(tmp_path, al_trajectory, al_pairs, al_frames):
    summary, sets = build(
        tmp_path,
        [al_trajectory],
        lag=10,
        spacing=2,
        validation=0.0,
        test=0.0,
    )
    reference = ase.io.read(al_pairs, ":")
    assert list(sets) == ["train"]
    assert summary.files["train"].name == "pairs-train.xyz"
    assert_same_pairs(sets["train"], reference)
    for index, atoms in enumerate(sets["train"]):
        assert atoms.info[TIMESTEP_INFO_KEY] == 10.0
        assert atoms.info[FRAME_INFO_KEY] == 2 * index
        assert atoms.info[FUTURE_FRAME_INFO_KEY] == 2 * index + 10
        assert atoms.info[SOURCE_INFO_KEY] == str(al_trajectory)
        assert not atoms.info[REVERSED_INFO_KEY]
        np.testing.assert_allclose(atoms.arrays["masses"], AL_MASS)

    assert summary.frames_read == len(al_frames) == 120
    assert summary.pairs == {"train": len(reference), "val": 0, "test": 0}
    assert summary.frame_interval == 1.0 and summary.timestep == 10.0
    assert summary.masses == {13: pytest.approx(AL_MASS)}
    largest = max(
        np.linalg.norm(p.arrays[FUTURE_POSITIONS_KEY] - p.positions, axis=1).max()
        for p in reference
    )
    assert summary.largest_displacement == pytest.approx(largest, abs=1e-7)
    temperatures = [atoms.get_temperature() for atoms in al_frames]
    assert summary.temperature == pytest.approx(np.mean(temperatures), rel=1e-6)
    assert "10 fs" in summary.report() and "pairs-train.xyz" in summary.report()


@pytest.mark.parametrize("key, unit", [("time_fs", 1.0), ("time", ase.units.fs)])
def test_frame_interval_read_from_info(tmp_path, al_frames, key, unit):
    frames = copies(al_frames[:40])
    for atoms in frames:
        time_fs = atoms.info.pop("time_fs")
        atoms.info[key] = 0.5 * time_fs * unit  # frames 0.5 fs apart
    source = tmp_path / "half.extxyz"
    ase.io.write(source, frames)
    summary, sets = build(  # relabelled times: the momenta contradict them
        tmp_path,
        [source],
        lag=8,
        spacing=4,
        validation=0.0,
        test=0.0,
        check_interval=False,
    )
    assert summary.frame_interval == 0.5 and summary.timestep == 4.0
    assert all(atoms.info[TIMESTEP_INFO_KEY] == 4.0 for atoms in sets["train"])


def test_frame_interval_flag_without_recorded_time(tmp_path, al_frames, al_pairs):
    frames = copies(al_frames)
    for atoms in frames:
        del atoms.info["time_fs"]
    source = tmp_path / "untimed.extxyz"
    ase.io.write(source, frames)
    summary, sets = build(
        tmp_path,
        [source],
        lag=10,
        spacing=2,
        frame_interval=2.5,
        validation=0.0,
        test=0.0,
        check_interval=False,  # frames 1 fs apart: the momenta contradict 2.5 fs
    )
    assert summary.timestep == 25.0
    assert_same_pairs(sets["train"], ase.io.read(al_pairs, ":"))


# -- wrapped positions -------------------------------------------------------------


def unwrapped_md(num_frames: int) -> List[ase.Atoms]:
    """EMT MD of fcc Al, 1 fs apart, positions never wrapped (atoms start on the
    cell faces, so that they cross them)."""
    atoms = ase.build.bulk("Al", "fcc", a=4.05, cubic=True).repeat(2)
    rng = np.random.default_rng(7)
    atoms.positions += rng.normal(scale=0.05, size=atoms.positions.shape)
    masses = atoms.get_masses()[:, None]
    kT = 600.0 * ase.units.kB
    momenta = rng.normal(size=(len(atoms), 3)) * np.sqrt(masses * kT)
    atoms.set_momenta(momenta - momenta.mean(axis=0))
    atoms.calc = EMT()
    dynamics = VelocityVerlet(atoms, timestep=1.0 * ase.units.fs)
    frames = []
    for step in range(num_frames):
        frame = ase.Atoms(atoms.numbers, atoms.positions, cell=atoms.cell, pbc=True)
        frame.set_momenta(atoms.get_momenta())
        frame.info["time_fs"] = float(step)
        frames.append(frame)
        dynamics.run(1)
    return frames


def test_wrapped_trajectory_gives_the_unwrapped_targets(tmp_path):
    raw = unwrapped_md(40)
    wrapped, shuffled = copies(raw), copies(raw)
    rng = np.random.default_rng(3)
    for atoms in wrapped:
        atoms.wrap()
    for atoms in shuffled:
        atoms.positions += rng.integers(-2, 3, size=(len(atoms), 3)) @ atoms.cell
    lengths = raw[0].cell.lengths()
    jumps = [np.abs(b.positions - a.positions) for a, b in zip(wrapped, wrapped[8:])]
    assert (np.max(jumps, axis=0) > 0.5 * lengths).any()  # atoms do cross faces

    results = {}
    for name, frames in (("raw", raw), ("wrapped", wrapped), ("shuffled", shuffled)):
        source = tmp_path / f"{name}.extxyz"
        ase.io.write(source, frames)
        _, sets = build(
            tmp_path / name,
            [source],
            lag=8,
            spacing=3,
            validation=0.0,
            test=0.0,
        )
        results[name] = sets["train"]

    starts = range(0, 40 - 8, 3)
    for pairs in results.values():
        assert len(pairs) == len(starts)
        for start, pair in zip(starts, pairs):
            earlier, later = raw[start], raw[start + 8]
            displacement = pair.arrays[FUTURE_POSITIONS_KEY] - pair.positions
            np.testing.assert_allclose(
                displacement, later.positions - earlier.positions, atol=1e-7
            )
            np.testing.assert_allclose(
                pair.arrays[FUTURE_MOMENTA_KEY], later.get_momenta(), atol=1e-7
            )
            np.testing.assert_allclose(
                pair.get_momenta(), earlier.get_momenta(), atol=1e-7
            )
            lattice = np.linalg.solve(
                pair.cell.array.T, (pair.positions - earlier.positions).T
            )
            np.testing.assert_allclose(lattice, np.round(lattice), atol=1e-7)


# -- time reversal -------------------------------------------------------------------


def test_by_default_no_reversed_twins_are_written(tmp_path, al_trajectory):
    """Time reversal is the trainer's, on the fly: the files hold each pair once,
    forward in time, and say so."""
    summary, sets = build(
        tmp_path, [al_trajectory], lag=10, spacing=5, validation=0.2, test=0.0
    )
    assert not summary.reversed_twins
    starts = range(0, 96 - 10, 5)  # the training block is frames 0 to 95
    pairs = sets["train"]
    assert [p.info[FRAME_INFO_KEY] for p in pairs] == list(starts)
    assert summary.pairs["train"] == len(starts)
    for atoms in sets["train"] + sets["val"]:
        assert not atoms.info[REVERSED_INFO_KEY]
        assert atoms.info[FUTURE_FRAME_INFO_KEY] == atoms.info[FRAME_INFO_KEY] + 10
    assert "mtt train reverses the pairs at random on the fly" in summary.report()


def test_time_reversed_twins_are_exact(tmp_path, al_trajectory):
    summary, sets = build(
        tmp_path,
        [al_trajectory],
        lag=10,
        spacing=5,
        write_reversed_twins=True,
        validation=0.0,
        test=0.0,
    )
    assert summary.reversed_twins
    assert "time-reversed twins written" in summary.report()
    pairs = sets["train"]
    assert len(pairs) == 2 * len(range(0, 110, 5)) == summary.pairs["train"]
    for forward, twin in zip(pairs[::2], pairs[1::2]):
        assert not forward.info[REVERSED_INFO_KEY] and twin.info[REVERSED_INFO_KEY]
        assert twin.info[FRAME_INFO_KEY] == forward.info[FUTURE_FRAME_INFO_KEY]
        assert twin.info[FUTURE_FRAME_INFO_KEY] == forward.info[FRAME_INFO_KEY]
        assert twin.info[TIMESTEP_INFO_KEY] == forward.info[TIMESTEP_INFO_KEY]
        np.testing.assert_array_equal(twin.numbers, forward.numbers)
        np.testing.assert_array_equal(twin.cell.array, forward.cell.array)
        np.testing.assert_array_equal(twin.get_masses(), forward.get_masses())
        np.testing.assert_array_equal(
            twin.positions, forward.arrays[FUTURE_POSITIONS_KEY]
        )
        np.testing.assert_array_equal(
            twin.arrays[FUTURE_POSITIONS_KEY], forward.positions
        )
        np.testing.assert_array_equal(
            twin.get_momenta(), -forward.arrays[FUTURE_MOMENTA_KEY]
        )
        np.testing.assert_array_equal(
            twin.arrays[FUTURE_MOMENTA_KEY], -forward.get_momenta()
        )


# -- splits ----------------------------------------------------------------------------


def test_splits_are_contiguous_and_disjoint(tmp_path, al_trajectory, al_frames):
    second = tmp_path / "second.extxyz"
    aluminium_trajectory(second, num_frames=60, seed=1)
    lag, spacing = 5, 3
    summary, sets = build(
        tmp_path,
        [al_trajectory, second],
        lag=lag,
        spacing=spacing,
        write_reversed_twins=True,
        validation=0.2,
        test=0.1,
    )
    assert sorted(sets) == ["test", "train", "val"]
    assert [path.name for path in summary.files.values()] == [
        "pairs-train.xyz",
        "pairs-val.xyz",
        "pairs-test.xyz",
    ]
    hand_made = {
        str(source): write_pairs(source, tmp_path / f"hand-{i}.xyz", lag, 1)
        for i, source in enumerate((al_trajectory, second))
    }
    # frames of each set in each file: [train | validation | test], in time order
    blocks = {
        str(al_trajectory): {"train": (0, 84), "val": (84, 108), "test": (108, 120)},
        str(second): {"train": (0, 42), "val": (42, 54), "test": (54, 60)},
    }
    for name, pairs in sets.items():
        assert summary.pairs[name] == len(pairs)
        for forward, twin in zip(pairs[::2], pairs[1::2]):  # twins in the same set
            assert twin.info[FRAME_INFO_KEY] == forward.info[FUTURE_FRAME_INFO_KEY]
            assert twin.info[SOURCE_INFO_KEY] == forward.info[SOURCE_INFO_KEY]
        for source, bounds in blocks.items():
            start, stop = bounds[name]
            mine = [p for p in pairs if p.info[SOURCE_INFO_KEY] == source]
            frames = [
                p.info[key]
                for p in mine
                for key in (FRAME_INFO_KEY, FUTURE_FRAME_INFO_KEY)
            ]
            assert frames and all(start <= frame < stop for frame in frames)
            forward = [p for p in mine if not p.info[REVERSED_INFO_KEY]]
            expected_starts = list(range(start, stop - lag, spacing))
            assert [p.info[FRAME_INFO_KEY] for p in forward] == expected_starts
            assert_same_pairs(forward, [hand_made[source][s] for s in expected_starts])
    for source in blocks:  # no frame is shared between two sets
        used = {
            name: {
                p.info[key]
                for p in pairs
                if p.info[SOURCE_INFO_KEY] == source
                for key in (FRAME_INFO_KEY, FUTURE_FRAME_INFO_KEY)
            }
            for name, pairs in sets.items()
        }
        assert max(used["train"]) < min(used["val"])
        assert max(used["val"]) < min(used["test"])


def test_a_set_without_pairs_is_refused(tmp_path, al_trajectory):
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(ValueError, match="validation set would hold no pair"):
        build_pairs([al_trajectory], out / "pairs.xyz", lag=10, validation=0.05)
    assert list(out.iterdir()) == []


# -- bad input ------------------------------------------------------------------------


def remove_momenta(frames):
    for atoms in frames:
        del atoms.arrays["momenta"]


def remove_atom(frames):
    del frames[17][5]


def change_element(frames):
    frames[17][3].symbol = "Cu"


def reorder_atoms(frames):
    for atoms in frames:
        atoms[0].symbol = "Cu"
    order = [1, 0] + list(range(2, len(frames[17])))
    frames[17] = frames[17][order]


def nan_position(frames):
    frames[17].positions[4, 1] = np.nan


def inf_momentum(frames):
    momenta = frames[17].get_momenta()
    momenta[6, 0] = np.inf
    frames[17].set_momenta(momenta)


def skip_frame(frames):
    del frames[17]


def change_cell(frames):
    frames[17].set_cell(frames[17].cell.array * 1.05, scale_atoms=True)


def jump_half_cell(frames):
    frames[40].positions[2] += np.array([0.45, 0.45, 0.0]) * 8.1
    frames[40].wrap()


def remove_time(frames):
    for atoms in frames:
        del atoms.info["time_fs"]


def two_masses(frames):
    for atoms in frames:
        masses = atoms.get_masses()
        masses[0] = 2 * masses[0]
        atoms.set_masses(masses)


def unchanged(frames):
    pass


BAD_INPUTS = {
    "no momenta": (remove_momenta, {}, ["frame 0", "no momenta or velocities"]),
    "atom count": (remove_atom, {}, ["frame 17", "31 atoms"]),
    "types": (change_element, {}, ["frame 17", "atom 3", "element 29"]),
    "order": (reorder_atoms, {}, ["frame 17", "atom 0", "order"]),
    "nan": (nan_position, {}, ["frame 17, atom 4", "positions are not finite"]),
    "inf": (inf_momentum, {}, ["frame 17, atom 6", "momenta are not finite"]),
    "uneven time": (skip_frame, {}, ["frame 17", "not equally spaced"]),
    "variable cell": (change_cell, {}, ["frame 17 is strained by 0.05", "frame 8"]),
    "half cell": (jump_half_cell, {}, ["frame 40 (pair from frame 30), atom 2"]),
    "lag too long": (unchanged, {"lag": 150}, ["120 frames", "--lag 150"]),
    "interval mismatch": (
        unchanged,
        {"frame_interval": 2.0},
        ["frame 1", "1 fs apart", "--frame-interval gives 2 fs"],
    ),
    "no time": (remove_time, {}, ["frame 10", "--frame-interval"]),
    "two masses": (two_masses, {}, ["frame 0, atom 1", "for atom 0", "one mass per"]),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_is_refused_and_nothing_is_written(tmp_path, al_frames, case):
    modify, changes, expected = BAD_INPUTS[case]
    frames = copies(al_frames)
    modify(frames)
    source = tmp_path / "bad.extxyz"
    ase.io.write(source, frames)
    out = tmp_path / "out"
    out.mkdir()
    old = {"pairs-train.xyz": "old pairs\n", "options.yaml": "old: options\n"}
    for name, text in old.items():
        (out / name).write_text(text)

    arguments = {"lag": 10, "spacing": 2, "options": out / "options.yaml"}
    arguments.update(changes)
    with pytest.raises(ValueError) as error:
        build_pairs([source], out / "pairs.xyz", **arguments)
    message = str(error.value)
    assert message.startswith(f"{source}, frame ") or message.startswith(f"{source}: ")
    for text in expected:
        assert text in message
    assert {path.name: path.read_text() for path in out.iterdir()} == old


def test_velocities_array_gets_a_hint(tmp_path, al_frames):
    frames = copies(al_frames[:20])
    for atoms in frames:
        atoms.arrays["velocities"] = atoms.get_velocities()
        del atoms.arrays["momenta"]
    source = tmp_path / "velocities.extxyz"
    ase.io.write(source, frames)
    with pytest.raises(ValueError, match="'velocities' has no unit ASE knows"):
        build(tmp_path, [source], lag=5, validation=0.0, test=0.0)


def test_bad_arguments(tmp_path, al_trajectory):
    out = tmp_path / "pairs.xyz"
    with pytest.raises(ValueError, match="extended XYZ"):
        build_pairs([al_trajectory], tmp_path / "pairs.traj", lag=10)
    with pytest.raises(ValueError, match="given twice"):
        build_pairs([al_trajectory, al_trajectory], out, lag=10)
    with pytest.raises(ValueError, match="--lag must be a positive"):
        build_pairs([al_trajectory], out, lag=0)
    with pytest.raises(ValueError, match="needs a validation set"):
        build_pairs([al_trajectory], out, lag=10, validation=0.0, options="o.yaml")
    with pytest.raises(ValueError, match="no frames for training"):
        build_pairs([al_trajectory], out, lag=10, validation=0.5, test=0.5)
    with pytest.raises(FileNotFoundError, match="missing.xyz"):
        build_pairs([tmp_path / "missing.xyz"], out, lag=10)
    assert list(tmp_path.iterdir()) == []


# -- memory ----------------------------------------------------------------------------


def test_only_a_window_of_frames_is_kept(tmp_path, al_trajectory, monkeypatch):
    alive: weakref.WeakSet = weakref.WeakSet()
    most = [0]
    original = trajectory_io.frame_from_atoms

    def tracked(*args):
        frame = original(*args)
        alive.add(frame)
        most[0] = max(most[0], len(alive))
        return frame

    monkeypatch.setattr(trajectory_io, "frame_from_atoms", tracked)
    summary, _ = build(tmp_path, [al_trajectory], lag=10, spacing=1)
    assert summary.frames_read == 120
    # the window of lag + 1 frames, the file's first frame (for checks), the new one
    assert most[0] <= 10 + 3


# -- other formats -------------------------------------------------------------------


def test_traj_input_matches_extxyz(tmp_path, al_frames, al_pairs):
    source = tmp_path / "al.traj"
    ase.io.write(source, al_frames)
    summary, sets = build(
        tmp_path,
        [source],
        lag=10,
        spacing=2,
        validation=0.0,
        test=0.0,
    )
    assert summary.timestep == 10.0
    assert_same_pairs(sets["train"], ase.io.read(al_pairs, ":"))


def test_traj_from_ase_md_records_its_interval(tmp_path):
    source = tmp_path / "md.traj"
    ase_md_trajectory(source, 1.5, loginterval=2, steps=60)  # frames 3 fs apart
    assert "time_fs" not in ase.io.read(source, 0).info
    summary, sets = build(
        tmp_path,
        [source],
        lag=4,
        spacing=2,
        validation=0.0,
        test=0.0,
    )
    assert summary.frame_interval == 3.0 and summary.timestep == 12.0
    reference = write_pairs(source, tmp_path / "hand.xyz", lag=4, spacing=2)
    assert_same_pairs(sets["train"], reference)
    with pytest.raises(ValueError, match="header records frames 3 fs apart"):
        build(tmp_path, [source], lag=4, frame_interval=1.5, validation=0, test=0)


LAMMPS_VELOCITY_UNITS = {"metal": 1000.0 * ase.units.fs, "real": ase.units.fs}
"""ASE velocity (A per ASE time unit) to LAMMPS velocity: A/ps (metal), A/fs
(real)."""


def write_lammps_dump(
    path: Path,
    frames: List[ase.Atoms],
    units: str,
    steps: List[int],
    columns: str = "id type x y z vx vy vz",
) -> None:
    """A LAMMPS text dump of ``frames`` (orthorhombic cells), atoms in random
    order, velocities in the ``units`` style."""
    rng = np.random.default_rng(5)
    lines = []
    for step, atoms in zip(steps, frames):
        velocities = atoms.get_velocities() * LAMMPS_VELOCITY_UNITS[units]
        lines += [
            "ITEM: TIMESTEP",
            str(step),
            "ITEM: NUMBER OF ATOMS",
            str(len(atoms)),
            "ITEM: BOX BOUNDS pp pp pp",
        ]
        lines += [f"0.0 {length:.10f}" for length in atoms.cell.lengths()]
        lines.append(f"ITEM: ATOMS {columns}")
        for i in rng.permutation(len(atoms)):
            x, y, z = atoms.positions[i]
            vx, vy, vz = velocities[i]
            values = {"id": f"{i + 1}", "type": "1", "element": atoms[i].symbol}
            row = [values.get(name) for name in columns.split()[:-6]]
            row += [f"{v:.12f}" for v in (x, y, z, vx, vy, vz)]
            lines.append(" ".join(row))
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize("units", ["metal", "real"])
def test_lammps_dump_with_velocities(tmp_path, al_frames, units):
    frames = al_frames[:40]
    subset = tmp_path / "subset.extxyz"
    ase.io.write(subset, frames)
    reference = write_pairs(subset, tmp_path / "hand.xyz", lag=8, spacing=3)
    dump = tmp_path / "al.lammpstrj"
    write_lammps_dump(dump, frames, units, steps=[100 + 4 * k for k in range(40)])

    summary, sets = build(
        tmp_path,
        [dump],
        lag=8,
        spacing=3,
        frame_interval=1.0,
        validation=0.0,
        test=0.0,
        read_options=ReadOptions(species=["Al"], lammps_units=units),
    )
    assert summary.timestep == 8.0 and summary.masses == {13: pytest.approx(AL_MASS)}
    assert_same_pairs(sets["train"], reference)


def test_lammps_dump_problems(tmp_path, al_frames):
    frames = al_frames[:20]
    dump = tmp_path / "al.lammpstrj"
    write_lammps_dump(dump, frames, "metal", steps=list(range(0, 200, 10)))
    kwargs = {"lag": 4, "validation": 0.0, "test": 0.0}
    with pytest.raises(ValueError, match=r"frame 0: .*give .* --species"):
        build(tmp_path, [dump], frame_interval=1.0, **kwargs)
    species = ReadOptions(species=["Al"])
    with pytest.raises(ValueError, match="frame 4: LAMMPS dumps record step numbers"):
        build(tmp_path, [dump], read_options=species, **kwargs)

    uneven = tmp_path / "uneven.lammpstrj"
    write_lammps_dump(uneven, frames, "metal", steps=[0, 10, 20, 40] + [50] * 16)
    with pytest.raises(ValueError, match="frame 3: frames are not equally spaced"):
        build(tmp_path, [uneven], frame_interval=1.0, read_options=species, **kwargs)

    # an element column needs no --species
    elements = tmp_path / "elements.lammpstrj"
    columns = "id element x y z vx vy vz"
    write_lammps_dump(elements, frames, "metal", list(range(20)), columns=columns)
    summary, _ = build(tmp_path, [elements], frame_interval=1.0, **kwargs)
    assert summary.masses == {13: pytest.approx(AL_MASS)}


# -- options file ----------------------------------------------------------------------


def test_options_file(tmp_path, al_frames):
    frames = copies(al_frames[:60])
    for atoms in frames:
        atoms.set_masses(np.full(len(atoms), 27.5))
    source = tmp_path / "heavy.extxyz"
    ase.io.write(source, frames)
    (tmp_path / "data").mkdir()
    (tmp_path / "conf").mkdir()
    options = tmp_path / "conf" / "options.yaml"
    summary = build_pairs(
        [source],
        tmp_path / "data" / "pairs.xyz",
        lag=5,
        spacing=4,
        validation=0.2,
        test=0.0,
        options=options,
    )
    assert summary.options == options
    written = yaml.safe_load(options.read_text())
    assert written["architecture"] == {
        "name": "experimental.flashmd",
        "training": {"timestep": 5.0, "masses": {13: 27.5}},
    }
    assert "test_set" not in written
    for section, name in (("training_set", "train"), ("validation_set", "val")):
        dataset = written[section]
        assert dataset["systems"]["read_from"] == f"../data/pairs-{name}.xyz"
        assert (options.parent / dataset["systems"]["read_from"]).is_file()
        assert dataset["targets"]["position"]["key"] == FUTURE_POSITIONS_KEY
        assert dataset["targets"]["momentum"]["key"] == FUTURE_MOMENTA_KEY
        assert dataset["targets"]["position"]["unit"] == POSITION_TARGET_UNIT
        assert dataset["targets"]["momentum"]["unit"] == MOMENTUM_UNIT
    assert "reverses each training pair at random on" in options.read_text()
    pairs = ase.io.read(tmp_path / "data" / "pairs-train.xyz", ":")
    np.testing.assert_allclose(pairs[0].arrays["masses"], 27.5)


def test_options_with_twins_switch_the_trainers_reversal_off(tmp_path, al_trajectory):
    options = tmp_path / "options.yaml"
    summary = build_pairs(
        [al_trajectory],
        tmp_path / "pairs.xyz",
        lag=10,
        write_reversed_twins=True,
        options=options,
    )
    written = yaml.safe_load(options.read_text())
    assert written["architecture"]["training"]["time_reversal"] is False
    assert "the options switch mtt train's own reversal off" in summary.report()
