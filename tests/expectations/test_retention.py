"""GE result files and Data Docs pages are kept for the latest N nights only."""

from expectations.audit import prune_nights


def test_prune_keeps_the_latest_nights_of_every_suite(tmp_path):
    for suite in ("raw_breadth", "core_gamma_daily"):
        for night in ("2026-03-02", "2026-03-03", "2026-03-04", "2026-02-27"):
            d = tmp_path / suite / f"night-{night}" / "20260302T000000.000000Z"
            d.mkdir(parents=True)
            (d / "result.json").write_text("{}")
    (tmp_path / ".ge_store_backend_id").write_text("x")
    gone = prune_nights(tmp_path, keep=2)
    assert sorted({p.name for p in gone}) == ["night-2026-02-27", "night-2026-03-02"]
    for suite in ("raw_breadth", "core_gamma_daily"):
        assert sorted(p.name for p in (tmp_path / suite).iterdir()) == ["night-2026-03-03",
                                                                      "night-2026-03-04"]
    assert (tmp_path / ".ge_store_backend_id").exists()
    assert prune_nights(tmp_path, keep=2) == []
