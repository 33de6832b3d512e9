"""A full disk while publishing: a clear message, nothing half-published, and a clean rerun."""
from __future__ import annotations

import errno
import os
from pathlib import Path

from contract_check import check

from duanka.cli import main
from duanka.sample import generate


def test_disk_full_while_publishing(tmp_path: Path, monkeypatch, capsys, prefect_harness) -> None:
    generate(tmp_path / "d", seed=4, leads=400, nights=2)
    home = tmp_path / "home"
    first, second = "2026-11-03", "2026-11-04"
    assert main(["run", "--inbox", str(tmp_path / "d" / first), "--home", str(home), "--as-of", first]) == 0
    before = (home / "packets" / first / "index.json").read_bytes()

    real_replace = os.replace

    def full_disk(src, dst, *args, **kwargs):
        if str(home / "packets") in str(dst) or str(home / "runs" / second) in str(dst):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_replace(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", full_disk)
    code = main(["run", "--inbox", str(tmp_path / "d" / second), "--home", str(home), "--as-of", second])
    monkeypatch.setattr(os, "replace", real_replace)
    err = capsys.readouterr().err
    assert code == 1 and "磁盘空间不足" in err and "Traceback" not in err
    assert not (home / "packets" / second).exists()
    assert (home / "packets" / first / "index.json").read_bytes() == before
    assert check(home, first) == []

    assert main(["run", "--inbox", str(tmp_path / "d" / second), "--home", str(home), "--as-of", second]) == 0
    assert check(home, second) == []
    leftovers = [p for p in (home / "packets").rglob("*") if p.name.startswith(".") or p.suffix == ".tmp"]
    assert leftovers == []
