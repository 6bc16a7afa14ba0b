"""The Data Docs index lists its validation pages in plain HTML (readable with no network)."""

from __future__ import annotations

from expectations.docs_offline import ANCHOR, MARK, write_offline_index

PAGE = f"<html><body><h1>Data Docs</h1>\n{ANCHOR}\n  data-toggle=\"table\"\n></table></body></html>"


def test_index_gets_a_plain_list_of_pages_once(tmp_path):
    (tmp_path / "index.html").write_text(PAGE)
    for suite, night in (("raw_index_bars", "night-2026-11-20"), ("core_vol_daily", "night-2026-11-23")):
        page = tmp_path / "validations" / suite / night / "20261123T000000Z" / f"x-{suite}.html"
        page.parent.mkdir(parents=True)
        page.write_text("<html></html>")
    assert write_offline_index(tmp_path) and write_offline_index(tmp_path)  # rerun: replaced, not doubled
    text = (tmp_path / "index.html").read_text()
    assert text.count(f'<div id="{MARK}">') == 1
    assert text.index("night-2026-11-23") < text.index("night-2026-11-20")  # latest night first
    assert ('<a href="validations/core_vol_daily/night-2026-11-23/20261123T000000Z/'
            'x-core_vol_daily.html">core_vol_daily</a>') in text
    assert "http" not in text.split(f'<div id="{MARK}">')[1].split("</div>")[0]  # nothing to fetch


def test_a_page_without_the_table_is_left_alone(tmp_path):
    (tmp_path / "index.html").write_text("<html></html>")
    assert not write_offline_index(tmp_path)
    assert (tmp_path / "index.html").read_text() == "<html></html>"
