"""Detection by content: every fixture is claimed by its own format and no other sniffer."""

from __future__ import annotations

from pathlib import Path

import pytest

from sources.formats import detect, formats

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
NAMES = {f.name for f in formats()}
CASES = sorted(p for d in FIXTURES.iterdir() if d.name in NAMES for p in d.iterdir() if p.is_file())


def test_every_format_has_a_fixture_folder_named_after_it():
    missing = NAMES - {p.parent.name for p in CASES}
    assert not missing, f"add tests/fixtures/<format>/ in the exact vendor format for: {sorted(missing)}"


@pytest.mark.parametrize("path", CASES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_fixture_detected_as_its_own_format_only(path):
    data = path.read_bytes()
    assert detect(data, path.name).name == path.parent.name  # not by file name: a neutral name
    from sources.base import head_text
    claimed = [f.name for f in formats() if f.sniff(head_text(data))]
    assert claimed == [path.parent.name], f"{path.name} is claimed by {claimed}"


# Where each real file must land (conformance: the sniffers do not steal real files either).
REAL = {
    "cboe_chains": "cboe_quotedata", "cboe_index": "cboe_index_history", "cfe_vx": "cfe_vx_history",
    "breadth": "unicorn_breadth", "index_ohlc": None, "funding": None,
}
REAL_FILES = {
    "binance_rest_BTCUSDT_fundingTime_excerpt.csv": "binance_funding_rest_csv",
    "binance_vision_fundingRate_quoted_rows.csv": "binance_funding_archive",
    "hyperliquid_snapshot_excerpt.csv": "hyperliquid_funding_snapshots",
    "stooq_polish_header_spx_d.csv": "stooq_csv",
    "yahoo_GSPC_2001_excerpt.csv": "yahoo_csv",
}


@pytest.mark.realdata
def test_real_files_detected_by_content(realdata):
    from sources.base import head_text
    seen = 0
    for path in sorted(realdata.rglob("*.csv")):
        want = REAL.get(path.parent.name) or REAL_FILES.get(path.name)
        if want is None:  # a real file added since: not pinned here
            continue
        data = path.read_bytes()
        claimed = [f.name for f in formats() if f.sniff(head_text(data))]
        assert claimed == [want], f"{path.name}: {claimed}"
        seen += 1
    assert seen >= 19
