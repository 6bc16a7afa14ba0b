"""Strategy settings from `alvh.toml` (or `[tool.alvh]` in a pyproject.toml) and ALVH_* variables,
validated by the transforms' own pydantic models. Holds the loading; the knobs live in the models.

Where a value comes from, last wins: the model's default, the file, the environment
(`ALVH_STRATEGY__CAPITAL_USD=500000`: section and field, upper case, joined by a double underscore).
The file is the first of: $ALVH_CONFIG, ./alvh.toml, $ALVH_HOME/alvh.toml, ./pyproject.toml with
a [tool.alvh] table. Sections: [strategy] (transforms.alvh.AlvhParams), [backtest]
(transforms.backtest.BacktestParams, its `alvh` is [strategy]) and [signals]
(transforms.signals.SignalParams).
"""

from __future__ import annotations

import json
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from flows.settings import Settings


def _models() -> dict[str, type[BaseModel]]:
    from transforms.alvh import AlvhParams
    from transforms.backtest import BacktestParams
    from transforms.signals import SignalParams

    return {"strategy": AlvhParams, "backtest": BacktestParams, "signals": SignalParams}


def _fields(section: str, model: type[BaseModel]) -> dict[str, Any]:
    return {k: f for k, f in model.model_fields.items() if not (section == "backtest" and k == "alvh")}


def config_file(settings: Settings) -> tuple[Path, dict] | None:
    """(path, the alvh table) of the config file in effect, or None."""
    env = os.environ.get("ALVH_CONFIG")
    candidates = [Path(env)] if env else [Path("alvh.toml"), settings.root / "alvh.toml"]
    for p in candidates:
        if p.is_file():
            return p.resolve(), _read(p)
        if env:
            raise FileNotFoundError(f"ALVH_CONFIG={env}: no such file")
    py = Path("pyproject.toml")
    if py.is_file():
        table = _read(py).get("tool", {}).get("alvh")
        if table is not None:
            return py.resolve(), table
    return None


def _read(path: Path) -> dict:
    try:
        return tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as e:
        raise ValueError(f"{path}: {e}") from None


def _env_value(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


@dataclass
class Strategy:
    """The validated parameter models and, per `section.field`, where its value came from."""

    alvh: Any
    backtest: Any
    signals: Any
    origin: dict[str, str] = field(default_factory=dict)
    path: Path | None = None

    def changed(self) -> dict[str, Any]:
        """`section.field` -> value for every setting not at its default (recorded with a run)."""
        out = {}
        for key, where in self.origin.items():
            if where != "default":
                section, name = key.split(".", 1)
                out[key] = getattr(getattr(self, "alvh" if section == "strategy" else section), name)
        return json.loads(json.dumps(out, default=str))


def load_strategy(settings: Settings) -> Strategy:
    """The effective strategy settings; ValueError (one line, naming file and field) when invalid."""
    models = _models()
    found = config_file(settings)
    path, table = found if found else (None, {})
    unknown = sorted(set(table) - set(models))
    if unknown:
        raise ValueError(f"{path}: unknown section(s) {', '.join(unknown)}; "
                         f"known: {', '.join(models)}")
    values: dict[str, dict] = {s: {} for s in models}
    origin: dict[str, str] = {}
    for section, model in models.items():
        fields = _fields(section, model)
        given = table.get(section, {})
        bad = sorted(set(given) - set(fields))
        if bad:
            raise ValueError(f"{path}: [{section}] unknown setting(s) {', '.join(bad)} "
                             "(`alvh config show` lists them)")
        for name in fields:
            env = f"ALVH_{section.upper()}__{name.upper()}"
            if env in os.environ:
                values[section][name] = _env_value(os.environ[env])
                origin[f"{section}.{name}"] = f"environment {env}"
            elif name in given:
                values[section][name] = given[name]
                origin[f"{section}.{name}"] = f"file {path}"
            else:
                origin[f"{section}.{name}"] = "default"
    if "gamma_preset" not in values["signals"]:  # the signal reads the gamma preset the run builds
        values["signals"]["gamma_preset"] = settings.gamma_preset
    try:
        alvh = models["strategy"](**values["strategy"])
        backtest = models["backtest"](alvh=alvh, **values["backtest"])
        signals = models["signals"](**values["signals"])
    except ValidationError as e:
        err = e.errors()[0]
        where = ".".join(str(x) for x in err["loc"]) or "(model)"
        raise ValueError(f"{path or 'environment'}: strategy setting {where}: {err['msg']}") from None
    return Strategy(alvh, backtest, signals, origin, path)


def example_toml() -> str:
    """Every strategy setting with its default and description, as an alvh.toml to start from."""
    lines = ["# alvh.toml - strategy settings (`alvh config show` prints the values in effect).",
             "# Uncomment and change what you need; every other setting keeps its default.", ""]
    for section, model in _models().items():
        lines += [f"[{section}]  # {model.__name__}: {(model.__doc__ or '').strip().splitlines()[0]}"]
        for name, f in _fields(section, model).items():
            default = f.get_default(call_default_factory=True)
            if f.description:
                lines.append(f"# {f.description}")
            lines.append(f"# {name} = {_toml(default)}")
        lines.append("")
    return "\n".join(lines)


def _toml(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{k} = {_toml(x)}" for k, x in v.items()) + " }"
    if v is None:
        return '"" # unset (None)'
    return repr(v)


def strategy_changes(settings: Settings) -> dict[str, Any]:
    """The strategy settings not at their default, as recorded with a night's run (audit.runs)."""
    return load_strategy(settings).changed()
