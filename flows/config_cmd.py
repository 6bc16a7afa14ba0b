"""`alvh config show` / `alvh config example`: the settings in effect and where each came from.
Wiring only: strategy settings load in flows/strategy.py, run settings in flows/settings.py.
"""

from __future__ import annotations

import os

from rich.table import Table

from flows import console
from flows.settings import Settings
from flows.strategy import example_toml, load_strategy


def _settings_origin(name: str) -> str:
    env = f"ALVH_{name.upper()}"
    if env in os.environ:
        return f"environment {env}"
    return "--home" if name == "home" else "file .env"


def print_config(settings: Settings) -> int:
    strat = load_strategy(settings)
    console.info(f"strategy file: {strat.path or 'none (alvh.toml, $ALVH_HOME/alvh.toml or [tool.alvh])'}")
    t = Table(title="Strategy settings", title_justify="left", show_edge=False, pad_edge=False)
    for c in ("setting", "value", "from"):
        t.add_column(c, overflow="fold")
    for section, model in (("strategy", strat.alvh), ("backtest", strat.backtest), ("signals", strat.signals)):
        for name in type(model).model_fields:
            if section == "backtest" and name == "alvh":
                continue
            t.add_row(f"{section}.{name}", str(getattr(model, name)),
                      strat.origin.get(f"{section}.{name}", "default"))
    console.out.print(t)
    r = Table(title="Run settings (ALVH_*)", title_justify="left", show_edge=False, pad_edge=False)
    for c in ("setting", "value", "from"):
        r.add_column(c, overflow="fold")
    for name in Settings.model_fields:
        value = getattr(settings, name)
        origin = "default" if name not in settings.model_fields_set else _settings_origin(name)
        r.add_row(name, str(value), origin)
    console.out.print(r)
    console.info("what each setting does: `alvh config example` (strategy), README (run settings)")
    return 0


def print_example() -> int:
    console.info(example_toml())
    return 0
