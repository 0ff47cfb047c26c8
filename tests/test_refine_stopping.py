"""A refine that is stopped leaves nothing running behind it: its ``mtt`` child
dies with it, a child left by a killed refine is not run twice, and ``SIGTERM``
unwinds the command like Ctrl-C (lock released, exit status 143)."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

import metatrain_flashmd.refine
from metatrain_flashmd.cli import main
from metatrain_flashmd.refine import RefineError
from metatrain_flashmd.refine.lock import CHILD_NAME, refuse_running_child
from metatrain_flashmd.refine.training import run_mtt


class TimerError(Exception):
    """Raised by the test's timer to interrupt a wait."""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _fake_python(tmp_path: Path) -> Path:
    """An executable standing in for Python: writes its PID, then sleeps."""
    script = tmp_path / "fake-python"
    script.write_text(f"#!/bin/sh\necho $$ > {tmp_path / 'child.pid'}\nexec sleep 60\n")
    script.chmod(0o755)
    return script


def test_an_interrupted_mtt_child_is_killed_and_its_record_removed(
    tmp_path, monkeypatch
):
    """While ``mtt`` runs its PID is in ``mtt.pid``; when the wait is
    interrupted the child is killed (not left to run on) and the record goes."""
    monkeypatch.setattr(sys, "executable", str(_fake_python(tmp_path)))
    folder = tmp_path / "round-01"
    folder.mkdir()
    seen = {}

    def interrupt(signum, frame):
        seen["record"] = json.loads((folder / CHILD_NAME).read_text())
        raise TimerError()

    previous = signal.signal(signal.SIGALRM, interrupt)
    try:
        signal.setitimer(signal.ITIMER_REAL, 1.0)
        with pytest.raises(TimerError):
            run_mtt(["train", "options.yaml"], folder, folder / "train.log")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    child = int((tmp_path / "child.pid").read_text())
    assert seen["record"]["pid"] == child
    assert seen["record"]["host"] == socket.gethostname()
    assert not _alive(child)
    assert not (folder / CHILD_NAME).exists()
    assert "$ mtt train options.yaml" in (folder / "train.log").read_text()


def test_a_running_child_of_a_killed_refine_is_not_run_twice(tmp_path):
    """A recorded child that still runs refuses a new ``mtt`` in its folder,
    naming the process; a recorded child that is gone is cleared silently."""
    running = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        record = {"pid": running.pid, "host": socket.gethostname(), "started": "then"}
        (tmp_path / CHILD_NAME).write_text(json.dumps(record))
        with pytest.raises(RefineError, match=f"kill {running.pid}") as error:
            refuse_running_child(tmp_path)
        assert str(error.value).startswith(str(tmp_path))
        assert (tmp_path / CHILD_NAME).exists()
    finally:
        running.kill()
        running.wait()
    refuse_running_child(tmp_path)
    assert not (tmp_path / CHILD_NAME).exists()


def test_sigterm_unwinds_the_refine_command(tmp_path, monkeypatch, capsys):
    """``SIGTERM`` during a refine unwinds it (its cleanup runs, as Ctrl-C's
    would), and the command says how to resume and exits with 143."""
    unwound = []

    def refine_until_killed(*args, **kwargs):
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(30)
        finally:
            unwound.append(True)

    monkeypatch.setattr(metatrain_flashmd.refine, "refine", refine_until_killed)
    handler = signal.getsignal(signal.SIGTERM)  # pytest-xdist has its own
    out = tmp_path / "refine-dir"
    arguments = ["refine", "options.yaml", "start.xyz", "--reference", "emt"]
    status = main([*arguments, "--temperature", "300", "-o", str(out)])
    assert status == 143 and unwound == [True]
    message = capsys.readouterr().err
    assert "stopped by SIGTERM" in message and str(out) in message
    assert signal.getsignal(signal.SIGTERM) is handler
