"""Console logging without tracebacks.

A person watching a run sees what failed in one line; the traceback, which
helps only the engineer, is kept in the run log and in Prefect's API log.
"""
from __future__ import annotations

import copy
import logging
from pathlib import Path

from prefect.logging.formatters import PrefectFormatter

LOGGING_CONFIG = Path(__file__).with_name("logging.yml")


class ConsoleFormatter(PrefectFormatter):
    """Prefect's console format, with exception and stack text left out."""

    def format(self, record: logging.LogRecord) -> str:
        if record.exc_info or record.exc_text or record.stack_info:
            record = copy.copy(record)
            if record.exc_info and record.exc_info[1] is not None:
                exc = record.exc_info[1]
                record.msg = f"{record.getMessage()} ({type(exc).__name__}: {str(exc)[:200]})"
                record.args = None
            record.exc_info = None
            record.exc_text = None
            record.stack_info = None
        return super().format(record)
