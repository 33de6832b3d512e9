"""prefect.yaml declares deployments whose entrypoints import and whose parameters validate."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
DEPLOYMENTS = yaml.safe_load((ROOT / "prefect.yaml").read_text(encoding="utf-8"))["deployments"]


def _load_flow(entrypoint: str):
    path, name = entrypoint.split(":")
    spec = importlib.util.spec_from_file_location(f"entry_{name}", ROOT / path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, name)


@pytest.mark.parametrize("deployment", DEPLOYMENTS, ids=[d["name"] for d in DEPLOYMENTS])
def test_entrypoint_imports_and_parameters_validate(deployment: dict) -> None:
    flow = _load_flow(deployment["entrypoint"])
    assert flow.name == deployment["name"]
    validated = flow.validate_parameters(deployment.get("parameters") or {})
    assert set(deployment["parameters"]) <= set(validated)


def test_nightly_runs_at_two_in_beijing_and_feedback_has_no_schedule() -> None:
    by_name = {d["name"]: d for d in DEPLOYMENTS}
    assert by_name["nightly"]["schedules"] == [{"cron": "0 2 * * *", "timezone": "Asia/Shanghai"}]
    assert not by_name["feedback"].get("schedules")


def test_a_wrong_parameter_is_refused() -> None:
    from prefect.exceptions import ParameterTypeError

    flow = _load_flow(DEPLOYMENTS[0]["entrypoint"])
    with pytest.raises(ParameterTypeError):
        flow.validate_parameters({"inbox": "/x", "home": "/y", "as_of": "not a date"})
