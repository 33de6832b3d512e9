"""`--task-runner dask` fans reading out over Dask worker processes and publishes the same night."""
from __future__ import annotations

import json
from pathlib import Path

from contract_check import check

from duanka.cli import main
from duanka.sample import generate

NIGHT = "2026-11-03"


def test_dask_local_cluster_gives_the_same_outputs_as_the_default_runner(tmp_path: Path, prefect_harness) -> None:
    generate(tmp_path / "d", seed=12, leads=500, nights=1)
    inbox = str(tmp_path / "d" / NIGHT)
    for runner in ("default", "dask"):
        assert main(["run", "--inbox", inbox, "--home", str(tmp_path / runner), "--as-of", NIGHT,
                     "--task-runner", runner]) == 0
        assert check(tmp_path / runner, NIGHT) == []
    index = {r: (tmp_path / r / "packets" / NIGHT / "index.json").read_text(encoding="utf-8")
             for r in ("default", "dask")}
    assert index["default"] == index["dask"]
    keys = ("files_loaded", "rows_read", "rows_loaded", "rows_quarantined", "rows_duplicate", "files")
    summaries = [json.loads((tmp_path / r / "runs" / NIGHT / "summary.json").read_text(encoding="utf-8"))
                 for r in ("default", "dask")]
    default, dask = ({k: s[k] for k in keys} for s in summaries)
    assert default == dask
    assert (tmp_path / "dask" / "runs" / NIGHT / "quarantine.csv").read_bytes() == \
        (tmp_path / "default" / "runs" / NIGHT / "quarantine.csv").read_bytes()
