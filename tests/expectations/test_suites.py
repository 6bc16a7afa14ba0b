"""The Great Expectations suite builder: which checks a table gets tonight, with which severity,
from its contract and its trailing history (pure: no context, no data)."""

from __future__ import annotations

import math

import pytest

from expectations.contracts import contract_for
from expectations.suites import (
    CRITICAL,
    WARNING,
    DriftRef,
    History,
    build_suite,
    expectations_for,
    suite_name,
)


def by_kind(exps) -> dict[str, list]:
    out: dict[str, list] = {}
    for e in exps:
        out.setdefault(e.meta["kind"], []).append(e)
    return out


def test_every_expectation_has_a_severity_and_a_kind():
    for table in ("raw.option_quotes", "core.gamma_daily", "raw.macro_events", "core.backtest_trades"):
        for e in expectations_for(contract_for(table), History(counts=[10] * 20)):
            assert e.meta["severity"] in (CRITICAL, WARNING)
            assert e.meta["kind"] in ("schema", "freshness", "volume", "key", "contract", "drift", "jump")


def test_a_required_table_is_checked_for_freshness_even_without_history():
    kinds = by_kind(expectations_for(contract_for("raw.option_quotes"), History()))
    (fresh,) = kinds["freshness"]
    assert fresh.meta["severity"] == CRITICAL and fresh.min_value == 1
    assert "volume" not in kinds and "drift" not in kinds and "jump" not in kinds


def test_an_optional_table_needs_rows_in_its_history_before_freshness_applies():
    c = contract_for("raw.funding_rates")
    assert "freshness" not in by_kind(expectations_for(c, History(counts=[0] * 20)))
    assert "freshness" in by_kind(expectations_for(c, History(counts=[0] * 19 + [30])))


def test_static_and_event_tables_get_no_freshness_or_volume():
    for table in ("raw.macro_events", "core.backtest_trades"):
        c = contract_for(table)
        kinds = by_kind(build_suite(c, History(counts=[5] * 20)).expectations)
        assert "freshness" not in kinds and "volume" not in kinds


def test_volume_bounds_come_from_the_trailing_median():
    kinds = by_kind(expectations_for(contract_for("raw.option_quotes"), History(counts=[0, 9000, 10000, 11000])))
    warn, crit = sorted(kinds["volume"], key=lambda e: e.meta["severity"] == CRITICAL)
    assert (warn.min_value, warn.max_value, warn.meta["severity"]) == (5000, 20000, WARNING)
    assert (crit.min_value, crit.max_value, crit.meta["severity"]) == (1000, 100000, CRITICAL)


def test_fewer_than_three_nights_give_no_volume_check():
    assert "volume" not in by_kind(expectations_for(contract_for("raw.option_quotes"), History(counts=[0, 5, 7])))


def test_key_checks_follow_the_grain():
    kinds = by_kind(expectations_for(contract_for("raw.option_quotes"), History()))
    uniq = [e for e in kinds["key"] if e.expectation_type == "expect_compound_columns_to_be_unique"]
    assert uniq[0].column_list == ["quote_date", "root", "expiry", "strike", "right"]
    not_null = {e.column for e in kinds["key"] if e.expectation_type == "expect_column_values_to_not_be_null"}
    assert not_null == {"quote_date", "root", "expiry", "strike", "right"}
    single = by_kind(expectations_for(contract_for("core.vol_daily"), History()))["key"]
    assert any(e.expectation_type == "expect_column_values_to_be_unique" and e.column == "date" for e in single)


def test_contract_ranges_and_sets_become_critical_expectations():
    exps = by_kind(expectations_for(contract_for("raw.option_quotes"), History()))["contract"]
    between = {(e.column, e.min_value, e.max_value) for e in exps
               if e.expectation_type == "expect_column_values_to_be_between"}
    assert ("open_interest", 0, None) in between and ("iv", 0, 10) in between
    strike = next(e for e in exps if getattr(e, "column", None) == "strike"
                  and e.expectation_type == "expect_column_values_to_be_between")
    assert strike.strict_min is True
    right = next(e for e in exps if e.expectation_type == "expect_column_values_to_be_in_set")
    assert right.column == "right" and sorted(right.value_set) == ["C", "P"]
    assert all(e.meta["severity"] == CRITICAL for e in exps)


def test_drift_needs_five_nights_and_is_a_warning():
    c = contract_for("raw.option_quotes")
    ref = DriftRef("iv", edges=[0.1, 0.15, 0.2, 0.3], weights=[0.1, 0.3, 0.3, 0.2, 0.1],
                   medians=[0.16, 0.17, 0.18], nights=4)
    assert "drift" not in by_kind(expectations_for(c, History(drift={"iv": ref})))
    ref5 = DriftRef(**{**ref.__dict__, "nights": 5})
    kl, med = by_kind(expectations_for(c, History(drift={"iv": ref5})))["drift"]
    assert kl.meta["severity"] == WARNING and med.meta["severity"] == WARNING
    assert kl.partition_object["bins"][0] == -math.inf and kl.partition_object["bins"][-1] == math.inf
    assert len(kl.partition_object["weights"]) == len(kl.partition_object["bins"]) - 1
    # the nightly medians' range [0.16, 0.18], widened by half its width (0.01) or 10 % of 0.17
    assert med.min_value == pytest.approx(0.16 - 0.017) and med.max_value == pytest.approx(0.18 + 0.017)


def test_jump_is_checked_only_when_a_previous_value_exists():
    c = contract_for("raw.index_bars")
    assert "jump" not in by_kind(expectations_for(c, History()))
    (jump,) = by_kind(expectations_for(c, History(has_previous={"close": True})))["jump"]
    assert jump.column == "close_vs_prev" and jump.meta["severity"] == CRITICAL
    assert (jump.min_value, jump.max_value) == (0.25, 4.0)


def test_suite_names_have_no_dots():
    assert suite_name("raw.option_quotes") == "raw_option_quotes"
    suite = build_suite(contract_for("core.gamma_daily"), History())
    assert suite.name == "core_gamma_daily" and suite.meta["table"] == "core.gamma_daily"


def test_core_tables_leave_ranges_to_the_write_time_contract():
    kinds = by_kind(expectations_for(contract_for("core.gamma_daily"), History()))
    assert "contract" not in kinds or all(
        e.expectation_type == "expect_column_values_to_not_be_null" for e in kinds["contract"])


def test_kl_needs_enough_values_tonight_the_median_does_not():
    ref = DriftRef("funding_apr", edges=[0.0, 0.05, 0.1], weights=[0.2, 0.3, 0.3, 0.2],
                   medians=[0.05] * 6, nights=6)
    c = contract_for("core.funding_daily")
    few = by_kind(expectations_for(c, History(drift={"funding_apr": ref}), rows=7))["drift"]
    assert [e.expectation_type for e in few] == ["expect_column_median_to_be_between"]
    many = by_kind(expectations_for(c, History(drift={"funding_apr": ref}), rows=500))["drift"]
    assert len(many) == 2


def test_a_weekend_funding_day_expects_three_times_the_events():
    c = contract_for("raw.funding_rates")
    kinds = by_kind(expectations_for(c, History(counts=[54] * 20, scale=3.0)))
    warn = next(e for e in kinds["volume"] if e.meta["severity"] == WARNING)
    assert (warn.min_value, warn.max_value) == (81, 324)


def test_an_empty_partition_gets_only_schema_freshness_and_volume():
    kinds = by_kind(expectations_for(contract_for("raw.option_quotes"), History(counts=[10] * 20), rows=0))
    assert set(kinds) == {"schema", "freshness", "volume"}
