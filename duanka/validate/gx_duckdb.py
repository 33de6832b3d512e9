"""Make Great Expectations 1.x work on DuckDB through its SQL engine.

As shipped, every expectation against a `duckdb:///` datasource fails with
"list index out of range": GX reads results after the SQLAlchemy connection
is closed, and DuckDB's cursor does not survive that (upstream issues
great_expectations#11579 and #10738). GX already keeps one persisted
connection for dialects with the same trait (sqlite, mssql...); adding
`duckdb` to that tuple fixes not-null, in-set, between and the
unexpected-rows query. This is the only place duanka touches GX internals;
`tests/test_validate_gx.py` and `tests/test_validate_session.py` fail if an
upgrade changes what they rely on.

GX analytics are switched off before GX is imported: nothing may leave an
intranet machine.
"""
from __future__ import annotations

import os
import threading
from typing import Any, ClassVar


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


_ROWS_ONCE: Any = None
_ROWS_ONCE_LOCK = threading.Lock()


def unexpected_rows_once(gx: Any) -> Any:
    """`UnexpectedRowsExpectation` that runs its query once, not twice.

    GX's own class asks for two metrics, `unexpected_rows_query.table` and
    `unexpected_rows_query.row_count`, and each runs the whole query (the count wraps it
    in `SELECT COUNT(*) FROM (...)`): every custom check scanned its batch twice (measured
    ~0.1 s of 0.4 s SQL on a 390k-row bank batch). duanka's queries aggregate every failing row
    into one result row, so the rows GX fetches (it keeps up to 200) are all the rows there
    are: this subclass asks for the table metric only and counts what it returned. It is a
    custom Expectation in GX's documented sense (a subclass; GX registers it on creation)
    and still runs through GX's SQL execution engine. Built on first use, after GX is imported.
    """
    global _ROWS_ONCE
    with _ROWS_ONCE_LOCK:  # GX registers a class by name: make it once, whichever thread asks first
        if _ROWS_ONCE is None:
            _ROWS_ONCE = _rows_once_class(gx)
    return _ROWS_ONCE


def _rows_once_class(gx: Any) -> Any:
    base = gx.expectations.UnexpectedRowsExpectation

    class UnexpectedRowsOnceExpectation(base):  # type: ignore[misc, valid-type]
        """Fails when the query returns rows; observed_value is the number of rows returned."""

        metric_dependencies: ClassVar[tuple[str, ...]] = ("unexpected_rows_query.table",)

        def _validate(self, metrics: dict, runtime_configuration: dict | None = None,
                      execution_engine: Any = None) -> Any:
            rows = metrics["unexpected_rows_query.table"]
            return super()._validate({**metrics, "unexpected_rows_query.row_count": len(rows)},
                                     runtime_configuration, execution_engine)

    return UnexpectedRowsOnceExpectation


def forget_metrics(engine: Any) -> None:
    """Drop the metrics a reused execution engine kept from the previous batch.

    GX keys them by batch id, and a reused asset gives every night's batch the same id. GX
    reads this cache only for dependencies missing from a validation graph, so it is not read
    stale today; clearing it keeps that true across upgrades and frees the last batch's
    failing-row lists.
    """
    cache = getattr(engine, "_metric_cache", None)
    if cache is not None:
        cache.clear()
