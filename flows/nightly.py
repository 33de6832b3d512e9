"""Prefect flows: `nightly` (the whole chain) and `feedback` (apply what units report).

Thin on purpose: each task calls one plain function of `duanka.nightly.stages`,
where the logic lives and is tested without Prefect. Tasks share the DuckDB
connection of the flow (DuckDB allows one writing process), so they take no
cache keys: a night is made idempotent by the warehouse's own bookkeeping, not
by Prefect's result cache.
"""
from __future__ import annotations

import os
from datetime import date, datetime
from zoneinfo import ZoneInfo

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.task_runners import ThreadPoolTaskRunner
from prefect.utilities.annotations import quote

from duanka import warehouse
from duanka.home import RunLock
from duanka.nightly import ingest_lanes, ingest_stage, stages
from duanka.nightly.context import NightConfig, preflight
from duanka.nightly.retry import RETRY
from duanka.progress import Progress


def beijing_today() -> date:
    """The night's date where the units are, whatever the server's timezone (02:00 CST is 18:00 UTC)."""
    return datetime.now(ZoneInfo("Asia/Shanghai")).date()


@task(cache_policy=NO_CACHE, **RETRY, name="收件 discover")
def discover_task(cfg, con, progress):
    return stages.discover_inbox(cfg, con, progress)


@task(cache_policy=NO_CACHE, **RETRY, name="反馈 feedback")
def feedback_task(cfg, con, files, progress):
    return stages.apply_feedback(cfg, con, files, progress)


@task(cache_policy=NO_CACHE, **RETRY, name="读取 prepare")
def prepare_task(f, index, as_of):
    """One file, read and normalised; runs in a thread, or on a Dask worker in another process."""
    return ingest_stage.prepare_file(f, index, as_of)


@task(cache_policy=NO_CACHE, **RETRY, name="入库 validate+load")
def ingest_task(cfg, con, files, progress, pending):
    return stages.ingest_leads(cfg, con, files, progress, pending)


def ingest_fanned_out(cfg: NightConfig, con, files, progress: Progress) -> dict:
    """Read + normalise fanned out over the flow's task runner, one task per file; GX and the loads take
    each file as its task completes (`ingest_lanes`). The futures are quoted so that Prefect hands them
    to the ingest task as they are instead of waiting for all of them first."""
    pending = stages.submit_prepare(cfg, files, prepare_task.submit)
    return ingest_task(cfg, con, files, progress, quote(pending))


@task(cache_policy=NO_CACHE, **RETRY, name="关联 link")
def link_task(cfg, con, progress):
    return stages.link(cfg, con, progress)


@task(cache_policy=NO_CACHE, **RETRY, name="评分 score")
def score_task(cfg, con, progress):
    return stages.score(cfg, con, progress)


@task(cache_policy=NO_CACHE, **RETRY, name="下发 issue")
def issue_task(cfg, con):
    return stages.issue(cfg, con)


@task(cache_policy=NO_CACHE, **RETRY, name="发布 publish")
def publish_task(cfg, con, files, statuses, extra, progress):
    return stages.publish_night(cfg, con, files, statuses, extra, progress)


def run_night(cfg: NightConfig, progress: Progress) -> dict:
    """The chain of tasks for one night, under the home's run lock."""
    with RunLock(cfg.home):
        con = warehouse.connect(cfg.home.warehouse)
        try:
            files = discover_task(cfg, con, progress)
            feedback = feedback_task(cfg, con, files, progress)
            ingest_fanned_out(cfg, con, files, progress)
            linked = link_task(cfg, con, progress)
            scored = score_task(cfg, con, progress)
            statuses = issue_task(cfg, con)
            extra = {"feedback": feedback, "link": vars(linked) if hasattr(linked, "__dict__") else {},
                     "score": scored}
            report = publish_task(cfg, con, files, statuses, extra, progress)
        finally:
            con.close()
    return {"index": str(report.index_path.with_name("index.html")), "packets": report.packets_listed}


# Files are read and normalised a few at a time on this pool; the ingest's own threads (GX, one loader
# per kind) run beside it.
@flow(name="nightly", log_prints=True, task_runner=ThreadPoolTaskRunner(max_workers=ingest_lanes.PREPARE_THREADS))
def nightly(inbox: str, home: str, as_of: date | None = None, rules_dir: str | None = None) -> dict:
    """断卡 nightly run: ingest → validate → link → score → issue → publish."""
    cfg = preflight(inbox, home, as_of or beijing_today(), rules_dir)
    progress = Progress(log_file=cfg.home.runs_day(cfg.as_of.isoformat()) / "run.log")
    return run_night(cfg, progress)


def dask_runner(n_workers: int = 2):
    """Prefect's Dask task runner on a local cluster of worker processes.

    On one machine of 2 cores this is slower than the default thread pool (process start-up, data
    crossing processes); its value is the same code spreading files over many machines, by giving
    `address=` of a Dask scheduler instead of a local cluster.
    """
    from prefect_dask import DaskTaskRunner

    return DaskTaskRunner(cluster_kwargs={"n_workers": n_workers, "threads_per_worker": 1,
                                          "processes": True, "dashboard_address": None})


def nightly_with(task_runner: str = "default"):
    """The nightly flow with the chosen task runner: `default` (threads) or `dask`."""
    if task_runner == "dask":
        return nightly.with_options(task_runner=dask_runner())
    return nightly


@flow(name="feedback", log_prints=True)
def feedback(inbox: str, home: str, as_of: date | None = None, rules_dir: str | None = None) -> dict:
    """Apply the `feedback_*` files of an inbox to casework, without a full night."""
    cfg = preflight(inbox, home, as_of or beijing_today(), rules_dir)
    progress = Progress(log_file=cfg.home.runs_day(cfg.as_of.isoformat()) / "run.log")
    with RunLock(cfg.home):
        con = warehouse.connect(cfg.home.warehouse)
        try:
            files = discover_task(cfg, con, progress)
            return feedback_task(cfg, con, files, progress)
        finally:
            con.close()
