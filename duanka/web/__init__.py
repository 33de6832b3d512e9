"""The investigator and admin web app (issue 7): `create_app(home)`; commands in duanka.web.cli.

`create_app` is imported on first use, so that `duanka --help` and the other
commands do not pay for importing FastAPI.
"""
from __future__ import annotations

from typing import Any

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from duanka.web.app import create_app

        return create_app
    raise AttributeError(name)
