"""The docs keep up with the code: DESIGN.md lists every warehouse table, README links every page.

Only file reading and regular expressions: no import of the project."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"


def ddl_tables() -> list[str]:
    sql = "\n".join(p.read_text() for p in sorted((REPO / "warehouse" / "ddl").glob("*.sql")))
    return re.findall(r"CREATE TABLE IF NOT EXISTS ([a-z_]+\.[a-z_]+)", sql, flags=re.IGNORECASE)


def test_design_lists_every_warehouse_table():
    tables = ddl_tables()
    assert len(tables) >= 20  # the regex still finds the DDL's tables
    design = (DOCS / "DESIGN.md").read_text()
    assert [t for t in tables if f"`{t}`" not in design] == []


def test_readme_links_every_docs_page():
    readme = (REPO / "README.md").read_text()
    linked = set(re.findall(r"\]\((docs/[^)#]+\.md)", readme))
    pages = {f"docs/{p.name}" for p in DOCS.glob("*.md")}
    assert sorted(pages - linked) == []
    assert sorted(linked - pages) == []  # no link to a page that does not exist


def test_cited_docs_pages_exist():
    cited = set()
    packages = ("flows", "sources", "transforms", "expectations", "warehouse", "reports", "bench")
    for path in [REPO / "pyproject.toml", *(p for d in packages for p in (REPO / d).rglob("*.py"))]:
        cited |= set(re.findall(r"docs/[A-Za-z-]+\.md", path.read_text()))
    assert cited and sorted(c for c in cited if not (REPO / c).exists()) == []
