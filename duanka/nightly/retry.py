"""Which task failures are worth a retry: transient I/O, nothing else.

A network share that hiccups, a file briefly locked by the platform's upload:
trying again in a few seconds succeeds. A full disk, a bug or bad data fails
the same way every time, so it is not retried and the run says why at once.
Every stage is idempotent (per-file transactions, one transaction for
linking and scoring, atomic publish), so a retried task cannot count twice.
"""
from __future__ import annotations

import errno
from typing import Any

PERMANENT_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.ENOENT,
                    errno.ENOTDIR, errno.EISDIR}


def is_transient(exc: BaseException | None) -> bool:
    return isinstance(exc, OSError) and exc.errno not in PERMANENT_ERRNOS


def transient_io(task: Any, task_run: Any, state: Any) -> bool:
    """Prefect `retry_condition_fn`: retry only a transient OSError."""
    exc = state.data if isinstance(getattr(state, "data", None), BaseException) else None
    return is_transient(exc)


RETRY = {"retries": 2, "retry_delay_seconds": [5, 30], "retry_condition_fn": transient_io}
