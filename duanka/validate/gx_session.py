"""One Great Expectations set-up per thread, reused by every batch that thread validates.

A night is validated in several batches, one after the other on one thread. Building the GX
context, the SQL datasource (with its connection test), the assets and the expectation suites
again for each batch cost ~0.05 s CPU a batch for nothing that depends on the data. So a thread
keeps one `GxSession`: its datasource points at a private in-memory DuckDB database, and each
batch's files are registered on GX's own connection (the Arrow tables the reader made, read in
place: nothing is copied) for the length of one validation, with the file list and one view per
kind built over them. A session that fails half-way is thrown away, so the next batch starts clean.

Why a query asset, not a table asset: GX tests a table asset's table on a connection of its own,
where the registered tables of this one do not exist; GX's DuckDB queries all run on the one
persisted connection (`gx_duckdb`), where they do.
"""
from __future__ import annotations

import contextlib
import itertools
import threading
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

from duanka.validate.gx_duckdb import ephemeral_context, forget_metrics

_NUMBERS = itertools.count(1)
_LOCAL = threading.local()


class GxSession:
    """A GX context and a DuckDB datasource that outlive one batch; see the module docstring."""

    def __init__(self, gx: Any) -> None:
        self.gx = gx
        self.context = ephemeral_context(gx)
        # A private in-memory database per session (named: a plain `:memory:` would be shared by every
        # session of the process). The registered rows and the views over them live on GX's persisted
        # connection, where all of the session's queries run.
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

    def _driver_connection(self) -> Any:
        """The DuckDB connection GX runs every query of this session on (its persisted connection)."""
        with self.source.get_execution_engine().get_connection() as connection:
            return connection.connection.driver_connection

    @contextmanager
    def registered(self, tables: dict[str, Any], setup: list[str], teardown: list[str]) -> Iterator[None]:
        """`tables` (name -> Arrow table) registered on GX's connection, `setup` run after them and
        `teardown` before they are unregistered."""
        connection = self._driver_connection()
        try:
            for name, rows in tables.items():
                connection.register(name, rows)
            for sql in setup:
                self.execute(sql)
            forget_metrics(self.source.get_execution_engine())
            yield
        finally:
            try:
                for sql in teardown:
                    self.execute(sql)
            finally:
                for name in tables:
                    connection.unregister(name)

    def batch_definition(self, view: str) -> Any:
        """The view's GX asset and batch definition, made once (nothing is queried: the view need not exist)."""
        if view not in self._batch_definitions:
            asset = self.source.add_query_asset(name=view, query=f"SELECT * FROM {view}")
            self._batch_definitions[view] = asset.add_batch_definition_whole_table(f"{view}_all")
        return self._batch_definitions[view]

    def batch(self, view: str) -> Any:
        """A fresh GX batch of the whole view."""
        return self.batch_definition(view).get_batch()

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


@contextmanager
def thread_session(gx: Any) -> Iterator[GxSession]:
    """This thread's session for one piece of work; thrown away if the work fails, so the next starts clean."""
    session = gx_session(gx)
    try:
        yield session
    except BaseException:
        drop_gx_session()
        raise


def drop_gx_session() -> None:
    """Forget this thread's session (after a failure, or to free it); the next call builds a new one."""
    session = getattr(_LOCAL, "session", None)
    _LOCAL.session = None
    if session is not None:
        with contextlib.suppress(Exception):  # a broken session is dropped either way
            session.close()
