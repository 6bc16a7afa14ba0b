"""Data quality: pandera row contracts per table, Great Expectations suites per warehouse table,
and the night's trust verdict. Importing this package is cheap; pandera and GE load on use.

    from expectations import night_is_trusted
    ok, reasons = night_is_trusted(wh, as_of)   # the recommendation step's gate
"""

from expectations.trust import night_is_trusted, preflight

__all__ = ["night_is_trusted", "preflight"]
