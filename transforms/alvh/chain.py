"""ALVH chain preparation: one night's quotes -> dte, t_years, mid, delta used; expiry choice; legs.

Pure polars + numpy; no I/O, DuckDB, Prefect or sources.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from transforms import greeks
from transforms.alvh.params import AM_ROOTS, AlvhParams
from transforms.alvh.schemas import LEG_SCHEMA
from transforms.conventions import SPX_MULTIPLIER, VIX_MULTIPLIER, t_years


def _t_years(quote_date: pl.Expr, expiry: pl.Expr, root: pl.Expr) -> pl.Expr:
    """Years from the 16:00 ET snapshot of quote_date to settlement: 16:00 on the expiry for PM
    roots, 09:30 (6.5 h earlier) for AM-settled roots (SPX monthlies, VIX)."""
    snapshot = quote_date.cast(pl.Datetime("us")) + pl.duration(hours=16)
    settle = expiry.cast(pl.Datetime("us")) \
        + pl.duration(minutes=pl.when(root.is_in(list(AM_ROOTS))).then(9 * 60 + 30).otherwise(16 * 60))
    return t_years(snapshot, settle, unit="hour", floor_zero=True)


def prepare_chain(quotes: pl.DataFrame, params: AlvhParams | None = None) -> pl.DataFrame:
    """raw.option_quotes rows of one quote_date -> chain with dte_days, t_years, mid, delta_used,
    delta_source (the vendor delta, or Black-Scholes from the vendor IV when the vendor has none)."""
    p = params or AlvhParams()
    if "delta_used" in quotes.columns:
        return quotes
    need = ["quote_date", "root", "expiry", "strike", "right", "spot", "bid", "ask", "iv"]
    missing = [c for c in need if c not in quotes.columns]
    if missing:
        raise ValueError(f"option quotes lack column(s) {missing}")
    q = quotes
    if "delta" not in q.columns:
        q = q.with_columns(delta=pl.lit(None, dtype=pl.Float64))
    if "expired" in q.columns:
        q = q.filter(~pl.col("expired").fill_null(False))
    q = q.filter(pl.col("expiry") >= pl.col("quote_date")).with_columns(
        dte_days=(pl.col("expiry") - pl.col("quote_date")).dt.total_days().cast(pl.Int64),
        t_years=_t_years(pl.col("quote_date"), pl.col("expiry"), pl.col("root")),
        mid=pl.when(pl.col("bid").is_not_null() & pl.col("ask").is_not_null())
        .then((pl.col("bid") + pl.col("ask")) / 2.0),
    )
    if q.is_empty():
        return q.with_columns(delta_used=pl.lit(None, dtype=pl.Float64),
                              delta_source=pl.lit(None, dtype=pl.String))
    vendor = pl.col("delta").is_not_null() & pl.col("delta").is_not_nan()
    has_iv = pl.col("iv").is_not_null() & (pl.col("iv") > 0)
    if q.select((~vendor & has_iv).any()).item():
        model = greeks.delta(q["spot"].to_numpy(), q["strike"].to_numpy(), q["t_years"].to_numpy(),
                             q["iv"].fill_null(0.0).to_numpy(), (q["right"] == "C").to_numpy(),
                             p.rate, p.div_yield)
    else:  # every row has the vendor's delta (or no IV): the model delta would not be used
        model = pl.Series([None] * q.height, dtype=pl.Float64)
    return q.with_columns(_model=pl.Series(model)).with_columns(
        delta_used=pl.when(vendor).then(pl.col("delta")).when(has_iv).then(pl.col("_model")),
        delta_source=pl.when(vendor).then(pl.lit("vendor")).when(has_iv).then(pl.lit("model")),
    ).drop("_model")


def choose_expiry(chain: pl.DataFrame, roots: tuple[str, ...], target: int, lo: int, hi: int
                  ) -> tuple[str, date] | None:
    """(root, expiry) nearest `target` calendar days within [lo, hi]; ties: the earlier expiry;
    a date listed by several roots: the first of `roots`."""
    c = chain.filter(pl.col("root").is_in(list(roots)) & pl.col("dte_days").is_between(lo, hi))
    if c.is_empty():
        return None
    exps = c.select("root", "expiry", "dte_days").unique()
    rank = {r: i for i, r in enumerate(roots)}
    best = min(exps.iter_rows(), key=lambda r: (abs(r[2] - target), r[2], rank[r[0]]))
    return best[0], best[1]


def _leg(row: dict, side: str, layer: str, leg_no: int, note: str = "") -> dict:
    price = row["bid"] if side == "sell" else row["ask"]
    return {"layer": layer, "leg_no": leg_no, "instrument": "option",
            "underlying": row.get("underlying") or ("VIX" if row["root"] in ("VIX", "VIXW") else "SPX"),
            "root": row["root"], "expiry": row["expiry"], "strike": float(row["strike"]),
            "right": row["right"], "side": side, "ratio": 1, "quantity": 1,
            "bid": row["bid"], "ask": row["ask"], "mid": row.get("mid"), "price": price,
            "iv": row.get("iv"), "delta": row.get("delta_used"), "delta_source": row.get("delta_source"),
            "dte_days": row.get("dte_days"), "t_years": row.get("t_years"),
            "multiplier": SPX_MULTIPLIER if row["root"] not in ("VIX", "VIXW") else VIX_MULTIPLIER,
            "note": note}


def _legs_frame(rows: list[dict]) -> pl.DataFrame:
    if not rows:
        return pl.DataFrame(schema=LEG_SCHEMA)
    return pl.DataFrame([{**r, "as_of": r.get("as_of")} for r in rows], schema=LEG_SCHEMA)
