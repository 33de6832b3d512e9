"""The stages of a night as plain functions; `flows/nightly.py` wraps each in a Prefect task.

Each function takes the checked configuration, the warehouse connection and
the progress reporter, does one stage, and returns what the next stage or the
summary needs. None of them knows about Prefect, so each is tested directly.
"""
from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict
from datetime import date

import duckdb

from duanka import casework
from duanka.ingest.load import record_file
from duanka.link import LinkReport, link_all
from duanka.nightly.context import NightConfig
from duanka.nightly.feedback_stage import apply_feedback_files
from duanka.nightly.inbox import PROCESS, SKIP, InboxFile, discover
from duanka.nightly.ingest_lanes import PREPARE_THREADS, pipeline_order, validate_and_load_pending
from duanka.nightly.ingest_stage import LEAD_KINDS, prepare_file
from duanka.nightly.summary import night_quarantine, night_summary
from duanka.progress import Progress
from duanka.publish import PublishReport, publish
from duanka.score.engine import score_packets
from duanka.validate.report import write_validation_report


def files_to_prepare(files: list[InboxFile]) -> list[InboxFile]:
    return [f for f in files if f.action == PROCESS and f.kind in LEAD_KINDS]


def discover_inbox(cfg: NightConfig, con: duckdb.DuckDBPyConnection, progress: Progress) -> list[InboxFile]:
    """List the inbox and record files whose bytes were loaded before as skipped."""
    progress.begin("收件", str(cfg.inbox))
    files = discover(cfg.inbox, con, cfg.as_of)
    for f in files:
        if f.action == SKIP:
            record_file(con, sha256=f.sha256, file_name=f.name, kind=f.kind, status="skipped",
                        reason="与已处理文件内容相同 (same bytes as a file already processed)", as_of=cfg.as_of)
    counts = {a: sum(1 for f in files if f.action == a) for a in ("process", "skip", "done", "unrecognised")}
    progress.end(f"新文件 {counts['process']}，重复文件 {counts['skip']}，已处理 {counts['done']}，"
                 f"无法识别 {counts['unrecognised']}")
    return files


# Starts `prepare_file(f, index, as_of)` somewhere and returns its future.
Submit = Callable[[InboxFile, int, date], Future]


def submit_prepare(cfg: NightConfig, files: list[InboxFile], submit: Submit) -> list[tuple[InboxFile, Future]]:
    """Hand every new lead file's read + normalise to `submit` (a thread pool's, or the flow's Prefect
    task), in the order the ingest takes them (`pipeline_order`)."""
    order = pipeline_order(files_to_prepare(files))
    return [(f, submit(f, i, cfg.as_of)) for i, f in enumerate(order, start=1)]


def ingest_leads(cfg: NightConfig, con: duckdb.DuckDBPyConnection, files: list[InboxFile],
                 progress: Progress, pending: list[tuple[InboxFile, Future]] | None = None) -> dict:
    """Read and normalise, validate with GX and load, overlapped (`ingest_lanes`).

    `pending` are the files' prepare futures when the flow already fanned them out as Prefect tasks;
    without it the files are read on a thread pool of this process."""
    if pending is None:
        with ThreadPoolExecutor(max_workers=PREPARE_THREADS, thread_name_prefix="duanka-read") as pool:
            def submit(f: InboxFile, index: int, as_of: date) -> Future:
                return pool.submit(prepare_file, f, index, as_of, cfg.contract)

            return ingest_leads(cfg, con, files, progress, submit_prepare(cfg, files, submit))
    results = validate_and_load_pending(con, pending, cfg.suites, cfg.as_of, progress, cfg.contract)
    progress.end(f"{len(results)} 个文件")
    return {"files": len(results)}


def apply_feedback(cfg: NightConfig, con: duckdb.DuckDBPyConnection, files: list[InboxFile],
                   progress: Progress) -> dict:
    todo = [f for f in files if f.action == PROCESS and f.kind == "feedback"]
    progress.begin("反馈", f"{len(todo)} 个文件")
    store = casework.connect(cfg.home.casework)
    try:
        result = apply_feedback_files(con, store, todo, cfg.contract, cfg.as_of)
    finally:
        store.close()
    progress.end(f"已应用 {result['applied']}，隔离 {result['quarantined']}")
    return result


def link(cfg: NightConfig, con: duckdb.DuckDBPyConnection, progress: Progress) -> LinkReport:
    progress.begin("关联成组")
    report = link_all(con, cfg.as_of, cfg.settings.linking)
    progress.end(f"节点 {report.nodes}，边 {report.edges}，枢纽 {report.hubs}，组 {report.groups}，"
                 f"新包 {report.packets_new}，变化 {report.packets_changed}，合并 {report.packets_merged}")
    return report


def score(cfg: NightConfig, con: duckdb.DuckDBPyConnection, progress: Progress) -> dict:
    progress.begin("评分", f"规则集 {cfg.rule_set.hash}")
    report = score_packets(con, cfg.rule_set, cfg.settings.scoring, cfg.units, cfg.as_of)
    progress.end()
    return {k: v for k, v in asdict(report).items() if isinstance(v, (int, float, str))}


def issue(cfg: NightConfig, con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Record newly issued packets in casework, reopen closed ones that changed; return the statuses of
    the packets past `issued` (publish reads a packet missing from them as issued).

    Nothing per active packet is held in Python: a list, a set and a dict of every packet id took this
    stage to 1.9 GB RSS at 2M leads (1.5M packets; 0.6 GB streamed). Casework's known ids go to DuckDB in
    chunks, the new packets are found there and stream back into casework; only statuses past `issued`
    come back."""
    store = casework.connect(cfg.home.casework)
    try:
        con.execute("CREATE OR REPLACE TEMP TABLE issue_known (packet_id VARCHAR)")
        for chunk in casework.known_packets(store):
            con.execute("INSERT INTO issue_known SELECT unnest($ids)", {"ids": chunk})
        # Only packets casework has no event of yet are issued (record_issued leaves the others as they
        # are): asking casework about each of a province's packets every night cost 37 s at 1M leads.
        new = con.execute(
            """SELECT r.packet_id, coalesce(s.unit_code, 'UNASSIGNED') FROM packet_registry r
               LEFT JOIN packet_scores s USING (packet_id)
               WHERE r.state = 'active' AND r.packet_id NOT IN (SELECT packet_id FROM issue_known)
               ORDER BY r.packet_id""")
        casework.record_issued(store, _fetched(new), cfg.as_of)
        statuses = casework.statuses(store, past_issued=True)
        closed = sorted(pid for pid, status in statuses.items() if status == "closed")
        changed = [pid for (pid,) in con.execute(
            """SELECT DISTINCT c.packet_id FROM packet_changes c JOIN packet_registry r USING (packet_id)
               WHERE c.as_of = ? AND r.state = 'active' AND c.packet_id IN (SELECT unnest(?::VARCHAR[]))
               ORDER BY 1""", [cfg.as_of, closed]).fetchall()]
        for packet_id in changed:
            casework.reopen(store, packet_id, cfg.as_of, "已办结的团伙出现新线索，重新下发")
        return casework.statuses(store, past_issued=True) if changed else statuses
    finally:
        store.close()
        try:
            con.execute("DROP TABLE IF EXISTS issue_known")
        except duckdb.Error:
            pass  # after a failure mid-fetch the connection is busy: the error that stopped us is the one to see


def _fetched(result: duckdb.DuckDBPyConnection, size: int = 100_000):
    """The rows of a DuckDB result, `size` at a time: a first night issues every packet of the history."""
    while rows := result.fetchmany(size):
        yield from rows


def publish_night(cfg: NightConfig, con: duckdb.DuckDBPyConnection, files: list[InboxFile],
                  statuses: dict[str, str], extra: dict, progress: Progress) -> PublishReport:
    progress.begin("发布")
    summary = night_summary(con, cfg.as_of, files)
    summary.update(extra)
    summary["rule_set_hash"] = cfg.rule_set.hash
    summary["validation_report"] = f"runs/{cfg.as_of.isoformat()}/validation.html"
    write_validation_report(cfg.home.runs_day(cfg.as_of.isoformat()) / "validation.html", con, cfg.as_of)
    report = publish(con, cfg.home.root, cfg.as_of, statuses=statuses, summary=summary,
                     quarantine=night_quarantine(con, cfg.as_of), rules_dir=cfg.rules_dir,
                     casework_db=cfg.home.casework, settings=cfg.publish)
    progress.end(f"线索包 {report.packets_listed}，新渲染 {report.pages_rendered}，沿用 {report.pages_kept}")
    return report
