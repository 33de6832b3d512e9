"""One Great Expectations set-up per thread, reused by every batch that thread validates.

A night is validated in several batches, one after the other on one thread. Building the GX
context, the SQL datasource (with its connection test), the table assets and the expectation
suites again for each batch cost ~0.05 s CPU a batch for nothing that depends on the data. So a
thread keeps one `GxSession`: its datasource points at a private in-memory DuckDB database, and
each batch's staging file is ATTACHed to it read-only for the length of one validation, with the
file list and one view per kind built there (nothing is written into the staging file). DETACH at
the end releases the file before `validate_staged` returns: the loader opens it next, in this
same process. A session that fails half-way is thrown away, so the next batch starts clean.
"""
from __future__ import annotations

import contextlib
import itertools
import threading
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

from duanka.validate.gx_duckdb import ephemeral_context, forget_metrics

STAGING = "staging"  # the alias an attached staging file has inside the session's database
_NUMBERS = itertools.count(1)
_LOCAL = threading.local()


def attach_sql(staging_db: Path) -> str:
    path = str(staging_db).replace("'", "''")
    return f"ATTACH '{path}' AS {STAGING} (READ_ONLY)"


class GxSession:
    """A GX context and a DuckDB datasource that outlive one batch; see the module docstring."""

    def __init__(self, gx: Any) -> None:
        self.gx = gx
        self.context = ephemeral_context(gx)
        # A named in-memory database is shared by every connection of this process that names it:
        # GX's persisted query connection and the datasource's connection test see the same views.
        name = f"duanka_gx_{next(_NUMBERS)}"
        # One DuckDB thread: GX runs beside the loads (and, in the flow, beside read + normalise), so
        # both cores are busy already; a second thread cost ~0.3 s CPU at 1M leads and shortened nothing.
        config = {"threads": 1, "autoinstall_known_extensions": False, "autoload_known_extensions": False}
        self.source = self.context.data_sources.add_sql(
            name="staging", connection_string=f"duckdb:///:memory:{name}",
            kwargs={"connect_args": {"config": config}})
        self._batch_definitions: dict[str, Any] = {}
        self._suites: dict[tuple[Hashable, date], Any] = {}

    def execute(self, sql: str) -> None:
        """Run one statement on GX's own connection and commit it (which also ends GX's read transaction)."""
        import sqlalchemy as sa

        self.source.get_execution_engine().execute_query_in_transaction(sa.text(sql))

    @contextmanager
    def attached(self, staging_db: Path, setup: list[str], teardown: list[str]) -> Iterator[None]:
        """The staging file attached read-only, with `setup` run after attaching and `teardown` before DETACH."""
        self.execute(attach_sql(staging_db))
        try:
            for sql in setup:
                self.execute(sql)
            forget_metrics(self.source.get_execution_engine())
            yield
        finally:
            try:
                for sql in teardown:
                    self.execute(sql)
            finally:
                self.execute(f"DETACH {STAGING}")

    def batch(self, view: str) -> Any:
        """A fresh GX batch of the whole view; the asset and its batch definition are made once."""
        if view not in self._batch_definitions:
            asset = self.source.add_table_asset(name=view, table_name=view)
            self._batch_definitions[view] = asset.add_batch_definition_whole_table(f"{view}_all")
        return self._batch_definitions[view].get_batch()

    def suite(self, suite: Hashable, as_of: date, build: Callable[[], Any]) -> Any:
        """What `build` makes of a suite for the night, built once (a new night's date builds it again)."""
        try:
            hash(suite)
        except TypeError:  # a value in the suite that cannot be a key: build it every time
            return build()
        if any(night != as_of for _, night in self._suites):
            self._suites.clear()
        if (suite, as_of) not in self._suites:
            self._suites[(suite, as_of)] = build()
        return self._suites[(suite, as_of)]

    def close(self) -> None:
        """Close GX's persisted connection and both SQLAlchemy engines (the in-memory database goes with them)."""
        engine = self.source.get_execution_engine()
        engine.close()
        engine.engine.dispose()
        self.source.get_engine().dispose()


def gx_session(gx: Any) -> GxSession:
    """This thread's session, made on first use."""
    session = getattr(_LOCAL, "session", None)
    if session is None:
        session = _LOCAL.session = GxSession(gx)
    return session


def drop_gx_session() -> None:
    """Forget this thread's session (after a failure, or to free it); the next call builds a new one."""
    session = getattr(_LOCAL, "session", None)
    _LOCAL.session = None
    if session is not None:
        with contextlib.suppress(Exception):  # a broken session is dropped either way
            session.close()
