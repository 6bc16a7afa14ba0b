"""The embedded, seeded sample market: a simulator that writes each XNYS session's vendor drop in
the real vendor formats (see docs/sample-market.md), so ingest cannot tell it from real data.

Public API: SampleMarket, write_drop, write_bootstrap (and SOURCES). Nothing here reads the warehouse.
"""

from sources.sample.drop import SOURCES, write_bootstrap, write_drop
from sources.sample.market import ORIGIN, SampleMarket

__all__ = ["ORIGIN", "SOURCES", "SampleMarket", "write_bootstrap", "write_drop"]
