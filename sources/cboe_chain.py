"""Reader for CBOE delayed-quotes `quotedata.csv` exports (SPX, SPXW, SPY, VIX, VIXW ... chains).

Turns one export into raw.option_quotes rows (one per contract); never touches the warehouse.

Layout (see ../shared/realdata/README.md for the real files):
    <blank line, optional>
    Standard & Poors 500 Index,Last: 4500.5298,Change:  23.0898
    "Date: February 5 2022, 8:09 PM EST",Bid: 4420.5,Ask: 4615.4302,Size: 1*1,Volume: 0
    Expiration Date,Calls,Last Sale,Net,Bid,Ask,Volume,IV,Delta,Gamma,Open Interest,Strike,Puts,...
    Mon Feb 07 2022,SPXW220207C02400000,0,0,2087.8,2102.6,0,4.285,0.9999,0,0,2400.00,SPXW...
"""

from __future__ import annotations

import csv
import re

import polars as pl

from sources.base import (
    Format,
    Parsed,
    SourceError,
    bad_number,
    count_fields,
    decode_text,
    read_fields,
    read_lines,
    rejects_frame,
    to_number,
)
from sources.calendar import session_of_snapshot
from sources.dates import new_york_date, parse_vendor_datetime

FORMAT_NAME = "cboe_quotedata"
TABLE = "raw.option_quotes"

# Canonical raw.option_quotes columns produced here (lineage file_id/batch_id is added at ingest).
COLUMNS: dict[str, pl.DataType] = {
    "quote_date": pl.Date(),
    "root": pl.String(),
    "expiry": pl.Date(),
    "strike": pl.Float64(),
    "right": pl.String(),
    "underlying": pl.String(),
    "option_symbol": pl.String(),
    "quote_ts": pl.Datetime("us"),
    "spot": pl.Float64(),
    "bid": pl.Float64(),
    "ask": pl.Float64(),
    "last": pl.Float64(),
    "volume": pl.Int64(),
    "open_interest": pl.Int64(),
    "iv": pl.Float64(),
    "delta": pl.Float64(),
    "gamma": pl.Float64(),
    "expired": pl.Boolean(),
    "line": pl.Int64(),
}

# Option roots that trade on another symbol's underlying (weeklies, PM-settled, minis).
ROOT_UNDERLYING = {
    "SPX": "SPX", "SPXW": "SPX", "SPXPM": "SPX", "XSP": "XSP",
    "NDX": "NDX", "NDXP": "NDX", "RUT": "RUT", "RUTW": "RUT",
    "VIX": "VIX", "VIXW": "VIX", "DJX": "DJX", "OEX": "OEX", "XEO": "OEX",
}

# Per-side vendor columns in header order after `Calls` / `Puts`, mapped to canonical names.
_SIDE = {"Last Sale": "last", "Bid": "bid", "Ask": "ask", "Volume": "volume", "IV": "iv",
         "Delta": "delta", "Gamma": "gamma", "Open Interest": "open_interest"}
_REQUIRED_SIDE = ("bid", "ask", "open_interest")
_SYMBOL = r"^([A-Z]{1,6})(\d{6})([CP])(\d{8})$"
_HEADER_SCAN = 30
_CHUNK_LINES = 200_000  # distinct lines parsed at once (a real SPX chain has ~20,000)
_DATE_LINE = re.compile(r'Date:\s*(.*?)"?\s*(?:,\s*(?:Bid|Ask|Size|Volume):|,*\s*$)')


def sniff(head: str) -> bool:
    return bool(re.search(r"^Expiration Date,Calls,", head, re.M)) and "Last:" in head


def _split(line: str) -> list[str]:
    return next(csv.reader([line]), [])


def _preamble(lines: list[str], file: str) -> tuple[int, str, float, object, int]:
    """Locate the header (by content) and read the name/spot and date lines above it."""
    header_at = next(
        (i for i, ln in enumerate(lines[:_HEADER_SCAN])
         if ln.lstrip('"').startswith("Expiration Date") and "Strike" in ln),
        None,
    )
    if header_at is None:
        raise SourceError(file, None, "no option-chain header ('Expiration Date,Calls,...,Strike,"
                          f"Puts,...') in the first {_HEADER_SCAN} lines: not a CBOE quotedata file")
    name, spot, ts, ts_line = None, None, None, header_at
    for i, ln in enumerate(lines[:header_at]):
        fields = [f.strip() for f in _split(ln)]
        for f in fields:
            if f.startswith("Last:") and spot is None:
                txt = f[5:].strip().replace(",", "").replace("\u2212", "-")
                try:
                    spot = float(txt)
                except ValueError:
                    raise SourceError(file, i + 1, f"spot {txt!r} on the 'Last:' line is not a number") from None
                name = fields[0]
            if f.startswith("Date:") and ts is None:
                # Unquoted date lines split at their own commas: read up to the next `Bid:` field.
                m = _DATE_LINE.search(ln)
                ts_line = i + 1
                try:
                    ts = parse_vendor_datetime(m.group(1) if m else f)
                except ValueError as e:
                    raise SourceError(file, i + 1, f"unreadable quote date: {e}") from None
    if spot is None:
        raise SourceError(file, header_at + 1, "no 'Last: <spot>' line above the header")
    if not spot > 0:
        raise SourceError(file, header_at + 1, f"spot on the 'Last:' line is {spot}, not positive")
    if ts is None:
        raise SourceError(file, header_at + 1, "no 'Date: ...' line above the header")
    return header_at, name or "", spot, ts, ts_line


def _columns(header: list[str], file: str, line: int) -> tuple[dict[str, int], dict[str, int]]:
    """Positions of each side's fields, found by name between Calls/Strike and Puts/end."""
    h = [c.strip() for c in header]
    try:
        i_calls, i_strike, i_puts = h.index("Calls"), h.index("Strike"), h.index("Puts")
    except ValueError:
        raise SourceError(file, line, "header lacks one of the columns Calls, Strike, Puts") from None
    call = {_SIDE[c]: i for i, c in enumerate(h[i_calls + 1: i_strike], i_calls + 1) if c in _SIDE}
    put = {_SIDE[c]: i for i, c in enumerate(h[i_puts + 1:], i_puts + 1) if c in _SIDE}
    for side, cols in (("call", call), ("put", put)):
        missing = [c for c in _REQUIRED_SIDE if c not in cols]
        if missing:
            raise SourceError(file, line, f"header has no {side} column(s) {', '.join(missing)}")
    call.update(expiry=h.index("Expiration Date") if "Expiration Date" in h else 0,
                symbol=i_calls, strike=i_strike)
    put.update(symbol=i_puts)
    return call, put


def _split_head(text: str) -> tuple[list[str], int]:
    """The first lines (up to the header scan) and the offset in `text` where line i starts, for
    each of them: the body is sliced, never split into a million Python strings."""
    lines, starts, pos = [], [], 0
    for _ in range(_HEADER_SCAN + 1):
        if pos >= len(text):
            break
        end = text.find("\n", pos)
        end = len(text) if end < 0 else end
        starts.append(pos)
        lines.append(text[pos:end])
        pos = end + 1
    return lines, starts


def _own(frame: pl.DataFrame) -> pl.DataFrame:
    """A copy of `frame` with buffers of its own (a slice or filter of a frame shares the whole
    frame's string buffers, which then stay alive as long as any slice does)."""
    return pl.from_arrow(frame.to_arrow(compat_level=pl.CompatLevel.oldest()))  # type: ignore[return-value]


def parse(data: bytes, file: str = "<bytes>") -> Parsed:
    text = decode_text(data, file).replace("\r\n", "\n")
    if "\n" not in text and "\r" in text:
        text = text.replace("\r", "\n")
    ends_clean = text.endswith("\n")
    head, starts = _split_head(text)
    header_at, name, spot, ts, date_line = _preamble(head, file)
    header = _split(head[header_at])
    call, put = _columns(header, file, header_at + 1)
    ncols = len(header)
    first_line = header_at + 2  # 1-based number of the first body line

    # Bounded memory: the body as bytes once (the text is dropped), then each distinct line parsed
    # once. A vendor's runaway export repeats its lines a million times (134 MB): the repeats are
    # refused below with the reason their first copy got, without 22 string columns each.
    body_start = starts[header_at + 1] if header_at + 1 < len(starts) else len(text)
    body_end = len(text) - 1 if ends_clean else len(text)
    if data.isascii() and b"\r" not in data:  # the text is the bytes: slice them, drop the text
        del text
        body_b = data[body_start:body_end]
    else:
        body = text[body_start:body_end]
        del text
        body_b = body.encode("utf-8")
        del body
    names = [f"c{i}" for i in range(ncols)]
    raw = read_lines(body_b)
    del body_b
    lines_all = pl.DataFrame({"raw": raw}).with_columns(
        line=pl.int_range(first_line, first_line + raw.len(), dtype=pl.Int64))
    del raw
    # A repeated line (same text) is judged by its first copy; only first copies are parsed.
    lines_all = lines_all.with_columns(
        same_as=pl.col("line").first().over("raw"),
        data=pl.col("raw").str.strip_chars(", \t").fill_null("") != "")
    n_data = int(lines_all["data"].sum())
    last_data_line = lines_all.filter("data")["line"].max()
    repeats = lines_all.filter(pl.col("data") & (pl.col("line") != pl.col("same_as")))
    snapshot_date = new_york_date(ts)
    try:
        quote_date = session_of_snapshot(ts)
    except ValueError as e:  # a date beyond (or before) the XNYS calendar: not a real snapshot
        raise SourceError(file, date_line, f"quote date {snapshot_date}: {e}") from None
    quote_ts = ts.replace(tzinfo=None)

    def c(i: int) -> str:
        return f"c{i}"

    # Every number is parsed once into n_<side>_<field>; the text stays for error messages.
    numeric = {"strike": call["strike"]}
    for side_name, cols in (("call", call), ("put", put)):
        numeric.update({f"{side_name}_{k}": i for k, i in cols.items() if k in _SIDE.values()})
    exp_col, csym, psym = c(call["expiry"]), c(call["symbol"]), c(put["symbol"])

    def label(k: str) -> str:
        return "Strike" if k == "strike" else f"{header[numeric[k]].strip()} ({k.split('_')[0]}s)"

    checks: list[pl.Expr] = [
        pl.when(pl.col("nfields") < ncols)
        .then(pl.format("truncated row: {} of {} fields", pl.col("nfields"), pl.lit(ncols))),
        pl.when(pl.col("expiry").is_null())
        .then(pl.format("bad expiration date {}", pl.col(exp_col).fill_null("(empty)"))),
        pl.when(pl.col("root").is_null())
        .then(pl.format("bad call symbol {}", pl.col(csym).fill_null("(empty)"))),
        pl.when(pl.col("put_root").is_null())
        .then(pl.format("bad put symbol {}", pl.col(psym).fill_null("(empty)"))),
        *[pl.when(bad_number(c(i), f"n_{k}"))
          .then(pl.format("{}: {} is not a number", pl.lit(label(k)), pl.col(c(i))))
          for k, i in numeric.items()],
        pl.when(pl.col("strike").is_null()).then(pl.lit("missing strike")),
        pl.when(pl.col("root") != pl.col("put_root"))
        .then(pl.format("call root {} differs from put root {}", "root", "put_root")),
        pl.when((pl.col("call_right") != "C") | (pl.col("put_right") != "P"))
        .then(pl.lit("call/put symbols are swapped")),
        pl.when((pl.col("sym_strike") - pl.col("strike")).abs() > 1e-6)
        .then(pl.format("strike {} does not match symbol strike {}", "strike", "sym_strike")),
        # OSI symbols carry the expiry (YYMMDD); pre-2015 monthlies used the Saturday after.
        pl.when(~((pl.col("sym_expiry") - pl.col("expiry")).dt.total_days().is_between(0, 1)))
        .then(pl.format("expiration date {} does not match the symbol's date {}",
                        pl.col(exp_col), pl.col("sym_c").struct.field("2"))),
    ]
    key = ["root", "expiry", "strike", "right"]
    consts = {"quote_date": pl.lit(quote_date), "quote_ts": pl.lit(quote_ts, dtype=pl.Datetime("us")),
              "spot": pl.lit(spot)}

    def side(good: pl.LazyFrame, cols: dict[str, int], right: str) -> pl.LazyFrame:
        prefix = "call" if right == "C" else "put"
        pick = {k: pl.col(f"n_{prefix}_{k}") for k in cols if k in _SIDE.values()}
        return good.select(
            "root", "expiry", "strike", right=pl.lit(right),
            option_symbol=pl.col(c(cols["symbol"])).str.strip_chars(),
            **{k: pick.get(k, pl.lit(None, pl.Float64)) for k in
               ("bid", "ask", "last", "volume", "open_interest", "iv", "delta", "gamma")},
            line="line")

    def lines_frame(u: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
        """One chunk of distinct lines read into fields, parsed and judged: (its typed rows, a call
        and a put per good line in (line, right) order, with no text but the symbol; its bad
        lines with text and reason). The chunk's text columns are dropped before the next chunk
        is read, so a huge chain costs its typed rows plus one chunk of text."""
        # Blank lines (null raw) stay in place: read_fields returns a row for each, aligned with `u`.
        ubody = u["raw"].fill_null("").str.join("\n")[0] if u.height else ""
        f = read_fields(ubody.encode("utf-8") if ubody else b"", names).with_columns(
            raw=u["raw"],
            nfields=count_fields(u["raw"]),
            line=u["line"],
        )
        del ubody
        # Blank lines and lines of bare commas are layout, not data.
        f = f.filter(pl.col("raw").str.strip_chars(", \t") != "")
        # One quote date and one spot per file: a second preamble below the header is a second chain
        # (two exports concatenated), whose rows would be stored under the first one's spot and date.
        again = f.filter(pl.col("raw").str.contains(r'^"?(?:Expiration Date,|Date:)|,\s*Last:\s*[0-9]'))
        if again.height:
            raise SourceError(file, int(again["line"][0]), "a second chain starts here (header, 'Last:' "
                              "or 'Date:' line inside the file): one quote date and one spot per file")

        lf = f.lazy().with_columns(
            **{f"n_{k}": to_number(c(i)) for k, i in numeric.items()},
            expiry=pl.col(exp_col).str.strptime(pl.Date, "%a %b %d %Y", strict=False),
            sym_c=pl.col(csym).str.strip_chars().str.extract_groups(_SYMBOL),
            sym_p=pl.col(psym).str.strip_chars().str.extract_groups(_SYMBOL),
        ).with_columns(
            root=pl.col("sym_c").struct.field("1"),
            put_root=pl.col("sym_p").struct.field("1"),
            call_right=pl.col("sym_c").struct.field("3"),
            put_right=pl.col("sym_p").struct.field("3"),
            sym_strike=pl.col("sym_c").struct.field("4").cast(pl.Float64, strict=False) / 1000.0,
            sym_expiry=pl.col("sym_c").struct.field("2").str.strptime(pl.Date, "%y%m%d", strict=False),
            strike=pl.col("n_strike"),
        ).with_columns(reason=pl.coalesce(checks)).collect().lazy()
        bad = lf.filter(pl.col("reason").is_not_null()).select("line", "raw", "nfields", "reason")
        good = lf.filter(pl.col("reason").is_null())
        rows = pl.concat([side(good, call, "C"), side(good, put, "P")]).sort("line", "right").with_columns(
            underlying=pl.col("root").replace_strict(ROOT_UNDERLYING, default=pl.col("root")),
            volume=pl.col("volume").round().cast(pl.Int64),
            open_interest=pl.col("open_interest").round().cast(pl.Int64),
            expired=pl.col("expiry") < pl.lit(snapshot_date), **consts,
        ).select(list(COLUMNS)).cast(COLUMNS)
        return tuple(pl.collect_all([rows, bad]))  # type: ignore[return-value]

    # Chunks of the file's lines in order (a chunk reads its first copies only).
    # The file's lines as chunks with buffers of their own (an Arrow round trip copies them), so
    # each chunk's text is freed once parsed: a huge chain costs its typed rows plus one chunk of
    # text, and the text of the lines a later duplicate contract may point back to.
    # Only first copies are parsed; the repeats keep sharing the text when they are most of it.
    first_copy = ~pl.col("data") | (pl.col("line") == pl.col("same_as"))
    chunks = [_own(lines_all.slice(lo, _CHUNK_LINES).filter(first_copy).select("raw", "line"))
              for lo in range(0, max(lines_all.height, 1), _CHUNK_LINES)]
    if 2 * repeats.height < lines_all.height:
        repeats = _own(repeats)
    del lines_all
    parts, hashes, kept = [], [], []
    for i in range(len(chunks)):
        u = chunks[i]
        chunks[i] = None
        parts.append(lines_frame(u))
        h = parts[-1][0].select(pl.struct(key).hash()).to_series()
        maybe = ~h.is_first_distinct()
        if hashes:
            maybe = maybe | h.is_in(pl.concat(hashes).implode())
        if maybe.any():
            lines = parts[-1][0].filter(maybe).select("line").unique()
            kept.append(u.select("line", "raw").join(lines, on="line", how="semi"))
        hashes.append(h)
        del u
    rows = pl.concat([p[0] for p in parts], how="vertical", rechunk=False)
    bad = pl.concat([p[1] for p in parts], how="vertical")
    key_hash = pl.concat(hashes)
    del parts, hashes

    # One row per contract: a repeated contract keeps its first line; later copies are refused.
    # (Rows are in (line, right) order: the first of a contract is its first line.) A 64-bit hash
    # of the key finds the candidates without a table of every key; the keys themselves decide.
    again_h = key_hash.filter(~key_hash.is_first_distinct()).unique()
    all_first = again_h.is_empty()
    first = pl.Series("first", [], dtype=pl.Boolean)  # (all True when all_first)
    if not all_first:
        cand = rows.with_row_index("__i").filter(key_hash.is_in(again_h.implode()))
        not_first = cand.filter(~pl.struct(key).is_first_distinct())["__i"]
        first = pl.Series("first", [True], dtype=pl.Boolean).extend_constant(True, rows.height - 1
                                                                               ).scatter(not_first, False)
    del key_hash

    def first_line_of(frame: pl.DataFrame) -> pl.DataFrame:
        """`frame` with first_line: the line its contract was first seen on."""
        firsts = (rows if all_first else rows.filter(first)).join(frame.select(key).unique(), on=key,
                                                                   how="semi")
        return frame.join(firsts.select(*key, first_line="line"), on=key, how="left").sort("line", "right")

    dups = pl.DataFrame(schema={"line": pl.Int64, "option_symbol": pl.String, "right": pl.String,
                                "first_line": pl.Int64})
    if not all_first:
        dups = first_line_of(rows.filter(~first).select(*key, "line", "option_symbol"))

    def dup_reason() -> pl.Expr:
        return pl.format("duplicate contract ({} {}): first seen on line {}", "option_symbol", "right",
                         "first_line")

    # Repeated lines: the reason of their first copy (bad), else a duplicate of its contract.
    if repeats.height:
        seen_c = rows.filter((pl.col("right") == "C") & pl.col("line").is_in(repeats["same_as"].unique().implode()))
        first_seen = pl.concat([
            bad.select("line", reason="reason"),
            first_line_of(seen_c.select(*key, "line", "option_symbol")).select("line", reason=dup_reason()),
        ]).unique("line", keep="first")
        rep = repeats.join(first_seen, left_on="same_as", right_on="line", how="left")
        rep_rejects = rep.select("line", "raw", reason=pl.col("reason").fill_null(
            pl.format("duplicate of line {}", "same_as")))
    else:
        rep_rejects = pl.DataFrame(schema={"line": pl.Int64, "raw": pl.String, "reason": pl.String})
    del repeats
    # The text of a duplicate contract's line, from the file's lines (only for those lines).
    dup_lines = dups.select("line", reason=dup_reason()).unique("line", keep="first")
    kept_raw = pl.concat(kept) if kept else pl.DataFrame(schema={"line": pl.Int64, "raw": pl.String})
    dup_rejects = dup_lines.join(kept_raw, on="line", how="left").select("line", "raw", "reason")
    del kept, kept_raw
    rejects = pl.concat([
        rep_rejects,
        bad.select("line", "raw", "reason"),
        dup_rejects,
    ]).sort("line")
    rejects = rejects.cast(rejects_frame().schema)
    if not all_first:
        rows = rows.filter(first)
    good_lines = rows.height  # at least one row when any line parsed

    fatal = None
    if not ends_clean and bad.height and bad["line"].max() == last_data_line:
        last = bad.row(bad.height - 1, named=True)
        if last["nfields"] < ncols:
            fatal = SourceError(file, last["line"], f"file is truncated: the last row has "
                                f"{last['nfields']} of {ncols} fields")
    if good_lines == 0 and fatal is None:
        where = first_line if bad.height == 0 else int(bad["line"][0])
        why = "no option rows below the header" if bad.height == 0 else (
            f"none of {bad.height} option rows is readable, e.g. {bad['reason'][0]}")
        fatal = SourceError(file, where, why)

    return Parsed(
        format=FORMAT_NAME,
        table=TABLE,
        rows=rows,
        rejects=rejects,
        partition_by=("quote_date", "root"),
        meta={
            "name": name,
            "spot": spot,
            "quote_ts": quote_ts,
            "snapshot_date": snapshot_date,
            "quote_date": quote_date,
            "data_lines": n_data,
            "underlyings": sorted(rows["underlying"].unique().to_list()),
        },
        fatal=fatal,
    )


FORMAT = Format(
    name=FORMAT_NAME,
    source="cboe_chain",
    table=TABLE,
    sniff=sniff,
    parse=parse,
    description="CBOE delayed quotes option chain export (quotedata.csv)",
)
