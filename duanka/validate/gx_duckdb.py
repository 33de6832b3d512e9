"""Make Great Expectations 1.x work on DuckDB through its SQL engine.

As shipped, every expectation against a `duckdb:///` datasource fails with
"list index out of range": GX reads results after the SQLAlchemy connection
is closed, and DuckDB's cursor does not survive that (upstream issues
great_expectations#11579 and #10738). GX already keeps one persisted
connection for dialects with the same trait (sqlite, mssql...); adding
`duckdb` to that tuple fixes not-null, in-set, between and the
unexpected-rows query. This is the only place duanka touches GX internals;
`tests/test_validate_gx.py` fails if an upgrade changes what it relies on.

GX analytics are switched off before GX is imported: nothing may leave an
intranet machine.
"""
from __future__ import annotations

import os
from typing import Any


class _DialectName(str):
    """A str that also has `.value`, as GX's dialect enum members do."""

    @property
    def value(self) -> str:
        return str(self)


_PATCHED = False


def import_gx() -> Any:
    """Import great_expectations with analytics off and the DuckDB patch applied; return the module."""
    global _PATCHED
    os.environ["GX_ANALYTICS_ENABLED"] = "false"
    import great_expectations as gx
    from great_expectations.execution_engine import sqlalchemy_execution_engine as engine_module

    if not _PATCHED:
        dialects = engine_module._PERSISTED_CONNECTION_DIALECTS
        if "duckdb" not in [str(getattr(d, "value", d)) for d in dialects]:
            engine_module._PERSISTED_CONNECTION_DIALECTS = (*dialects, _DialectName("duckdb"))
        _PATCHED = True
    return gx


def ephemeral_context(gx: Any) -> Any:
    """A GX context that keeps nothing on disk and draws no progress bars into the run log."""
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    return context
