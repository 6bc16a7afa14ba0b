"""transforms/evidence.py drawdown_evidence: SPX drawdowns of more than 5 % within 10 sessions and
the unwind score in the sessions before them, on small inline frames (worked examples)."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest

from transforms.evidence import drawdown_evidence, drawdown_onsets


def frame(close: list[float], score: list[float | None]) -> pl.DataFrame:
    d0 = date(2020, 1, 1)
    return pl.DataFrame({"date": [d0 + timedelta(days=i) for i in range(len(close))], "spx_close": close,
                         "unwind_score": score, "coverage": [0.5] * len(close)},
                        schema_overrides={"unwind_score": pl.Float64})


def test_a_fall_of_more_than_5_pct_within_the_window_is_one_episode_from_its_last_high():
    # 100 flat, then 97, 94 (-6 % from 100 within 2 sessions), recovery
    close = [100.0, 100.0, 100.0, 97.0, 94.0, 96.0, 99.0, 100.0]
    eps = drawdown_onsets(list(range(len(close))), np.array(close), threshold_pct=5.0, within=3)
    # rows 1 and 2 both see 94 within 3 sessions; row 0 does not (94 is 4 sessions out): one
    # episode from row 1 (the run's first row) to the trough at row 4
    assert eps == [(1, 4, pytest.approx(-6.0))]


def test_a_fall_under_way_is_not_a_new_episode_and_the_last_rows_do_not_qualify():
    close = np.array([100.0, 94.0, 88.0, 83.0, 83.0, 83.0])
    # rows 0..2 each see a > 5 % fall ahead, but they are one fall: one episode, trough at row 3
    assert drawdown_onsets(list(range(6)), close, 5.0, 2) == [(0, 3, pytest.approx(-17.0))]
    assert drawdown_onsets(list(range(2)), np.array([100.0, 90.0]), 5.0, 2) == []  # too short


def test_score_before_drawdowns_against_every_other_session():
    close = [100.0] * 6 + [93.0] + [100.0] * 5
    score = [10.0, 10.0, 60.0, 70.0, 80.0, 90.0, 20.0, 10.0, 10.0, 10.0, None, 10.0]
    episodes, summary = drawdown_evidence(frame(close, score), threshold_pct=5.0, within=2, before=3)
    assert episodes.height == 1
    e = episodes.row(0, named=True)
    assert e["onset"] == date(2020, 1, 5) and e["trough"] == date(2020, 1, 7)  # row 4 -> row 6
    assert e["drawdown_pct"] == pytest.approx(-7.0)
    # before = rows 2..4 (three sessions ending at the onset)
    assert e["score_mean_before"] == pytest.approx(70.0) and e["score_max_before"] == 80.0
    s = {r["group"]: r for r in summary.iter_rows(named=True)}
    assert s["before_drawdown"]["sessions"] == 3 and s["other"]["sessions"] == 9
    assert s["other"]["sessions_with_score"] == 8  # one session has no score
    assert s["before_drawdown"]["share_elevated"] == 1.0
    assert s["other"]["share_elevated"] == pytest.approx(1 / 8)  # the 90
    # AUC: each before-score against the 8 others: 60 beats 7, 70 beats 7, 80 beats 7 (not the 90)
    assert s["before_drawdown"]["auc"] == pytest.approx(21 / 24)


def test_no_drawdown_no_episode_and_no_auc():
    episodes, summary = drawdown_evidence(frame([100.0] * 15, [10.0] * 15))
    assert episodes.is_empty()
    s = {r["group"]: r for r in summary.iter_rows(named=True)}
    assert s["before_drawdown"]["sessions"] == 0 and s["before_drawdown"]["auc"] is None
    assert summary["score"].unique().to_list() == ["unwind_score"]
