"""Run settings, chosen from the environment in one place (ALVH_* variables or a .env file).

Only flows/ reads settings; everything below receives plain parameters. `apply_prefect_env`
must run before Prefect is imported so a default run writes nothing outside $ALVH_HOME and
reaches no network.
"""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from transforms.conventions import GAMMA_DIV_YIELD, GAMMA_RATE


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ALVH_", env_file=".env", extra="ignore")

    home: Path = Field(default=Path("var"), description="Where landing, warehouse and reports live")
    seed: int = Field(default=7, description="Seed of the embedded sample market")
    lock_timeout_s: float = Field(default=600.0, ge=0, description="Wait for another run's writer lock")
    max_reject_ratio: float = Field(
        default=0.01, ge=0, le=1,
        description="A file with more refused rows than this share is rejected as a whole")
    gamma_preset: str = Field(default="default", description="Gamma convention preset")
    gamma_rate: float = Field(default=GAMMA_RATE, description="r for model gamma (continuous, annual)")
    gamma_div_yield: float = Field(default=GAMMA_DIV_YIELD, description="q for model gamma (continuous, annual)")
    # Scheduling and backfill (flows/deploy.py, flows/backfill.py, docs/scaling.md)
    schedule_cron: str = Field(default="30 17 * * 1-5", description="When `alvh serve` runs the night")
    schedule_timezone: str = Field(default="America/New_York", description="Time zone of the cron")
    expected_sources: str = Field(
        default="cboe_chain,cboe_index,cfe_vx,funding,breadth,macro",
        description="Landing sources every night's drop should hold (comma-separated, --source drop)")
    drop_wait_s: float = Field(default=1800.0, ge=0,
                               description="Wait this long for missing vendor files before running")
    drop_poll_s: float = Field(default=60.0, gt=0, description="Look for missing files this often")
    backfill_workers: int = Field(default=2, ge=1, description="Task-runner workers of a backfill")
    gx_keep_nights: int = Field(default=60, ge=1, description=(
        "Great Expectations result files and Data Docs pages kept, in nights (~2 MB a night); "
        "audit.validations keeps every result"))
    notify: str = Field(default="", description=(
        "apprise URLs (comma-separated) told when the regime changes or a night is not trusted"))
    # Cold start from public histories (`alvh research --seed-home`, docs/research.md)
    history_dir: Path | None = Field(
        default=None, description="Folder of history files (Cboe *_History.csv, DIX.csv, funding ...): "
                                  "`alvh nightly` lands it and builds the sessions it adds before the night")
    history_years: float = Field(default=5.0, gt=0, description=(
        "Years of sessions before the night that seeding builds into the core tables (raw keeps all)"))
    history_files: str = Field(
        default="VIX,VIX9D,VIX3M,VIX6M,SKEW,VVIX,SPX,PUT,BXM,CNDR,DIX",
        description="What `alvh fetch --history` downloads: Cboe daily_prices symbols, DIX = SqueezeMetrics")
    # Live mode: public APIs (`alvh fetch`, `--source live`; docs/live.md). Lists are comma-separated.
    live_cboe_chains: str = Field(default="SPX,VIX", description="Cboe delayed-quotes chains to fetch")
    live_yahoo_history: str = Field(default="^GSPC,^VIX,^VIX3M,^VIX9D",
                                    description="Yahoo tickers whose daily bars to fetch")
    live_yahoo_chains: str = Field(default="SPY", description="Yahoo option chains to fetch")
    live_yahoo_max_expiries: int = Field(default=6, ge=1, description="Expiries per Yahoo chain")
    live_chain_fallback: bool = Field(default=True,
                                      description="Fetch SPX from Yahoo when Cboe's chain fails")
    live_funding_venues: str = Field(default="binance,bybit,okx,hyperliquid",
                                     description="ccxt exchanges whose funding history to fetch")
    live_funding_assets: str = Field(default="BTC,ETH", description="Perpetuals' base assets")
    live_history_days: int = Field(default=400, ge=1, description="Days of index bars per fetch")
    live_funding_days: int = Field(default=120, ge=1, description="Days of funding events per fetch")
    live_oi_venues: str = Field(default="binance",
                                description="ccxt exchanges whose perp open-interest history to fetch")
    live_liquidation_venues: str = Field(default="okx", description=(
        "Exchanges whose public perp liquidation history to fetch (okx: the one public REST feed)"))
    live_oi_days: int = Field(default=30, ge=1, description="Days of hourly open interest per fetch")
    live_liquidation_days: int = Field(default=7, ge=1, description="Days of liquidations per fetch")
    live_timeout_s: float = Field(default=20.0, gt=0, description="Per-request timeout")
    live_attempts: int = Field(default=3, ge=1, description="Tries per request on transient errors")
    live_backoff_s: float = Field(default=2.0, ge=0, description="First retry wait (doubles each try)")
    live_yahoo_per_min: float = Field(default=60.0, gt=0, description="Yahoo requests per minute")
    live_cboe_per_min: float = Field(default=12.0, gt=0, description="Cboe CDN requests per minute")
    live_replay: Path | None = Field(
        default=None, description="Answer live requests from recorded payloads in this folder (offline)")

    @cached_property
    def root(self) -> Path:
        return self.home.expanduser().resolve()

    @property
    def landing(self) -> Path:
        return self.root / "landing"

    @property
    def drops(self) -> Path:
        return self.root / "drops"

    @property
    def warehouse_path(self) -> Path:
        return self.root / "warehouse.duckdb"

    @property
    def reports(self) -> Path:
        return self.root / "reports"

    @property
    def data_docs(self) -> Path:
        return self.root / "data_docs"

    @property
    def cache(self) -> Path:
        """Derived data worth keeping between commands (the XNYS session list); safe to delete."""
        return self.root / "cache"

    @property
    def prefect_home(self) -> Path:
        return self.root / "prefect"


def load_settings(**overrides) -> Settings:
    return Settings(**{k: v for k, v in overrides.items() if v is not None})


# Offline, local-only Prefect (see docs/ecosystem.md for why each matters).
_PREFECT_DEFAULTS = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90",
    "PREFECT_LOGGING_LEVEL": "INFO",  # full logs reach the Prefect API/UI ...
    "PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL": "CRITICAL",  # ... the terminal gets our one-liners
    "PREFECT_UI_ENABLED": "false",
    "PREFECT_RESULTS_PERSIST_BY_DEFAULT": "false",
}


def apply_prefect_env(settings: Settings) -> None:
    """Point Prefect at $ALVH_HOME/prefect and switch off telemetry, unless the user chose."""
    settings.prefect_home.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("PREFECT_HOME", str(settings.prefect_home))
    for k, v in _PREFECT_DEFAULTS.items():
        if k == "PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL" and os.environ.get("ALVH_DEBUG"):
            continue
        os.environ.setdefault(k, v)
