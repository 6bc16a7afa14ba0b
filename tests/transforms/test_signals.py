"""core.signals_daily and core.signal_evidence: worked examples of each component, the weights and
their renormalisation when inputs are missing, the convergence flag, the regime state machine and
the evidence, plus the DDL contract."""

from __future__ import annotations

import math
from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest

from transforms.evidence import EVIDENCE_SCHEMA, forward_outcomes, signal_evidence
from transforms.signals import SCHEMA, SignalParams, regime_path, signals_daily
from warehouse.db import Warehouse

D0 = date(2024, 3, 1)


def days(n: int) -> list[date]:
    return [D0 + timedelta(days=i) for i in range(n)]


def gamma_frame(gex: list[float], spot: float = 5000.0, zero_gamma: float | None = 4900.0,
                hist: list[float] | None = None) -> pl.DataFrame:
    n = len(gex)
    return pl.DataFrame({
        "date": days(n), "underlying": "SPX", "preset": "default", "spot": [spot] * n,
        "net_gex_usd_per_pct": gex, "zero_gamma": [zero_gamma] * n,
        "gex_macd_hist_usd": hist if hist is not None else [None] * n,
    }, schema_overrides={"zero_gamma": pl.Float64, "gex_macd_hist_usd": pl.Float64})


def vol_frame(n: int, close: list[float] | None = None, ratio: float = 0.85, roll: float = 0.06,
              vix: float = 15.0) -> pl.DataFrame:
    return pl.DataFrame({
        "date": days(n), "spx_close": close or [5000.0] * n, "vix": [vix] * n,
        "vix_vix3m_ratio": [ratio] * n, "vix_vix3m_inverted": [ratio > 1] * n,
        "vx1_roll_yield": [roll] * n,
    })


def funding_frame(z: list[float | None], pctile: list[float | None]) -> pl.DataFrame:
    n = len(z)
    return pl.DataFrame({
        "venue": "composite", "symbol": "ALL", "date": days(n), "funding_apr": [0.1] * n,
        "funding_apr_z": z, "funding_apr_pctile": pctile,
        "funding_spike": [None if v is None else v > 2 for v in z],
    }, schema_overrides={"funding_apr_z": pl.Float64, "funding_apr_pctile": pl.Float64})


# -- dealer gamma ------------------------------------------------------------------------------
def test_gex_z_uses_the_window_strictly_before_the_row():
    # window 5, min 3: row 5 sees rows 0..4 = 1,2,3,4,5 (mean 3, sd 1.5811) -> z(-5) = -5.06
    gex = [1e9, 2e9, 3e9, 4e9, 5e9, -5e9]
    p = SignalParams(gex_window=5, gex_min_periods=3)
    s = signals_daily(gamma_frame(gex), params=p)
    assert s["gex_z"][:3].to_list() == [None, None, None]
    assert s["gex_z"][5] == pytest.approx((-5e9 - 3e9) / (math.sqrt(2.5) * 1e9))
    # z <= -2 -> z part 1; negative; spot 5000 above the flip 4900 -> 0; MACD missing -> dropped
    # gamma = (0.4 x 1 + 0.2 x 1 + 0.2 x 0) / 0.8 = 0.75
    assert s["gamma_score"][5] == pytest.approx(0.75)
    assert s["gamma_sharp"][5] is True
    assert s["gex_negative"][4] is False


def test_gamma_score_all_parts():
    # prior window 0, 1, 0, 1, 0, 1 (x 1e9): mean 0.5e9, sd sqrt(0.3)e9; today -0.05e9 -> z = -1.004
    # z part 0.502, negative, spot 5000 below the flip 5100, MACD turned bearish:
    # 0.4 x 0.502 + 0.2 + 0.2 + 0.2 = 0.80
    gex = [0.0, 1e9, 0.0, 1e9, 0.0, 1e9, -0.05e9]
    g = gamma_frame(gex, spot=5000, zero_gamma=5100, hist=[1.0] * 6 + [-1.0])
    s = signals_daily(g, params=SignalParams(gex_window=6, gex_min_periods=3))
    z = s["gex_z"][6]
    assert z == pytest.approx(-0.55e9 / (math.sqrt(0.3) * 1e9))
    assert s["gamma_score"][6] == pytest.approx(0.4 * (-z / 2) + 0.6)
    assert s["gamma_score"][6] == pytest.approx(0.80, abs=0.001)
    assert s["gex_macd_cross_down"][6] is True
    assert s["spot_below_flip"][6] is True
    assert s["gamma_sharp"][6] is True  # negative and z <= -1


# -- funding, breadth, volatility, events --------------------------------------------------------
def test_funding_score_and_flags():
    f = funding_frame([None, 0.0, 1.0, 2.0, 4.0], [None, 50.0, 75.0, 90.0, 100.0])
    s = signals_daily(None, funding_daily=f, vol_daily=vol_frame(5))
    # 0.5 clip(z/2) + 0.5 clip((pct-50)/50)
    assert s["funding_score"].to_list() == pytest.approx([None, 0.0, 0.5, 0.9, 1.0], nan_ok=True)
    assert s["funding_elevated"].to_list() == [None, False, True, True, True]
    assert s["funding_normal"].to_list() == [None, True, False, False, False]


def test_breadth_divergence_counts_over_the_lookback():
    b = pl.DataFrame({"exchange": "NYSE", "date": days(4),
                      "ad_divergence_bearish": [True, False, False, False],
                      "mcclellan_osc": [0.0, -25.0, 10.0, -100.0]})
    s = signals_daily(None, breadth_daily=b, vol_daily=vol_frame(4),
                      params=SignalParams(divergence_lookback=2))
    assert s["ad_divergence_recent"].to_list() == [1, 1, 0, 0]
    # 0.5 (divergence in the last 2 rows) + 0.5 clip(-osc/50)
    assert s["breadth_score"].to_list() == pytest.approx([0.5, 0.75, 0.0, 0.5])


def test_volatility_score():
    v = pl.concat([vol_frame(1, ratio=0.85, roll=0.05), vol_frame(1, ratio=0.975, roll=-0.025),
                   vol_frame(1, ratio=1.2, roll=-0.2)]).with_columns(date=pl.Series(days(3)))
    s = signals_daily(None, vol_daily=v)
    # 0.5 clip((r - 0.90)/0.15) + 0.5 clip(-roll/0.05)
    assert s["volatility_score"].to_list() == pytest.approx([0.0, 0.5 * 0.5 + 0.5 * 0.5, 1.0])


def test_events_within_one_session():
    m = pl.DataFrame({"date": days(3), "days_to_cpi_td": [3, 1, 0], "days_to_ppi_td": [5, 4, 3],
                      "days_to_fomc_td": [2, None, 9]})
    s = signals_daily(None, vol_daily=vol_frame(3), macro_daily=m)
    assert s["events_score"].to_list() == [0.0, 1.0, 1.0]
    assert s["next_event"].to_list() == ["FOMC", "CPI", "CPI"]
    assert s["days_to_event_td"].to_list() == [2, 1, 0]
    assert s["cpi_soon"].to_list() == [False, True, True]


# -- the score ---------------------------------------------------------------------------------
def test_score_is_shrunk_by_its_coverage_and_points_add_up():
    f = funding_frame([None] * 5 + [2.0], [None] * 5 + [100.0])  # funding 1.0 on the last row
    g = gamma_frame([1e9, 2e9, 3e9, 4e9, 5e9, -5e9])              # gamma 0.75 (see above)
    s = signals_daily(g, funding_daily=f, vol_daily=vol_frame(6),   # volatility 0
                      params=SignalParams(gex_window=5, gex_min_periods=3))
    last = s.row(5, named=True)
    # breadth and events missing: weights 0.35 + 0.30 + 0.10 = 0.75 present, coverage 0.75.
    # raw (mean of the present) = 100 x (0.35 x 0.75 + 0.30 x 1.0 + 0) / 0.75 = 75.0;
    # the missing 0.25 count as neutral: score = 75.0 x 0.75 = 56.25
    assert last["weight_available"] == pytest.approx(0.75) and last["coverage"] == pytest.approx(0.75)
    assert last["components_missing"] == "breadth,events"
    assert last["components_available"] == 3
    assert last["unwind_score_raw"] == pytest.approx(75.0)
    assert last["unwind_score"] == pytest.approx(56.25)
    assert last["gamma_score_pts"] + last["funding_score_pts"] + last["volatility_score_pts"] == pytest.approx(last["unwind_score"])
    assert last["breadth_score_pts"] is None
    assert last["convergence"] is True  # GEX < 0 with z <= -1, and funding z >= 1


def test_no_funding_degrades_gracefully():
    s = signals_daily(gamma_frame([-1e9] * 3), funding_daily=None, vol_daily=vol_frame(3))
    assert s["components_missing"].to_list() == ["funding,breadth,events"] * 3
    assert s["convergence"].to_list() == [False] * 3  # no funding: never a convergence
    assert s["unwind_score"].null_count() == 0


def test_weights_are_validated():
    with pytest.raises(ValueError, match="unknown signal components"):
        SignalParams(weights={"gamma": 1.0, "moon": 1.0})
    with pytest.raises(ValueError, match="crowded_exit"):
        SignalParams(crowded_enter=40, crowded_exit=45)
    assert sum(SignalParams().weights.values()) == pytest.approx(1.0)


def test_empty_inputs_give_an_empty_frame_with_the_schema():
    s = signals_daily(None, None, None, None, None)
    assert s.is_empty() and s.schema == pl.Schema(SCHEMA)


# -- regime state machine ------------------------------------------------------------------------
def run(scores, conv=None, shock=None, ratio=None, **kw):
    n = len(scores)
    p = SignalParams(**kw)
    return regime_path(np.array(scores, dtype=float), np.array(conv or [False] * n),
                       np.array(shock or [False] * n), np.array(ratio or [0.9] * n, dtype=float), p)


def test_calm_to_crowded_and_back_with_hysteresis():
    reg, prev, count, _ = run([20, 55, 45, 30, 30, 40, 30, 30, 30, 20])
    # enters at 55; 45 and 40 are above the exit (35), so three sessions below 35 are needed
    assert reg == ["calm", "crowded", "crowded", "crowded", "crowded", "crowded", "crowded",
                   "crowded", "calm", "calm"]
    assert count[:3] == [1, 1, 2] and prev[8] == "crowded"


def test_convergence_alone_means_crowded():
    reg, *_ = run([10, 10], conv=[False, True])
    assert reg == ["calm", "crowded"]


def test_shock_unwinding_recovery_calm():
    scores = [60] + [40] * 16
    shock = [False, True, False, False, False, False] + [False] * 11
    ratio = [0.9, 1.1, 1.05, 1.02, 0.98, 0.95] + [0.9] * 11
    reg, prev, count, why = run(scores, shock=shock, ratio=ratio, recovery_sessions=10)
    assert reg[:2] == ["crowded", "unwinding"]
    # 3 sessions at least, then the first one out of backwardation (ratio < 1) -> recovery
    assert reg[2:5] == ["unwinding", "unwinding", "recovery"]
    assert prev[4] == "unwinding" and count[4] == 1
    assert reg[13] == "recovery" and reg[14] == "calm"  # 10 sessions of recovery
    assert why[1].startswith("shock")


def test_a_new_shock_restarts_the_unwind_and_recovery_can_recrowd():
    reg, _, count, _ = run([50] * 6, shock=[True, False, True, False, False, False])
    assert reg == ["unwinding"] * 5 + ["recovery"]
    assert count[:3] == [1, 2, 1]
    reg, *_ = run([70, 70, 70], conv=[False, False, True], shock=[True, False, False],
                  unwinding_min_sessions=1)
    assert reg == ["unwinding", "recovery", "crowded"]


def test_regime_in_the_table_uses_spx_returns():
    close = [5000, 5010, 4880, 4890, 4900, 4905]  # -2.6 % on row 2
    s = signals_daily(None, vol_daily=vol_frame(6, close=close))
    assert s["shock"].to_list() == [False, False, True, False, False, False]
    assert s["regime"].to_list() == ["calm", "calm", "unwinding", "unwinding", "unwinding", "recovery"]


# -- evidence ----------------------------------------------------------------------------------
def test_forward_outcomes_worked_example():
    close = np.array([100.0, 102.0, 99.0, 101.0])
    vix = np.array([20.0] * 4)
    o = forward_outcomes(close, vix, 2, SignalParams(ic_be_sigma=1.0))
    assert o["ret"][0] == pytest.approx(-1.0)
    assert o["mdd"][0] == pytest.approx(100 * (99 / 102 - 1))
    r = np.diff(np.log([100.0, 102.0, 99.0]))
    assert o["rv"][0] == pytest.approx(r.std(ddof=1) * math.sqrt(252) * 100)
    # break-evens 100 x (1 +- 0.2 sqrt(2/252)) = +-1.78: 102 is outside
    assert o["hit"][0] == 0.0
    assert o["hit"][1] == 0.0  # 102 x (1 +- 0.0178) = [100.18, 103.82]: 99 is outside
    calm = forward_outcomes(np.array([100.0, 100.5, 101.0, 100.8]), vix, 2, SignalParams())
    assert calm["hit"][0] == 1.0  # 100.5 and 101 inside [98.22, 101.78]
    assert math.isnan(o["ret"][2]) and math.isnan(o["ret"][3])


def test_evidence_counts_only_outcomes_known_by_the_night():
    n = 8
    close = [100.0 + i for i in range(n)]
    s = signals_daily(None, vol_daily=vol_frame(n, close=close))
    ev = signal_evidence(s, SignalParams(horizons=(2,)))
    calm = ev.filter(pl.col("regime") == "calm")
    # an entry on row i is known on row i + 2: as_of row k counts rows 0..k-2
    assert calm["n_obs"].to_list() == [0, 0, 1, 2, 3, 4, 5, 6]
    assert calm["first_entry"][2] == D0 and calm["last_entry"][7] == D0 + timedelta(days=5)
    assert calm["max_drawdown_pct_worst"][7] == 0.0  # a rising market never draws down
    assert ev.filter(pl.col("regime") == "unwinding")["n_obs"].sum() == 0
    assert ev.filter(pl.col("regime") == "all")["n_obs"].to_list() == calm["n_obs"].to_list()
    assert ev.height == n * 5


# -- DDL contract ------------------------------------------------------------------------------
def test_frames_match_the_ddl_and_load():
    f = funding_frame([None] * 5 + [2.0], [None] * 5 + [100.0])
    s = signals_daily(gamma_frame([1e9, 2e9, 3e9, 4e9, 5e9, -5e9]), funding_daily=f,
                      vol_daily=vol_frame(6))
    ev = signal_evidence(s)
    with Warehouse.memory() as wh:
        assert wh.columns("core.signals_daily") == list(SCHEMA)
        assert wh.columns("core.signal_evidence") == list(EVIDENCE_SCHEMA)
        assert wh.write("core.signals_daily", s, by=["date"]) == 6
        assert wh.write("core.signal_evidence", ev, by=["as_of"]) == ev.height
        assert wh.scalar("select count(*) from core.signals_daily") == 6
        dup = ev.group_by("as_of", "regime", "horizon_sessions").len().filter(pl.col("len") > 1)
        assert dup.is_empty()


def test_a_chain_only_night_cannot_be_crowded():
    # gamma alone at its maximum (GEX deeply negative, z <= -1): sub-score 1.0, coverage 0.35.
    g = gamma_frame([1e9, 2e9, 3e9, 4e9, 5e9, -50e9])
    s = signals_daily(g, params=SignalParams(gex_window=5, gex_min_periods=3))
    last = s.row(5, named=True)
    assert last["components_missing"] == "funding,breadth,volatility,events"
    assert last["coverage"] == pytest.approx(0.35)
    assert last["unwind_score_raw"] == pytest.approx(100.0 * last["gamma_score"])
    # shrunk toward neutral: 100 x 0.35 x gamma_score <= 35 < crowded_enter 50
    assert last["unwind_score"] == pytest.approx(35.0 * last["gamma_score"]) and last["unwind_score"] <= 35.0
    assert s["regime"].to_list() == ["calm"] * 6
    # even with an entry threshold the shrunk score reaches, one component moves no regime
    low = signals_daily(g, params=SignalParams(gex_window=5, gex_min_periods=3, crowded_enter=20,
                                               crowded_exit=10))
    assert low["unwind_score"][5] >= 20 and low["regime"][5] == "calm"
