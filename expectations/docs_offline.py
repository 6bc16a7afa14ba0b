"""A plain-HTML list of validation pages on the Data Docs index, so the index reads offline.

Holds the index rewrite only; must not validate anything. GE's index table is filled by
bootstrap-table from CDNs: offline the page is blank. The list is hidden when that script loads.
"""

from __future__ import annotations

import html
from pathlib import Path

MARK = "alvh-offline-index"
ANCHOR = "<table\n  id=\"section-1-content-block-2-1-body-table\""


def offline_list(docs_dir: Path) -> str:
    """<div> with one row per validation page: night, suite, link (latest night first)."""
    rows = []
    for page in (docs_dir / "validations").glob("*/*/*/*.html"):
        suite, run = page.parts[-4], page.parts[-3]
        rows.append((run, suite, page.relative_to(docs_dir).as_posix()))
    rows.sort(key=lambda r: (r[0], r[1]), reverse=True)
    body = "".join(f'<tr><td>{html.escape(run)}</td><td><a href="{html.escape(href)}">'
                   f"{html.escape(suite)}</a></td></tr>" for run, suite, href in rows)
    return (f'<div id="{MARK}"><p>Validation results (this list needs no network; the sortable '
            f"table above it needs scripts from CDNs)</p><table class=\"table-sm\"><tr><th>run</th>"
            f"<th>suite</th></tr>{body}</table></div>\n"
            f"<script>if (window.jQuery && jQuery.fn && jQuery.fn.bootstrapTable) "
            f"{{document.getElementById('{MARK}').style.display = 'none';}}</script>\n")


def write_offline_index(docs_dir: Path) -> bool:
    """Put the list on docs_dir/index.html (replacing an earlier one); False when the page has
    no validation table to stand in for."""
    index = docs_dir / "index.html"
    if not index.exists():
        return False
    text = index.read_text(encoding="utf-8")
    start = text.find(f'<div id="{MARK}">')
    if start >= 0:  # GE rewrote only part of the page: drop the previous list and its script
        end = text.find("</script>\n", start) + len("</script>\n")
        text = text[:start] + text[end:]
    at = text.find(ANCHOR)
    if at < 0:
        return False
    index.write_text(text[:at] + offline_list(docs_dir) + text[at:], encoding="utf-8")
    return True
