"""The contract every vendor reader honours: bytes in, canonical rows + rejected rows out.

Readers never touch DuckDB or Prefect; they raise SourceError for a file they cannot trust.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

# A rejected input row: where it was, what it said, why it was refused.
REJECT_SCHEMA: dict[str, pl.DataType] = {
    "line": pl.Int64(),
    "raw": pl.String(),
    "reason": pl.String(),
}


class SourceError(Exception):
    """A file that cannot be trusted. str() is the one line users see: `file:line: reason`."""

    def __init__(self, file: str | Path, line: int | None, reason: str):
        self.file = str(file)
        self.line = line
        self.reason = reason
        super().__init__(self.one_line())

    def one_line(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.reason}"


@dataclass
class Parsed:
    """What a reader returns for one file.

    `rows` are in the canonical schema of `table` plus a `line` column (1-based file line);
    `rejects` hold input rows refused with a reason (REJECT_SCHEMA). `partition_by` names the
    columns whose value tuples this file replaces in the warehouse (`mode="merge"` instead updates
    just the columns the file carries, for one-column-per-file vendors). `fatal` is set when the
    file as a whole cannot be trusted (truncated, mostly garbage): its rows must not be loaded.
    """

    format: str
    table: str
    rows: pl.DataFrame
    rejects: pl.DataFrame
    partition_by: tuple[str, ...]
    meta: dict = field(default_factory=dict)
    fatal: SourceError | None = None
    mode: str = "replace"  # or "merge": update only this file's columns on existing keys
    # Refused rows that the vendor format produces by design (CFE all-zero placeholder rows,
    # Unicorn rows on exchange holidays): quarantined like any other, but they do not count
    # towards rejecting the file as mostly bad.
    expected_rejects: int = 0

    @property
    def rows_read(self) -> int:
        return self.rows.height + self.rejects.height


def rejects_frame(items: list[tuple[int, str, str]] | None = None) -> pl.DataFrame:
    items = items or []
    return pl.DataFrame(
        {
            "line": [i[0] for i in items],
            "raw": [i[1] for i in items],
            "reason": [i[2] for i in items],
        },
        schema=REJECT_SCHEMA,
    )


@dataclass(frozen=True)
class Format:
    """A vendor format: how to recognise it from the first bytes, and how to read it."""

    name: str  # e.g. "cboe_quotedata"
    source: str  # landing sub-folder, e.g. "cboe_chain"
    table: str  # canonical table, e.g. "raw.option_quotes"
    sniff: Callable[[str], bool]  # head text (first ~8 KiB, decoded) -> is it mine?
    parse: Callable[[bytes, str], Parsed]  # (data, file name for messages) -> Parsed
    description: str = ""


def decode_text(data: bytes, file: str) -> str:
    """UTF-8 (with or without BOM), falling back to cp1252 the way Excel-saved files need."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        if b"\x00" in data[:4096]:
            raise SourceError(file, None, "binary content (NUL bytes), not a text file") from None
        text = data.decode("cp1252", errors="replace")
    _refuse_control_bytes(text, file)
    return text


# C0 control characters other than tab, LF, CR (and a DOS end-of-file Ctrl-Z at the very end):
# vendor text never holds them; one means the bytes were damaged in transfer, so the file is refused.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x19\x1b-\x1f\x7f]|\x1a(?!\s*$)")


def _refuse_control_bytes(text: str, file: str) -> None:
    m = _CONTROL.search(text)
    if m:
        line = text.count("\n", 0, m.start()) + 1
        col = m.start() - (text.rfind("\n", 0, m.start()) + 1) + 1
        raise SourceError(file, line, f"control byte 0x{ord(m.group()):02x} at column {col}: not "
                          "vendor text (damaged in transfer?)")


def head_text(data: bytes, n: int = 8192) -> str:
    """A lenient decode of the first bytes, for sniffing only."""
    head = data[:n]
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:]
    return head.decode("utf-8", errors="replace")


def read_fields(body: str | bytes, names: list[str]) -> pl.DataFrame:
    """Split CSV text into string columns (quotes honoured), one output row per input line.

    Blank lines come back as all-null rows, so row i is line i of `body`; short lines are padded
    with nulls and long lines truncated (compare with `read_lines` to detect either).
    """
    if not body:
        return pl.DataFrame(schema={n: pl.String() for n in names})
    return pl.read_csv(
        body if isinstance(body, bytes) else io.StringIO(body),  # bytes: no second copy
        has_header=False,
        infer_schema=False,
        new_columns=names,
        truncate_ragged_lines=True,
        quote_char='"',
    ).select(names) if len(names) else pl.DataFrame()


def read_lines(body: str | bytes) -> pl.Series:
    """The raw text of each line of `body` (a blank line gives null), aligned with read_fields."""
    if not body:
        return pl.Series("raw", [], dtype=pl.String())
    return pl.read_csv(
        body if isinstance(body, bytes) else io.StringIO(body),  # bytes: no second copy
        has_header=False,
        infer_schema=False,
        separator="\x1f",
        quote_char=None,
        new_columns=["raw"],
    )["raw"]


def count_fields(raw: pl.Series) -> pl.Series:
    """Fields per raw CSV line, honouring double quotes (commas inside quotes do not count)."""
    n = raw.str.count_matches(",", literal=True) + 1
    quoted = raw.str.contains('"', literal=True).fill_null(False)
    if quoted.any():  # rare: only quoted lines pay for the regex
        idx = quoted.arg_true()
        fixed = raw.gather(idx).str.replace_all(r'"[^"]*"', "x").str.count_matches(",", literal=True) + 1
        n = n.scatter(idx, fixed)
    return n.fill_null(0)


def to_number(col: str, *, thousands: bool = True) -> pl.Expr:
    """A vendor number as Float64: strips spaces and thousands separators, maps U+2212 to '-'.

    An empty field gives null; a non-numeric field also gives null (use `bad_number` to find it).
    """
    e = pl.col(col).str.strip_chars().str.replace_all("\u2212", "-", literal=True)
    if thousands:
        e = e.str.replace_all(",", "", literal=True)
    return e.cast(pl.Float64, strict=False)


def bad_number(text_col: str, value: str | pl.Expr) -> pl.Expr:
    """True where the text field is not empty but its number (a column from `to_number`, or the
    expression itself) is not finite."""
    txt = pl.col(text_col).str.strip_chars()
    val = pl.col(value) if isinstance(value, str) else value
    return (txt.is_not_null() & (txt != "")) & (val.is_null() | val.is_nan() | val.is_infinite())
