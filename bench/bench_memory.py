"""Memory benchmark: peak RSS of `alvh ingest FILE` on one large CBOE quotedata chain, in a fresh
process with its own ALVH_HOME (the issue's bound: any single input file under 1 GB peak RSS).

    .venv/bin/python bench/bench_memory.py            # ~1 M duplicate rows (163 MB) and a 1 M-contract chain
    .venv/bin/python bench/bench_memory.py --rows 300000 --skip-valid
    .venv/bin/python bench/bench_memory.py --parse-only   # the reader alone (sources/cboe_chain.py)

Files are generated in a temp dir from a sample night's SPX chain: `dups` repeats its body lines
to ~1 M rows (every contract ~190 times: the vendor's runaway export), `valid` writes ~1 M distinct
contracts (expiries x strikes rewritten into the template line). Peak RSS is the child's
ru_maxrss (getrusage of the waited child), printed in MB with the file's one-line outcome.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sources.sample.drop import write_drop  # noqa: E402
from sources.sample.market import SampleMarket  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DAY = date(2025, 6, 2)


def template(tmp: Path) -> tuple[list[str], list[str]]:
    """(preamble + header lines, body lines) of a sample night's SPX chain."""
    paths = write_drop(SampleMarket(7), DAY, tmp / "drop", sources=None)
    chain = next(p for p in paths if p.name == "spx_quotedata.csv")
    lines = chain.read_text().splitlines()
    at = next(i for i, ln in enumerate(lines) if ln.startswith("Expiration Date,"))
    return lines[: at + 1], [ln for ln in lines[at + 1:] if ln.strip()]


def write_dups(path: Path, head: list[str], body: list[str], rows: int) -> None:
    with path.open("w") as f:
        f.write("\n".join(head) + "\n")
        n = 0
        while n < rows:
            chunk = body[: rows - n]
            f.write("\n".join(chunk) + "\n")
            n += len(chunk)


def write_valid(path: Path, head: list[str], body: list[str], rows: int) -> None:
    """Distinct contracts: one template line per (expiry, strike), symbols rewritten to match."""
    tpl = body[len(body) // 2].split(",")
    n_exp = 1000
    n_strike = -(-rows // n_exp)
    with path.open("w") as f:
        f.write("\n".join(head) + "\n")
        n = 0
        for e in range(n_exp):
            exp = DAY + timedelta(days=e + 1)
            ymd = exp.strftime("%y%m%d")
            out = []
            for s in range(n_strike):
                if n >= rows:
                    break
                k = 1000 + 5 * s
                t = list(tpl)
                t[0] = exp.strftime("%a %b %d %Y")
                t[1] = f"SPXW{ymd}C{k * 1000:08d}"
                t[11] = f"{k}.00"
                t[12] = f"SPXW{ymd}P{k * 1000:08d}"
                out.append(",".join(t))
                n += 1
            f.write("\n".join(out) + "\n")


def measure(path: Path, home: Path) -> tuple[float, float, str]:
    """(peak RSS in MB, seconds, the last output line) of `alvh ingest path` in a fresh process."""
    code = ("import resource, subprocess, sys; "
            "p = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); "
            "print((p.stdout + p.stderr).strip().splitlines()[-1] if (p.stdout + p.stderr).strip() else '')")
    env = {**os.environ, "ALVH_HOME": str(home), "PREFECT_LOGGING_LEVEL": "WARNING"}
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code, str(ROOT / ".venv/bin/alvh"), "ingest",
                          str(path), "--home", str(home)],
                         capture_output=True, text=True, env=env, cwd=ROOT, check=True).stdout.splitlines()
    return int(out[0]) / 1024, time.perf_counter() - t0, (out[1] if len(out) > 1 else "")[:200]


def measure_parse(path: Path) -> tuple[float, float, str]:
    """(peak RSS in MB, seconds, rows/rejects) of the chain reader alone on `path`, in a fresh process."""
    code = ("import resource, sys; from sources.cboe_chain import parse; "
            "p = parse(open(sys.argv[1], 'rb').read(), sys.argv[1]); "
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss); "
            "print(f'{p.rows.height:,} rows, {p.rejects.height:,} rejects')")
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True,
                         cwd=ROOT, check=True).stdout.splitlines()
    return int(out[0]) / 1024, time.perf_counter() - t0, out[1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--skip-valid", action="store_true")
    ap.add_argument("--parse-only", action="store_true", help="time the chain reader alone")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as td:
        tmp = Path(td)
        head, body = template(tmp)
        files = {"dups": tmp / "dups" / "spx_quotedata.csv", "valid": tmp / "valid" / "spx_quotedata.csv"}
        for p in files.values():
            p.parent.mkdir()
        write_dups(files["dups"], head, body, a.rows)
        if not a.skip_valid:
            write_valid(files["valid"], head, body, a.rows)
        else:
            del files["valid"]
        what = "the chain reader alone" if a.parse_only else "`alvh ingest FILE`"
        print(f"memory bench: {what}, one fresh process and ALVH_HOME per file; "
              f"bound 1024 MB ({resource.getpagesize()} B pages)")
        for kind, p in files.items():
            mb, s, line = measure_parse(p) if a.parse_only else measure(p, tmp / f"home_{kind}")
            size = p.stat().st_size / 1e6
            print(f"  {kind:<6} {a.rows:>9,} rows {size:7.1f} MB file: peak RSS {mb:7.0f} MB, {s:5.1f} s"
                  f"  {'OK' if mb < 1024 else 'OVER 1 GB'}")
            print(f"         {line}")


if __name__ == "__main__":
    main()
