"""What the user sees on the terminal: one-line messages and progress bars (rich when interactive).

No business logic; flows and the CLI call these instead of print().
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

from rich.console import Console

T = TypeVar("T")

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def info(msg: str) -> None:
    out.print(msg, markup=False)


def warn(msg: str) -> None:
    err.print(f"warning: {msg}", style="yellow", markup=False)


def error(msg: str) -> None:
    err.print(f"error: {msg}", style="bold red", markup=False)


def progress(items: Iterable[T], description: str, total: int | None = None) -> Iterator[T]:
    """Iterate with a progress bar on a terminal; on a pipe, a line every ~10 %."""
    items = list(items) if total is None else items
    total = len(items) if total is None else total  # type: ignore[arg-type]
    if not total:
        return
    if err.is_terminal:
        from rich import progress as rp  # ~0.1 s to import: only a terminal draws a bar

        with rp.Progress(rp.TextColumn("{task.description}"), rp.BarColumn(), rp.MofNCompleteColumn(),
                         rp.TimeElapsedColumn(), console=err, transient=False) as bar:
            task = bar.add_task(description, total=total)
            for item in items:
                yield item
                bar.advance(task)
        return
    step = max(1, total // 10)
    for i, item in enumerate(items, 1):
        yield item
        if i % step == 0 or i == total:
            print(f"{description}: {i}/{total}", file=sys.stderr, flush=True)
