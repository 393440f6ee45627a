"""Progress bars appear on a terminal and nowhere else."""

from __future__ import annotations

import fcntl
import os
import pty
import struct
import termios
import subprocess
import sys
from pathlib import Path

from tests.test_cli import QUICK


def run_on_terminal(tmp_path: Path, *args: str) -> str:
    """Run `hookyard run quick.toml` with stderr on a real pseudo-terminal; return what it showed."""
    (tmp_path / "quick.toml").write_text(QUICK)
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    process = subprocess.Popen([sys.executable, "-m", "engine", *args, "run", "quick.toml"], cwd=tmp_path,
                               stdout=subprocess.DEVNULL, stderr=slave)
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    assert process.wait(timeout=120) == 0
    os.close(master)
    return b"".join(chunks).decode(errors="replace")


def test_a_terminal_gets_a_progress_bar(tmp_path: Path) -> None:
    shown = run_on_terminal(tmp_path)
    assert "quick:" in shown and "3rows" in shown.replace(" ", "")


def test_quiet_turns_the_bar_off_on_a_terminal(tmp_path: Path) -> None:
    assert "rows" not in run_on_terminal(tmp_path, "--quiet")


def test_no_bar_when_stderr_is_not_a_terminal(tmp_path: Path, hookyard_cli) -> None:
    (tmp_path / "quick.toml").write_text(QUICK)
    result = hookyard_cli("run", "quick.toml")
    assert result.returncode == 0
    assert "rows/s" not in result.stderr and "quick:" not in result.stderr
