"""``mtt-flashmd md`` on what newcomers give it: a checkpoint, a file of unknown
format, ``--timestep``, a temperature NVE cannot use, a pair file, a long stride."""

import gzip
import logging
import shutil
from pathlib import Path

import ase.io
import pytest
from helpers import tiny_model

from metatrain_flashmd._names import PAIR_ARRAY_KEYS, PAIR_INFO_KEYS
from metatrain_flashmd.ase import VelocityVerlet, run_md
from metatrain_flashmd.cli import main
from metatrain_flashmd.pairs.build import build_pairs


CHECKPOINT = Path(__file__).parent / "checkpoints" / "model-v1001_trainer-v1001.ckpt.gz"


@pytest.fixture(scope="module")
def model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random FlashMD model for Al (10 fs strides), exported."""
    path = tmp_path_factory.mktemp("models") / "flashmd.pt"
    tiny_model(predict_momenta_as_difference=True).export().save(str(path))
    return path


def md_command(model, structure, tmp_path: Path, *arguments: str) -> list:
    output = str(tmp_path / "md.extxyz")
    return ["md", str(model), str(structure), "--steps", "1", "-o", output, *arguments]


@pytest.mark.parametrize("name", ["model.ckpt", "model-without-suffix"])
def test_a_checkpoint_gets_the_export_command(tmp_path, al_trajectory, capsys, name):
    checkpoint = tmp_path / name
    with gzip.open(CHECKPOINT) as source, open(checkpoint, "wb") as target:
        shutil.copyfileobj(source, target)
    assert main(md_command(checkpoint, al_trajectory, tmp_path)) == 1
    message = capsys.readouterr().err
    assert "is a training checkpoint (written by mtt train), not an exported" in message
    exported = checkpoint.with_suffix(".pt").name
    assert f"`mtt export {checkpoint} -o {exported}`, and give {exported}" in message
    assert "metatomic model" not in message

    energy = ["--energy-model", str(checkpoint)]
    assert main(md_command(checkpoint, al_trajectory, tmp_path, *energy)) == 1
    assert "is a training checkpoint" in capsys.readouterr().err


def test_a_structure_format_ase_cannot_tell(
    model_path, al_trajectory, tmp_path, capsys
):
    unknown = tmp_path / "start.structure"
    shutil.copy(al_trajectory, unknown)
    assert main(md_command(model_path, unknown, tmp_path)) == 1
    error = capsys.readouterr().err
    assert error.startswith(f"mtt-flashmd md: error: {unknown}: ASE cannot tell")
    assert "give --format" in error and "Traceback" not in error
    assert main(md_command(model_path, unknown, tmp_path, "--format", "vasp")) == 1
    assert "ASE cannot read it as 'vasp' (" in capsys.readouterr().err
    assert main(md_command(model_path, unknown, tmp_path, "--format", "xyzz")) == 1
    assert "'xyzz' is not a format ASE knows" in capsys.readouterr().err
    misread = tmp_path / "start.data"  # ASE takes .data for RuNNer data
    shutil.copy(al_trajectory, misread)
    assert main(md_command(model_path, misread, tmp_path)) == 1
    error = capsys.readouterr().err
    assert "ASE cannot read it as 'runnerdata' (StopIteration), the format it" in error
    assert main(md_command(model_path, unknown, tmp_path, "--format", "extxyz")) == 0


def test_timestep_is_a_check_of_the_model_stride(
    model_path, al_trajectory, tmp_path, capsys
):
    assert main(md_command(model_path, al_trajectory, tmp_path, "--timestep", "2")) == 1
    error = capsys.readouterr().err
    assert "the model fixes the stride" in error
    assert "predicts strides of 10 fs" in error
    assert (
        main(md_command(model_path, al_trajectory, tmp_path, "--timestep", "10")) == 0
    )


def test_an_unused_temperature_is_said(model_path, al_trajectory, tmp_path, caplog):
    output = tmp_path / "md.xyz"
    with caplog.at_level(logging.WARNING):
        run_md(model_path, al_trajectory, 0, output, temperature_K=1000.0)
    (line,) = [r.getMessage() for r in caplog.records if "not used" in r.getMessage()]
    assert line.startswith("note: the temperature 1000 K is not used: the structure")
    caplog.clear()
    with caplog.at_level(logging.WARNING):  # a thermostat uses it
        run_md(
            model_path,
            al_trajectory,
            0,
            output,
            temperature_K=1000.0,
            thermostat="bussi",
        )
    assert "not used" not in caplog.text


def test_md_from_a_pair_file_drops_the_pair_data(model_path, al_trajectory, tmp_path):
    build_pairs([al_trajectory], tmp_path / "pairs.xyz", lag=10, validation=0, test=0)
    start = tmp_path / "pairs-train.xyz"
    first = ase.io.read(start, 0)
    assert set(PAIR_ARRAY_KEYS) <= set(first.arrays)
    assert set(PAIR_INFO_KEYS) - {"flashmd_time_reversed"} <= set(first.info)
    output = tmp_path / "md.extxyz"
    run_md(model_path, start, 2, output)
    frames = ase.io.read(output, ":")
    for frame in frames:
        assert not set(PAIR_ARRAY_KEYS) & set(frame.arrays)
        assert not set(PAIR_INFO_KEYS) & set(frame.info)
        assert frame.has("momenta")
    assert [frame.info["step"] for frame in frames] == [0, 1, 2]


def test_a_model_of_a_long_stride_is_warned_about(tmp_path, al_trajectory, caplog):
    model = tiny_model(timestep=250.0).export()
    atoms = ase.io.read(al_trajectory, -1)
    with caplog.at_level(logging.WARNING):
        VelocityVerlet(atoms, model)
    assert "a stride of 250 fs is above the 200 fs" in caplog.text
