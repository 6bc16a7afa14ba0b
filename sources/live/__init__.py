"""Live fetchers (optional `[live]` extra): tonight's data from public APIs, saved as vendor files.

Each fetcher writes the same vendor formats the readers already accept (Cboe delayed-quotes JSON,
yfinance CSV, CBOE quotedata CSV, ccxt funding JSON) into a drop folder, so ingest is unchanged.
Network only when a user asks (`alvh fetch`, `alvh nightly --source live`); nothing here touches
the warehouse or Prefect. HTTP goes through sessions a `SessionFactory` hands out, so tests and
replays swap in `sources.live.recorded.RecordedSession` (recorded payloads, no network).
"""

from sources.live.net import LiveError, LiveFetchError

__all__ = ["LiveError", "LiveFetchError"]
