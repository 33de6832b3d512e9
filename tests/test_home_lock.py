"""One run at a time per home; the lock dies with its process."""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from duanka.home import Home, HomeError, RunLock


def test_second_run_fails_at_once_with_a_clear_message(tmp_path: Path) -> None:
    home = Home(tmp_path)
    with RunLock(home):
        started = time.monotonic()
        with pytest.raises(HomeError, match="另一个 duanka 运行"), RunLock(home):
            pass
        assert time.monotonic() - started < 1


def test_lock_of_a_killed_process_is_released(tmp_path: Path) -> None:
    code = ("import sys, time; from pathlib import Path; from duanka.home import Home, RunLock\n"
            f"lock = RunLock(Home(Path({str(tmp_path)!r}))).__enter__(); print('locked', flush=True); time.sleep(60)")
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "locked"
    with pytest.raises(HomeError):
        RunLock(Home(tmp_path)).__enter__()
    child.kill()
    child.wait()
    with RunLock(Home(tmp_path)):
        pass


def test_unwritable_home_is_reported(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(HomeError, match="无法写入"):
        Home(blocker / "home").ensure()
