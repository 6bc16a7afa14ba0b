"""The layering rules of docs/DESIGN.md, checked on the source: no import cycle between package
modules, DuckDB only behind warehouse/, no SQL in flows/, core writes only through flows/gate.py.

Static (AST) checks of the repository's files: no import, no warehouse, a fraction of a second.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("flows", "warehouse", "expectations", "transforms", "sources", "reports")
# SQL in a string: a statement's shape, or a parameter placeholder in a condition
SQL = re.compile(r"(?is)\bselect\b.+\bfrom\b|\binsert\s+(or\s+replace\s+)?into\b|\bdelete\s+from\b|"
                 r"\bupdate\s+[a-z_.]+\s+set\b|\b(create|alter|drop)\s+table\b|\bunnest\s*\(|"
                 r"(=|<|>|\bin)\s*\(?\s*\?|\bis\s+not\s+distinct\s+from\b")
# Warehouse methods that take SQL or write a table (flows/ calls none but through flows/gate.py)
SQL_METHODS = {"sql", "one", "scalar", "execute", "delete"}
WRITE_METHODS = {"write", "append", "replace", "replace_dates", "replace_through", "replace_all",
                 "delete_partitions"}


def _files(*dirs: str) -> list[Path]:
    return sorted(f for d in dirs for f in (ROOT / d).rglob("*.py") if "__pycache__" not in f.parts)


def _module(f: Path) -> str:
    parts = f.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """module -> the package modules it imports, at the top or inside a function (either runs)."""
    mods = {_module(f): f for f in _files(*PACKAGES)}

    def resolve(name: str) -> str | None:
        while name and name not in mods:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {}
    for name, f in mods.items():
        deps: set[str | None] = set()
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                deps.update(resolve(a.name) for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                deps.update(resolve(f"{node.module}.{a.name}") for a in node.names)
        graph[name] = {d for d in deps if d and d != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            v, it = work[-1]
            w = next(it, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = len(index)
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(graph.get(w, ())))))
                elif w in on_stack:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    out.append(sorted(comp))
    return out


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle_between_package_modules():
    graph = import_graph()
    assert "flows.build" in graph and "expectations.contracts" in graph  # the walk saw the packages
    assert cycles(graph) == []


def test_nothing_imports_flows():
    graph = import_graph()
    bad = sorted((m, d) for m, deps in graph.items() if not m.startswith("flows")
                 for d in deps if d.startswith("flows"))
    assert bad == []


def _outside_warehouse() -> list[Path]:
    return [f for f in _files(*PACKAGES, "tests", "bench")
            if f.relative_to(ROOT).parts[0] != "warehouse"
            and f.relative_to(ROOT).parts[:2] != ("tests", "warehouse")]  # the door's own tests


@pytest.mark.parametrize("path", _outside_warehouse(), ids=lambda p: str(p.relative_to(ROOT)))
def test_only_warehouse_touches_duckdb(path: Path):
    bad = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import) and any(a.name.split(".")[0] == "duckdb" for a in node.names):
            bad.append(f"{node.lineno}: import duckdb")
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "duckdb":
            bad.append(f"{node.lineno}: from duckdb import")
        elif isinstance(node, ast.Attribute) and node.attr in ("con", "_con"):
            bad.append(f"{node.lineno}: .{node.attr}")
    assert bad == []


def _strings(tree: ast.AST) -> list[tuple[int, str]]:
    """Every string constant, f-strings joined (their fields as `{}`)."""
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            out.append((node.lineno, "".join(v.value if isinstance(v, ast.Constant) else "{}"
                                             for v in node.values)))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            out.append((node.lineno, node.value))
    return out


def test_the_sql_pattern_sees_sql_and_not_prose():
    assert SQL.search("select * from raw.index_bars where date <= ?")
    assert SQL.search('"{}" in (select unnest(?::date[]))')
    assert SQL.search("preset = ? and date <= ?")
    assert SQL.search("delete from audit.quarantine")
    assert not SQL.search("Land any mix of vendor files and folders, print one line per file.")
    assert not SQL.search("no XNYS session between {} and {}")


@pytest.mark.parametrize("path", _files("flows"), ids=lambda p: str(p.relative_to(ROOT)))
def test_flows_hold_no_sql_and_write_only_through_the_gate(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    bad = [f"{line}: SQL {text[:60]!r}" for line, text in _strings(tree) if SQL.search(text)]
    gate = path.name == "gate.py"
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        owner = node.func.value
        is_wh = (isinstance(owner, ast.Name) and owner.id == "wh") or (
            isinstance(owner, ast.Attribute) and owner.attr == "wh")
        name = node.func.attr
        if is_wh and (name in SQL_METHODS or (name == "table" and len(node.args) + len(node.keywords) > 1)):
            bad.append(f"{node.lineno}: wh.{name}(...) takes SQL: add a named read to warehouse/")
        if is_wh and name in WRITE_METHODS and not gate:
            bad.append(f"{node.lineno}: wh.{name}(...) writes around the contract gate (flows/gate.py)")
    assert bad == []
