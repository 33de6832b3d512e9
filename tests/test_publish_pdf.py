"""PDF copies of packet pages: printed by headless Chromium with a CJK font embedded and the Chinese
headings extractable; optional per run; a missing browser never fails a night."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from test_publish_outputs import NIGHT1, QUARANTINE, SUMMARY, build

from duanka.publish import pdf as pdf_module
from duanka.publish import publish
from duanka.publish.settings import PdfSettings, PublishSettings

CJK_FONT = re.compile(r"WenQuanYi|Noto\w*CJK|SourceHan|Droid\w*Fallback|YaHei|SimSun|SimHei|PingFang|Uming|Ukai",
                      re.IGNORECASE)
HEADINGS = ["断卡线索包", "概要", "研判依据", "人员", "银行账户", "电话卡", "关联案件", "询问提纲与处罚依据", "处置状态记录",
            "关系网络图", "时间线"]


def _publish(home: Path, settings: PublishSettings):  # type: ignore[no-untyped-def]
    return publish(build().con, home, NIGHT1, statuses={}, summary=SUMMARY, quarantine=QUARANTINE,
                   settings=settings)


@pytest.fixture(scope="module")
def printed(tmp_path_factory) -> tuple[Path, object]:
    home = tmp_path_factory.mktemp("home")
    report = _publish(home, PublishSettings(pdf=PdfSettings(enabled=True, tiers=("red",))))
    return home, report


def test_only_the_chosen_tiers_are_printed_and_the_index_links_them(printed) -> None:
    home, report = printed
    pdfs = sorted((home / "packets" / "pages").glob("*.pdf"))
    assert report.pdf_problem is None and report.pdfs_printed == 1
    assert [p.name.split("-")[0] + "-" + p.name.split("-")[1] for p in pdfs] == ["PK-A"]
    assert pdfs[0].read_bytes().startswith(b"%PDF")
    index = (home / "packets" / NIGHT1.isoformat() / "index.html").read_text(encoding="utf-8")
    assert f'href="../../packets/pages/{pdfs[0].name}">PDF<' in index


def test_pdf_embeds_a_cjk_font(printed) -> None:
    home, _ = printed
    pdf = next((home / "packets" / "pages").glob("*.pdf"))
    fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True).stdout
    embedded = [line for line in fonts.splitlines()[2:] if CJK_FONT.search(line)]
    assert embedded, f"no CJK font in:\n{fonts}"
    assert all(line.split()[-5] == "yes" for line in embedded), "the CJK font is embedded"


def test_pdf_text_holds_the_chinese_headings(printed) -> None:
    home, _ = printed
    pdf = next((home / "packets" / "pages").glob("*.pdf"))
    text = subprocess.run(["pdftotext", "-enc", "UTF-8", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    for heading in HEADINGS:
        assert heading in text, f"PDF text lacks {heading}"
    assert "PK-A" in text and "一人多卡" in text


def test_pdf_is_optional_per_run(tmp_path: Path) -> None:
    report = _publish(tmp_path, PublishSettings(pdf=PdfSettings(enabled=False)))
    assert report.pdfs_printed == 0 and not list((tmp_path / "packets" / "pages").glob("*.pdf"))


def test_missing_browser_publishes_the_night_without_pdfs(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(pdf_module, "find_browser", lambda: None)
    report = _publish(tmp_path, PublishSettings(pdf=PdfSettings(enabled=True)))
    assert report.packets_listed == 4 and report.pdfs_printed == 0
    assert report.pdf_problem and "chromium" in report.pdf_problem
    index = (tmp_path / "packets" / NIGHT1.isoformat() / "index.html").read_text(encoding="utf-8")
    assert ">PDF<" not in index, "no link to a PDF that does not exist"
