"""One writer per output: a live holder refuses a second writer; a dead one's lock is taken over."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from hoirecon.io.lock import FOLDER_LOCK_NAME, OutputLockedError, lock_path, output_lock, read_holder


def test_lock_files_sit_inside_folders_and_beside_files(tmp_path: Path) -> None:
    assert lock_path(tmp_path / "out", folder=True) == tmp_path / "out" / FOLDER_LOCK_NAME
    assert lock_path(tmp_path / "prior.pt", folder=False) == tmp_path / "prior.pt.lock"


def test_the_holder_is_recorded_and_the_lock_removed_after(tmp_path: Path) -> None:
    with output_lock(tmp_path / "out", folder=True, command="hoirecon fit") as path:
        holder = read_holder(path)
        assert holder.pid == os.getpid() and holder.host == socket.gethostname()
        assert holder.command == "hoirecon fit" and holder.started
    assert not path.exists()


def test_a_second_writer_is_refused_naming_the_holder(tmp_path: Path) -> None:
    target = tmp_path / "results.pkl"
    refused = pytest.raises(OutputLockedError, match=r"results.pkl is being written by pid \d+ on host .*"
                                                     r"hoirecon export-rhobin.*results.pkl.lock")
    with output_lock(target, folder=False, command="hoirecon export-rhobin"), refused, output_lock(target, folder=False):
        pass
    with output_lock(target, folder=False):  # free again
        pass


def test_a_lock_held_by_another_live_process_is_refused(tmp_path: Path) -> None:
    script = ("import sys, time; from hoirecon.io.lock import output_lock\n"
              "with output_lock(sys.argv[1], folder=True, command='holder'):\n"
              "    print('held', flush=True); time.sleep(60)\n")
    proc = subprocess.Popen([sys.executable, "-c", script, str(tmp_path / "out")], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "held"
        with pytest.raises(OutputLockedError, match=f"pid {proc.pid}"), output_lock(tmp_path / "out", folder=True):
            pass
    finally:
        proc.kill()
        proc.wait()
    with output_lock(tmp_path / "out", folder=True) as path:  # the kernel released the dead holder's lock
        assert read_holder(path).pid == os.getpid()


def test_a_stale_lock_of_a_dead_process_is_taken_over(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    pid = int(dead.stdout)
    path = lock_path(tmp_path / "out", folder=True)
    path.parent.mkdir()
    path.write_text(json.dumps({"pid": pid, "host": socket.gethostname(), "command": "hoirecon fit"}))
    with caplog.at_level("WARNING"), output_lock(tmp_path / "out", folder=True):
        assert read_holder(path).pid == os.getpid()
    assert f"stale lock of pid {pid}" in caplog.text and "no longer running" in caplog.text


def test_a_lock_recorded_by_another_host_is_not_taken_over(tmp_path: Path) -> None:
    path = lock_path(tmp_path / "g.npz", folder=False)
    path.write_text(json.dumps({"pid": 1, "host": "elsewhere.example", "command": "hoirecon group"}))
    refused = pytest.raises(OutputLockedError, match="host elsewhere.example.*delete the lock file")
    with refused, output_lock(tmp_path / "g.npz", folder=False):
        pass
    assert read_holder(path).host == "elsewhere.example"


def test_a_garbled_lock_file_without_a_holder_is_taken_over(tmp_path: Path) -> None:
    path = lock_path(tmp_path / "out", folder=True)
    path.parent.mkdir()
    path.write_text("{half")
    with output_lock(tmp_path / "out", folder=True):
        assert read_holder(path).pid == os.getpid()
