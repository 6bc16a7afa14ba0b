"""Prefect's `flow`/`task` decorators, loaded only when a Prefect run needs them.

Holds the lazy wrappers; must not import Prefect at module level (importing it costs ~1.5 s, more
than the whole work of `alvh ingest` or `alvh status`).

A task called inside a running Prefect flow is the real Prefect task (tracked, retried, timed out
as before); called anywhere else (the ad-hoc commands) it is the plain function. A flow called
is the real Prefect flow (a server: `alvh nightly`, `backfill`, `serve`); `.fn(...)` runs its body
directly, which is how the ad-hoc commands run it. Everything else (`submit`, `map`,
`with_options`, `to_deployment`) is Prefect's own, loaded on first use.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any

NO_CACHE = "prefect.cache_policies.NO_CACHE"  # stands for Prefect's NO_CACHE until it is loaded


def flow_running() -> bool:
    """True inside a Prefect flow run (never imports Prefect to find out)."""
    ctx = sys.modules.get("prefect.context")
    return ctx is not None and ctx.FlowRunContext.get() is not None


def _prefect_options(opts: dict) -> dict:
    if opts.get("cache_policy") == NO_CACHE:
        from prefect.cache_policies import NO_CACHE as real_no_cache

        opts = {**opts, "cache_policy": real_no_cache}
    return opts


class _Lazy:
    kind = ""

    def __init__(self, fn: Callable, opts: dict) -> None:
        functools.update_wrapper(self, fn)
        self.fn = fn
        self._opts = opts
        self._real: Any = None

    @property
    def real(self) -> Any:
        if self._real is None:
            import prefect

            self._real = getattr(prefect, self.kind)(**_prefect_options(self._opts))(self.fn)
        return self._real

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name in ("fn", "_opts", "_real"):
            raise AttributeError(name)
        return getattr(self.real, name)

    def __reduce__(self):  # pickled by reference, like the module-level function it wraps
        return (getattr, (sys.modules[self.fn.__module__], self.fn.__name__))

    def __get__(self, obj, objtype=None):  # support decorating methods, as Prefect does
        return self if obj is None else functools.partial(self.__call__, obj)


class LazyTask(_Lazy):
    kind = "task"

    def __call__(self, *args, **kwargs):
        if flow_running():
            return self.real(*args, **kwargs)
        return self.fn(*args, **kwargs)


class LazyFlow(_Lazy):
    kind = "flow"

    def __call__(self, *args, **kwargs):
        return self.real(*args, **kwargs)


def task(fn: Callable | None = None, **opts) -> Any:
    if fn is None:
        return lambda f: LazyTask(f, opts)
    return LazyTask(fn, opts)


def flow(fn: Callable | None = None, **opts) -> Any:
    if fn is None:
        return lambda f: LazyFlow(f, opts)
    return LazyFlow(fn, opts)
