"""The deprecation warnings of our dependencies stay out of our commands, of ``mtt``
with this architecture and of the example; other warnings do not."""

import gzip
import logging
import os
import re
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from metatrain_flashmd._warnings import (
    DependencyWarningFilter,
    ignore_dependency_warnings,
)


ROOT = Path(__file__).resolve().parents[1]
CHECKPOINT = ROOT / "tests" / "checkpoints" / "model-v1001_trainer-v1001.ckpt.gz"
JIT = "`torch.jit.script` is deprecated. Please switch to `torch.compile`."
RESOLVER = "register_new_resolver() is deprecated and will be removed."


def example_pythonwarnings() -> str:
    """The filter ``examples/quickstart/run.sh`` adds to ``PYTHONWARNINGS``."""
    script = (ROOT / "examples" / "quickstart" / "run.sh").read_text()
    match = re.search(r'export PYTHONWARNINGS="\$\{[^}]*\}([^"]+)"', script)
    return match.group(1)


def test_only_the_dependency_warnings_are_hidden():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ignore_dependency_warnings()
        warnings.warn_explicit(
            JIT, DeprecationWarning, "_script.py", 1, "torch.jit._script"
        )
        warnings.warn_explicit(
            RESOLVER, UserWarning, "omegaconf.py", 1, "metatrain.utils.omegaconf"
        )
        # the same text from elsewhere, and a warning about the data, are shown
        warnings.warn_explicit(JIT, DeprecationWarning, "mine.py", 1, "mine")
        warnings.warn_explicit(
            "momenta look wrong", UserWarning, "x.py", 1, "metatrain.x"
        )
    assert [str(w.message) for w in caught] == [JIT, "momenta look wrong"]


def test_captured_warnings_are_filtered_in_the_log():
    def record(message: str) -> logging.LogRecord:
        return logging.LogRecord(
            "py.warnings", logging.WARNING, "", 0, message, (), None
        )

    hidden = DependencyWarningFilter()
    assert not hidden.filter(
        record(f"/torch/jit/_script.py:1: DeprecationWarning: {JIT}")
    )
    assert not hidden.filter(
        record(f"/metatrain/omegaconf.py:127: UserWarning: {RESOLVER}")
    )
    assert hidden.filter(record("x.py:3: UserWarning: a stride of 300 fs is above"))
    ignore_dependency_warnings()
    ignore_dependency_warnings()
    filters = logging.getLogger("py.warnings").filters
    assert sum(isinstance(f, DependencyWarningFilter) for f in filters) == 1


@pytest.mark.slow
def test_mtt_export_and_the_example_show_none(tmp_path):
    checkpoint = tmp_path / "model.ckpt"
    with gzip.open(CHECKPOINT) as source, open(checkpoint, "wb") as target:
        shutil.copyfileobj(source, target)
    environment = {**os.environ, "PYTHONWARNINGS": example_pythonwarnings()}
    result = subprocess.run(
        [sys.executable, "-m", "metatrain", "export", str(checkpoint), "-o", "m.pt"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=environment,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    output = result.stdout + result.stderr
    assert "torch.jit" not in output and "register_new_resolver" not in output
    assert (tmp_path / "m.pt").is_file()


def test_mtt_flashmd_shows_none_even_when_asked_for_all(tmp_path, al_trajectory):
    from helpers import tiny_model

    from metatrain_flashmd.cli import main

    model = tmp_path / "flashmd.pt"
    tiny_model().export().save(str(model))
    arguments = ["md", str(model), str(al_trajectory), "--steps", "1"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # as python -W always
        assert main(arguments + ["-o", str(tmp_path / "md.xyz")]) == 0
    assert not [w for w in caught if "torch.jit" in str(w.message)]
