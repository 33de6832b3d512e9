"""The night's validation report as one offline HTML page (our Data Docs).

GX's own Data Docs pull bootstrap, jQuery and vega from CDNs and a logo from
S3: offline they render unstyled and leak requests. This page shows the same
facts — each file, each expectation, how many rows failed and what happens to
them — with inline CSS only.
"""
from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import duckdb
from jinja2 import Environment, select_autoescape

_TEMPLATE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>数据校验报告 {{ as_of }}</title>
<style>
body{font-family:"Noto Sans CJK SC","Microsoft YaHei",sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:0 0 1.5em 0;width:100%}
th,td{border:1px solid #ccc;padding:4px 8px;text-align:left;font-size:14px}
th{background:#f0f0f0}.fail{color:#b00020;font-weight:bold}.ok{color:#1b5e20}
.refused{background:#fdecea;padding:6px 10px;border-left:4px solid #b00020}
</style></head><body>
<h1>数据校验报告 · {{ as_of }}</h1>
<p>校验由 Great Expectations 在 DuckDB 暂存表上执行。严重级别「行」：不合格行进入隔离区；「文件」：整个文件拒收。</p>
{% for f in files %}
<h2>{{ f.name }} <small>({{ f.kind }}，{{ f.rows }} 行)</small></h2>
{% if f.refused %}<p class="refused">拒收：{{ f.refused }}</p>{% endif %}
{% if f.checks %}<table><tr><th>检查</th><th>级别</th><th>说明</th><th>结果</th><th>不合格行数</th></tr>
{% for c in f.checks %}<tr><td>{{ c.id }}</td><td>{{ "文件" if c.severity == "file" else "行" }}</td>
<td>{{ c.reason }}{% if c.error %}<br><span class="fail">执行失败：{{ c.error }}</span>{% endif %}</td>
<td class="{{ 'ok' if c.success else 'fail' }}">{{ "通过" if c.success else "未通过" }}</td>
<td>{{ c.unexpected }}</td></tr>{% endfor %}</table>{% endif %}
{% else %}<p>本批次没有需要校验的新文件。</p>{% endfor %}
</body></html>
"""


def write_validation_report(path: Path, con: duckdb.DuckDBPyConnection, as_of: date) -> None:
    """Render the night's report from `validation_results` (written with each file's load); atomic."""
    env = Environment(autoescape=select_autoescape(default=True, default_for_string=True))
    files: dict[str, dict] = {}
    for name, kind, rows, reason in con.execute(
            """SELECT file, kind, rows_read, reason FROM ingest_files
               WHERE as_of = ? AND status IN ('loaded', 'rejected') AND kind <> 'feedback' ORDER BY file""",
            [as_of]).fetchall():
        files[name] = {"name": name, "kind": kind, "rows": rows, "refused": reason, "checks": []}
    for name, check_id, success, severity, reason, unexpected, error in con.execute(
            """SELECT file, check_id, success, severity, reason, unexpected, error FROM validation_results
               WHERE as_of = ? AND check_id <> 'READ'
               ORDER BY file, check_id, success DESC, unexpected, error NULLS FIRST""", [as_of]).fetchall():
        # A spec over several columns gives one row per column, alike but for their results: ordered by
        # those, the page is the same whatever order GX returned them in (it differs between runs).
        if name in files:
            files[name]["checks"].append({"id": check_id, "success": success, "severity": severity,
                                          "reason": reason, "unexpected": unexpected, "error": error})
    html = env.from_string(_TEMPLATE).render(as_of=as_of.isoformat(), files=list(files.values()))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(html, encoding="utf-8")
    os.replace(tmp, path)
