"""Report test fixtures: headless Chromium driven over the DevTools protocol through a pipe (no
websocket library, no Playwright). The sample home the report tests read is in tests/conftest.py.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

# -- headless Chromium over the DevTools protocol ---------------------------------------------------

CHROMIUM_CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "chrome")


def chromium_binary() -> str | None:
    env = os.environ.get("ALVH_CHROMIUM")
    if env:
        return env if Path(env).exists() else None
    return next((p for p in map(shutil.which, CHROMIUM_CANDIDATES) if p), None)


@dataclass
class PageReport:
    """What a page did while loading: console errors, exceptions, failed requests, DOM facts."""

    url: str
    console_errors: list[str] = field(default_factory=list)
    exceptions: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    facts: dict = field(default_factory=dict)
    screenshot: Path | None = None

    @property
    def errors(self) -> list[str]:
        return self.console_errors + self.exceptions + self.failed_requests


class Chromium:
    """Headless Chromium with `--remote-debugging-pipe`: CDP messages are NUL-terminated JSON on
    file descriptors 3 (to the browser) and 4 (from it)."""

    def __init__(self, binary: str, profile: Path, width: int = 1280, height: int = 900):
        self.width, self.height = width, height
        a, self._w = os.pipe()
        self._r, b = os.pipe()
        # Move the child's ends above 4 first, so placing them on 3 and 4 never aliases our own.
        to_child_r, from_child_w = os.dup(a), os.dup(b)
        os.close(a)
        os.close(b)

        def _fds() -> None:  # in the child: the pipe ends must sit on fds 3 and 4
            os.dup2(to_child_r, 3)
            os.dup2(from_child_w, 4)

        args = [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--no-default-browser-check", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--disable-extensions",
                "--disable-default-apps", "--mute-audio", "--hide-scrollbars",
                "--remote-debugging-pipe", f"--user-data-dir={profile}",
                f"--window-size={width},{height}", "about:blank"]
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, preexec_fn=_fds,
                                     pass_fds=(3, 4))  # closing happens after preexec_fn
        os.close(to_child_r)
        os.close(from_child_w)
        self._buf = b""
        self._id = 0
        self._events: list[dict] = []

    # -- protocol ------------------------------------------------------------------------------
    def _send(self, method: str, params: dict | None = None, session: str | None = None) -> int:
        self._id += 1
        msg = {"id": self._id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._w, json.dumps(msg).encode() + b"\0")
        return self._id

    def _read(self, timeout: float) -> dict | None:
        import select

        while b"\0" not in self._buf:
            ready, _, _ = select.select([self._r], [], [], timeout)
            if not ready:
                return None
            chunk = os.read(self._r, 1 << 20)
            if not chunk:
                raise RuntimeError("chromium closed the DevTools pipe")
            self._buf += chunk
        raw, self._buf = self._buf.split(b"\0", 1)
        return json.loads(raw)

    def call(self, method: str, params: dict | None = None, session: str | None = None,
             timeout: float = 30.0) -> dict:
        mid = self._send(method, params, session)
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            msg = self._read(max(left, 0.01)) if left > 0 else None
            if msg is None:
                raise TimeoutError(f"no answer to {method} within {timeout:g} s")
            if msg.get("id") == mid:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            self._events.append(msg)

    def wait_event(self, method: str, session: str, timeout: float = 30.0) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            for i, e in enumerate(self._events):
                if e.get("method") == method and e.get("sessionId") == session:
                    return self._events.pop(i)
            left = deadline - time.monotonic()
            msg = self._read(max(left, 0.01)) if left > 0 else None
            if msg is None:
                raise TimeoutError(f"no {method} within {timeout:g} s")
            self._events.append(msg)

    def drain(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            msg = self._read(left)
            if msg is not None:
                self._events.append(msg)

    # -- pages ---------------------------------------------------------------------------------
    def open(self, url: str, screenshot: Path | None = None, settle_s: float = 0.5,
             probe: str | None = None) -> PageReport:
        """Load `url` in a fresh tab, collect errors while it loads and settles, evaluate `probe`
        (a JS expression returning JSON-able facts) and optionally save a full-page screenshot."""
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        sid = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.call(f"{domain}.enable", session=sid)
        self.call("Emulation.setDeviceMetricsOverride", {"width": self.width, "height": self.height,
                                                         "deviceScaleFactor": 1, "mobile": False},
                  session=sid)
        self._events.clear()
        self.call("Page.navigate", {"url": url}, session=sid)
        self.wait_event("Page.loadEventFired", sid, timeout=60)
        self.drain(settle_s)
        rep = PageReport(url)
        if probe:
            res = self.call("Runtime.evaluate", {"expression": probe, "returnByValue": True,
                                                 "awaitPromise": True}, session=sid)
            if "exceptionDetails" in res:
                rep.exceptions.append(f"probe: {res['exceptionDetails'].get('text')}")
            else:
                rep.facts = res["result"].get("value") or {}
        if screenshot is not None:
            h = self.call("Runtime.evaluate", {"expression": "document.documentElement.scrollHeight",
                                               "returnByValue": True}, session=sid)["result"]["value"]
            self.call("Emulation.setDeviceMetricsOverride",
                      {"width": self.width, "height": int(h), "deviceScaleFactor": 1, "mobile": False},
                      session=sid)
            self.drain(0.3)
            shot = self.call("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True},
                             session=sid, timeout=60)
            import base64

            screenshot.write_bytes(base64.b64decode(shot["data"]))
            rep.screenshot = screenshot
        for e in self._events:
            if e.get("sessionId") != sid:
                continue
            m, p = e.get("method"), e.get("params", {})
            if m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                rep.console_errors.append(" ".join(str(a.get("value", a.get("description", "")))
                                                   for a in p.get("args", [])))
            elif m == "Runtime.exceptionThrown":
                d = p.get("exceptionDetails", {})
                rep.exceptions.append(d.get("exception", {}).get("description") or d.get("text", ""))
            elif m == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
                rep.console_errors.append(p["entry"].get("text", ""))
            elif m == "Network.requestWillBeSent":
                rep.requests.append(p.get("request", {}).get("url", ""))
            elif m == "Network.loadingFailed" and not p.get("canceled"):
                rep.failed_requests.append(f"{p.get('errorText')} ({p.get('type')})")
        self.call("Target.closeTarget", {"targetId": target})
        return rep

    def close(self) -> None:
        try:
            self._send("Browser.close")
            self.proc.wait(timeout=10)
        except Exception:
            self.proc.kill()
            self.proc.wait(timeout=10)
        finally:
            for fd in (self._r, self._w):
                with contextlib.suppress(OSError):
                    os.close(fd)


@pytest.fixture(scope="session")
def chromium():
    binary = chromium_binary()
    if binary is None:
        pytest.skip("headless Chromium is not installed (Debian: apt-get install chromium; "
                    "`make test` installs it when run as root; or set ALVH_CHROMIUM)")
    profile = Path(tempfile.mkdtemp(prefix="alvh-chromium-"))
    browser = Chromium(binary, profile)
    try:
        browser.call("Browser.getVersion", timeout=60)
        yield browser
    finally:
        browser.close()
        shutil.rmtree(profile, ignore_errors=True)
