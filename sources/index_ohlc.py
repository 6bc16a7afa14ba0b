"""Index daily bars from Yahoo, yfinance, yahoo_fin and Stooq CSVs -> raw.index_bars.

Recognised by header and ISO dates; vendor tickers are mapped to canonical symbols (^GSPC -> SPX).
Never touches the warehouse.

    Date,Open,High,Low,Close,Adj Close,Volume          classic Yahoo download (ticker: file name)
    Price,Close,High,Low,Open,Volume                   yfinance >= 0.2.51 `to_csv`: three header
    Ticker,^GSPC,^GSPC,^GSPC,^GSPC,^GSPC               rows, one column per (field, ticker), so one
    Date,,,,,                                          file may hold several tickers
    ,open,high,low,close,adjclose,volume,ticker        yahoo_fin `get_data().to_csv()`
    Date,Open,High,Low,Close[,Volume]                  Stooq (rows may lack the volume field)
    Data,Otwarcie,Najwyzszy,Najnizszy,Zamkniecie,Wolumen   Stooq, Polish header, CRLF
When the content names no ticker it comes from the file name: `^GSPC.csv`, `spx_d.csv`,
`yahoo_GSPC_2001.csv` (the first token that is a known index ticker, else the whole stem).
"""

from __future__ import annotations

import re
from pathlib import PurePath

import polars as pl

from sources.base import Format, Parsed, SourceError
from sources.rows import (
    INDEX_ALIASES,
    bad_date,
    body_fields,
    canonical_index,
    field_count,
    finish,
    first_line,
    head_lines,
    header_names,
    not_a_number,
    number,
    ohlc_checked,
    stem_tokens,
    text_of,
)

TABLE = "raw.index_bars"
_ISO = re.compile(r"^\s*\"?\d{4}-\d{2}-\d{2}")
# Header words (lower case, Polish without diacritics too) -> canonical column.
_WORDS = {
    "date": "date", "data": "date", "": "date", "datetime": "date",
    "open": "open", "otwarcie": "open", "high": "high", "najwyzszy": "high", "najwyższy": "high",
    "low": "low", "najnizszy": "low", "najniższy": "low", "close": "close", "zamkniecie": "close",
    "zamknięcie": "close", "adj close": "adj_close", "adjclose": "adj_close", "volume": "volume",
    "wolumen": "volume", "ticker": "ticker", "symbol": "ticker",
}
_OHLC = ("open", "high", "low", "close")
_NULLS = ("null", "nan", "NaN", "None", "-")


def _columns(header: str) -> list[str]:
    return [_WORDS.get(h, f"x{i}") for i, h in enumerate(header_names(header))]


def _first_data(head: str, skip: int) -> str:
    lines = head.lstrip("\ufeff").replace("\r", "").split("\n")[skip:]
    return next((ln for ln in lines if ln.strip(", \t")), "")


def _flat_sniffer(kind: str):
    def sniff(head: str) -> bool:
        line = first_line(head)
        cols = _columns(line)
        if cols[0] != "date" or not set(_OHLC) <= set(cols):
            return False
        data = _first_data(head, 1)
        if data and not _ISO.match(data):
            return False  # Cboe's DATE,OPEN,... prints US dates
        words = line.lower()
        if kind == "yahoo_fin":
            # the ticker column is optional: yahoo_fin frames saved with index=False lack it
            return line.startswith(",") or "adjclose" in words
        if kind == "yahoo":
            return "adj close" in words and not line.startswith(",")
        return "adj" not in words and not line.startswith(",")  # stooq
    return sniff


def symbol_from_name(file: str) -> str | None:
    """A canonical symbol from the file name, or None when it names no ticker."""
    tokens = stem_tokens(file)
    for t in tokens:
        if t.upper() in INDEX_ALIASES or t.upper().lstrip("^") in INDEX_ALIASES:
            return canonical_index(t)
    stem = re.sub(r"_[dwmq]$", "", re.sub(r"\.(csv|txt)$", "", PurePath(file).name, flags=re.I))
    stem = stem.replace("%5E", "^")
    if re.fullmatch(r"\^?[A-Za-z0-9.=]{1,12}", stem):
        return canonical_index(stem)
    return None


def _bars(f: pl.DataFrame, symbol: pl.Expr, has: set[str]) -> pl.DataFrame:
    """Checked frame -> rows of raw.index_bars (before flags)."""
    return f.filter(pl.col("reason").is_null()).select(
        symbol=symbol, date="d",
        **{c: (pl.col(f"n_{c}") if c in has else pl.lit(None, pl.Float64)) for c in _OHLC},
        volume=pl.col("n_volume") if "volume" in has else pl.lit(None, pl.Float64),
        line="line",
    ).with_columns(ohlc_checked())


def _checks(f: pl.DataFrame, has: set[str], nmin: int, ncols: int) -> pl.DataFrame:
    values = [c for c in (*_OHLC, "volume") if c in has]
    f = f.with_columns(**{c: pl.when(pl.col(c).is_in(_NULLS)).then(pl.lit("")).otherwise(pl.col(c))
                          for c in values})
    f = f.with_columns(
        d=pl.when(pl.col("date").str.contains(r"^\d{4}-\d{2}-\d{2}([ T].*)?$"))
        .then(pl.col("date").str.slice(0, 10).str.strptime(pl.Date, "%Y-%m-%d", strict=False)),
        **{f"n_{c}": number(c) for c in values},
    )
    allnull = pl.all_horizontal([pl.col(f"n_{c}").is_null() for c in values if c != "volume"])
    return f.with_columns(reason=pl.coalesce([
        field_count(ncols, at_least=nmin),
        bad_date("date", pl.col("d")),
        *[not_a_number(c, c) for c in values],
        pl.when(allnull).then(pl.lit("no prices on this row (null)")),
        pl.when(pl.col("n_close").is_null()).then(pl.lit("missing close")),
        pl.when(pl.col("n_close") <= 0).then(pl.format("close {} is not positive", "n_close")),
    ]))


def _flat_parser(kind: str):
    def parse(data: bytes, file: str = "<bytes>") -> Parsed:
        text = text_of(data, file)
        cols = _columns(text.split("\n", 1)[0])
        if cols[0] != "date" or "close" not in cols:
            raise SourceError(file, 1, "header names no Date and Close columns")
        has = set(cols)
        nmin = max(i for i, c in enumerate(cols) if c in (*_OHLC, "date")) + 1
        f = _checks(body_fields(text, 1, cols), has, nmin, len(cols))
        meta: dict = {"vendor": kind}
        if "ticker" in has:
            tickers = {t: canonical_index(t) for t in f["ticker"].drop_nulls().unique().to_list()}
            f = f.with_columns(reason=pl.coalesce(
                "reason", pl.when(pl.col("ticker").fill_null("") == "").then(pl.lit("missing ticker"))))
            symbol = pl.col("ticker").replace_strict(tickers, default=None, return_dtype=pl.String)
            meta["symbols"] = sorted(set(tickers.values()))
        else:
            name = symbol_from_name(file)
            if name is None:
                raise SourceError(file, 1, f"a {kind} CSV does not name its ticker: name the file "
                                  "after it (^GSPC.csv, spx_d.csv)")
            symbol = pl.lit(name)
            meta.update(symbols=[name], symbol_from="file name")
        rows = _bars(f, symbol, has)
        return finish(format=f"{kind}_csv", table=TABLE, file=file, checked=f, rows=rows,
                      keys=("symbol", "date"), partition_by=("symbol", "date"),
                      ends_clean=text.endswith("\n"), ncols=nmin, meta=meta)
    return parse


# -- yfinance >= 0.2.51: three header rows ---------------------------------------------------------
def sniff_yfinance(head: str) -> bool:
    lines = [ln.strip() for ln in head.lstrip("\ufeff").replace("\r", "").split("\n")[:3]]
    return (len(lines) == 3 and lines[0].lower().startswith("price,")
            and lines[1].lower().startswith("ticker,") and lines[2].lower().startswith("date"))


def parse_yfinance(data: bytes, file: str = "<bytes>") -> Parsed:
    text = text_of(data, file)
    head = head_lines(text, 3)
    if len(head) < 3 or not head[1].lower().startswith("ticker,"):
        raise SourceError(file, 2, "yfinance CSV without its 'Ticker,...' header row")
    fields = [_WORDS.get(h, "x") for h in header_names(head[0])]
    tickers = header_names(head[1], lower=False)
    if len(tickers) != len(fields):
        raise SourceError(file, 2, f"the Price row has {len(fields)} columns, the Ticker row {len(tickers)}")
    pairs = [(i, c, tickers[i]) for i, c in enumerate(fields) if i and c in (*_OHLC, "volume")]
    if not pairs:
        raise SourceError(file, 1, "yfinance header rows name no Open/High/Low/Close columns")
    for t in dict.fromkeys(tk for _, _, tk in pairs):
        if not any(c == "close" and tk == t for _, c, tk in pairs):
            raise SourceError(file, 1, f"the Price/Ticker header rows give {t or 'a ticker'} no Close column")
    names = ["date", *[f"c{i}" for i in range(1, len(fields))]]
    body = body_fields(text, 3, names)
    parts = []
    tickers_in_file = list(dict.fromkeys(tk for _, _, tk in pairs))
    for t in tickers_in_file:
        cols = {c: f"c{i}" for i, c, tk in pairs if tk == t}
        sub = body.select("raw", "line", "nfields", "date",
                          **{c: pl.col(src) for c, src in cols.items()})
        has = set(cols) | {"date"}
        f = _checks(sub, has, len(fields), len(fields))
        if len(tickers_in_file) > 1:  # say which ticker's columns were refused
            f = f.with_columns(reason=pl.when(pl.col("reason").is_not_null())
                               .then(pl.lit(f"{t}: ") + pl.col("reason")))
        parts.append((t, f, _bars(f, pl.lit(canonical_index(t)), has)))
    checked = pl.concat([f.select("raw", "line", "nfields", "reason") for _, f, _ in parts])
    checked = checked.group_by("line", maintain_order=True).agg(
        pl.col("raw").first(), pl.col("nfields").first(), pl.col("reason").drop_nulls().first())
    rows = pl.concat([r for _, _, r in parts])
    meta = {"vendor": "yfinance", "symbols": sorted({canonical_index(t) for t, _, _ in parts})}
    return finish(format="yfinance_csv", table=TABLE, file=file, checked=checked, rows=rows,
                  keys=("symbol", "date"), partition_by=("symbol", "date"),
                  ends_clean=text.endswith("\n"), ncols=len(fields), meta=meta)


FORMATS = [
    Format(name="yfinance_csv", source="index_ohlc", table=TABLE, sniff=sniff_yfinance,
           parse=parse_yfinance, description="yfinance >= 0.2.51 to_csv (Price/Ticker/Date header rows)"),
    Format(name="yahoo_fin_csv", source="index_ohlc", table=TABLE, sniff=_flat_sniffer("yahoo_fin"),
           parse=_flat_parser("yahoo_fin"), description="yahoo_fin get_data CSV (,open,...,ticker)"),
    Format(name="yahoo_csv", source="index_ohlc", table=TABLE, sniff=_flat_sniffer("yahoo"),
           parse=_flat_parser("yahoo"), description="Yahoo download (Date,Open,High,Low,Close,Adj Close,Volume)"),
    Format(name="stooq_csv", source="index_ohlc", table=TABLE, sniff=_flat_sniffer("stooq"),
           parse=_flat_parser("stooq"),
           description="Stooq daily CSV (Date,Open,High,Low,Close[,Volume]; Polish headers too)"),
]
