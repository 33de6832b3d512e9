"""Only transient I/O failures are retried."""
from __future__ import annotations

import errno
from types import SimpleNamespace

import pytest

from duanka.nightly.retry import is_transient, transient_io

CASES = [
    ("an interrupted read on a network share", OSError(errno.EIO, "I/O error"), True),
    ("a busy file", OSError(errno.EBUSY, "busy"), True),
    ("a timeout", TimeoutError(errno.ETIMEDOUT, "timed out"), True),
    ("a full disk fails at once", OSError(errno.ENOSPC, "No space left"), False),
    ("a missing file is not transient", FileNotFoundError(errno.ENOENT, "gone"), False),
    ("a permission problem is not transient", PermissionError(errno.EACCES, "denied"), False),
    ("a bug is not retried", KeyError("x"), False),
    ("no exception at all", None, False),
]


@pytest.mark.parametrize("description, exc, expected", CASES, ids=[c[0] for c in CASES])
def test_retry_condition(description, exc, expected) -> None:
    assert is_transient(exc) is expected
    assert transient_io(None, None, SimpleNamespace(data=exc)) is expected


def test_a_transient_read_error_is_retried_and_the_night_completes(tmp_path, monkeypatch, prefect_harness) -> None:
    from contract_check import check

    from duanka.cli import main
    from duanka.nightly import stages
    from duanka.sample import generate

    generate(tmp_path / "d", seed=8, leads=300, nights=1)
    calls = []
    real = stages.discover

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise OSError(errno.EIO, "Input/output error (network share)")
        return real(*args, **kwargs)

    monkeypatch.setattr(stages, "discover", flaky)
    home = tmp_path / "home"
    assert main(["run", "--inbox", str(tmp_path / "d" / "2026-11-03"), "--home", str(home),
                 "--as-of", "2026-11-03"]) == 0
    assert len(calls) == 2
    assert check(home, "2026-11-03") == []
