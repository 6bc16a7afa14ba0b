"""The latent daily state of the sample market: stochastic variance, SPX with jumps, VIX family,
crowding and planted unwinds, simulated once from a fixed origin with one seeded generator.

Pure numpy/polars; writes nothing. Per-day detail (chains, funding ticks) lives in the writers.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cached_property

import numpy as np
import polars as pl
from scipy import special

from sources.sample import expiries as ex

ORIGIN = date(2016, 1, 4)
TRADING_DAYS = 252.0


@dataclass(frozen=True)
class Params:
    """Every constant of the latent model (documented in docs/sample-market.md)."""

    spx0: float = 2012.66  # SPX close on the origin session
    v0: float = 0.030  # initial instantaneous variance (vol 17 %)
    # Heston-like physical variance
    kappa: float = 8.0  # mean reversion per year (half-life ~22 sessions)
    theta: float = 0.015  # long-run variance (vol 12.2 %) before the crowding tilt
    xi: float = 0.32  # vol of variance (Feller: 2 kappa theta > xi^2 in calm)
    rho: float = -0.72  # leverage correlation (variance shock vs SPX shock)
    v_floor: float = 0.0025  # variance floor (vol 5 %)
    mu: float = 0.11  # SPX drift per year (price, ex dividends)
    mu_crowd: float = 0.08  # extra drift per year at crowding 1 (the crowded trade works)
    theta_crowd: float = 0.40  # long-run variance shrinks by this fraction at crowding 1
    # ordinary jumps (not unwinds)
    jump_rate: float = 2.0  # per year
    jump_mean: float = -0.022
    jump_sd: float = 0.012
    jump_var: float = 0.008  # variance bump on a jump day
    # crowding
    crowd0: float = 0.15
    crowd_growth: float = 2.4  # dc = growth (1 - c) dt + ... per year
    crowd_sd: float = 0.22  # diffusion of crowding per sqrt(year)
    crowd_vol_drag: float = 6.0  # variance above theta erodes crowding (stress de-levers)
    # unwind hazard per session = h0 + h1 * c ** h_pow (zero during the cooldown after an unwind)
    h0: float = 0.0002
    h1: float = 0.045
    h_pow: float = 4.0
    cooldown: int = 45  # sessions after an unwind with no new unwind
    gap_lo: float = 0.03  # unwind total drop, uniform in [gap_lo, gap_hi]
    gap_hi: float = 0.08
    unwind_var_lo: float = 0.070  # variance added on an unwind day, uniform in [lo, hi]
    unwind_var_hi: float = 0.180
    crowd_reset_lo: float = 0.03
    crowd_reset_hi: float = 0.15
    recovery_share: float = 0.50  # share of the gap retraced over the following weeks
    recovery_tau: float = 15.0  # sessions
    # risk-neutral variance (VIX family, VX, option ATM)
    vrp_mult: float = 1.18  # v_Q = vrp_mult * v + vrp_add
    vrp_add: float = 0.004
    theta_q: float = 0.044  # risk-neutral long-run variance (vol 21 %)
    kappa_q: float = 3.0
    kappa_spike: float = 20.0  # event variance (unwinds, jumps) decays fast: half-life ~9 sessions
    vrp_spike: float = 1.3  # risk-neutral premium on the event variance
    vix_noise: float = 0.012  # relative daily noise on each VIX-family close


DEFAULT = Params()

# Columns of the per-session random block. The block is drawn as one (N, K) array so that adding
# sessions at the end never changes earlier draws: K is part of the model and must not change.
K_DRAWS = 32
(Z_VAR, Z_SPX, Z_CROWD, U_HAZARD, U_GAP, U_UVAR, U_RESET, U_JUMP, Z_JUMP, Z_OPEN,
 Z_HI, Z_LO, Z_VIX, Z_VIX9, Z_VIX3, Z_VO, Z_VH, Z_VL, U_SPLIT) = range(19)


def _ndtr_scalar(x: float) -> float:
    return float(special.ndtr(x))


def _avg_factor(k: float, tau):
    kt = np.maximum(k * np.asarray(tau, dtype=float), 1e-9)
    return (1.0 - np.exp(-kt)) / kt


def expected_avg_var(v_q, tau, p: Params = DEFAULT, spike_q=0.0):
    """E^Q[average variance over tau years]: the base variance reverts to theta_q at kappa_q, the
    event spike decays to zero at kappa_spike (so stress inverts the short end)."""
    return (p.theta_q + (np.asarray(v_q) - p.theta_q) * _avg_factor(p.kappa_q, tau)
            + np.asarray(spike_q) * _avg_factor(p.kappa_spike, tau))


def forward_avg_var(v_q, spike_q, T, tau, p: Params = DEFAULT):
    """E^Q[average variance over [T, T + tau]] seen today (the VX futures' underlying)."""
    T = np.asarray(T, dtype=float)
    vT = p.theta_q + (np.asarray(v_q) - p.theta_q) * np.exp(-p.kappa_q * T)
    sT = np.asarray(spike_q) * np.exp(-p.kappa_spike * T)
    return expected_avg_var(vT, tau, p, sT)


def risk_neutral_var(v: np.ndarray | float, p: Params = DEFAULT):
    return p.vrp_mult * np.asarray(v) + p.vrp_add


@dataclass
class _Path:
    dates: list[date]
    frame: pl.DataFrame
    index: dict[date, int]
    ordinals: np.ndarray  # date.toordinal() of each session


def simulate(seed: int, p: Params = DEFAULT) -> _Path:
    """Simulate every session from ORIGIN to the calendar horizon (about 6,300 sessions)."""
    dates = ex.sessions_between(ORIGIN, ex.HORIZON)
    n = len(dates)
    rng = np.random.default_rng([seed, 0, 0])
    z = rng.standard_normal((n, K_DRAWS))
    u = 0.5 * _erfc_vec(-z / math.sqrt(2.0))  # uniforms from the same normals (one generator)

    dt = 1.0 / TRADING_DAYS
    sdt = math.sqrt(dt)
    rho, rc = p.rho, math.sqrt(1 - p.rho**2)
    v = np.empty(n)  # total variance = base + spike
    spike = np.empty(n)
    c = np.empty(n)
    logret = np.empty(n)  # close-to-close log return
    gap = np.zeros(n)  # overnight log gap (open vs previous close)
    unwind = np.zeros(n, dtype=bool)
    jump = np.zeros(n, dtype=bool)
    since = np.empty(n, dtype=np.int64)
    vi, ci, sk = p.v0, p.crowd0, 0.0
    spike_decay = math.exp(-p.kappa_spike * dt)
    last_unwind = -10_000
    recovery = 0.0  # log-return still to be retraced after an unwind
    jump_p = p.jump_rate * dt
    for i in range(n):
        zv, zs = z[i, Z_VAR], z[i, Z_SPX]
        theta_t = p.theta * (1.0 - p.theta_crowd * ci)
        sv = math.sqrt(max(vi, 0.0))
        st = math.sqrt(vi + sk)
        # SPX: variance of the step is the start-of-day variance
        eps = rho * zv + rc * zs
        r = (p.mu + p.mu_crowd * ci - 0.5 * (vi + sk)) * dt + st * sdt * eps
        g = 0.0
        hazard = 0.0 if i - last_unwind <= p.cooldown else p.h0 + p.h1 * ci**p.h_pow
        if i > 0 and u[i, U_HAZARD] < hazard:
            size = p.gap_lo + (p.gap_hi - p.gap_lo) * u[i, U_GAP]
            g = -0.7 * size  # most of the drop is the overnight gap
            r = -size + 0.15 * sv * sdt * eps
            sk = sk + p.unwind_var_lo + (p.unwind_var_hi - p.unwind_var_lo) * u[i, U_UVAR]
            ci = p.crowd_reset_lo + (p.crowd_reset_hi - p.crowd_reset_lo) * u[i, U_RESET]
            unwind[i] = True
            last_unwind = i
            recovery = p.recovery_share * size
        else:
            if recovery > 1e-6:
                step = recovery / p.recovery_tau
                r += step
                recovery -= step
            if i > 0 and u[i, U_JUMP] < jump_p:
                js = p.jump_mean + p.jump_sd * z[i, Z_JUMP]
                r += js
                g = 0.6 * js
                sk += p.jump_var
                jump[i] = True
            vi_new = vi + p.kappa * (theta_t - vi) * dt + p.xi * sv * sdt * zv
            vi_new = max(vi_new, p.v_floor)
            sk *= spike_decay
            dv_up = max(vi_new + sk - p.theta, 0.0)
            ci = ci + p.crowd_growth * (1.0 - ci) * dt + p.crowd_sd * sdt * z[i, Z_CROWD] \
                * math.sqrt(ci * (1.0 - ci) + 0.01) - p.crowd_vol_drag * dv_up * dt
            ci = min(max(ci, 0.01), 0.99)
            vi = vi_new
        v[i] = vi + sk
        spike[i] = sk
        c[i] = ci
        logret[i] = r if i > 0 else 0.0
        gap[i] = g
        since[i] = i - last_unwind
    close = p.spx0 * np.exp(np.cumsum(logret))
    close = np.round(close, 2)
    prev = np.concatenate([[close[0]], close[:-1]])
    sd_day = np.sqrt(v) * sdt
    # Open: the overnight gap plus a small auction move; high/low from a bridge-like excursion.
    opn = prev * np.exp(gap + 0.18 * sd_day * z[:, Z_OPEN] * (~unwind))
    opn[0] = close[0] * (1 - 0.002)
    hi_ex = np.abs(z[:, Z_HI]) * 0.45 * sd_day + 0.0008
    lo_ex = np.abs(z[:, Z_LO]) * 0.45 * sd_day + 0.0008
    lo_ex = lo_ex + 0.25 * np.abs(gap) * unwind  # unwind days trade well below the open
    high = np.maximum(opn, close) * np.exp(hi_ex)
    low = np.minimum(opn, close) * np.exp(-lo_ex)
    opn, high, low = np.round(opn, 2), np.round(high, 2), np.round(low, 2)

    v_q = risk_neutral_var(v - spike, p)
    s_q = p.vrp_spike * spike
    vix = 100 * np.sqrt(expected_avg_var(v_q, 30 / 365, p, s_q)) * np.exp(p.vix_noise * z[:, Z_VIX])
    vix9d = 100 * np.sqrt(expected_avg_var(v_q, 9 / 365, p, s_q)) * np.exp(1.6 * p.vix_noise * z[:, Z_VIX9])
    vix3m = 100 * np.sqrt(expected_avg_var(v_q, 93 / 365, p, s_q)) * np.exp(0.6 * p.vix_noise * z[:, Z_VIX3])
    fam = {}
    for name, cl, scale in (("vix", vix, 1.0), ("vix9d", vix9d, 1.5), ("vix3m", vix3m, 0.6)):
        cl = np.round(cl, 2)
        pc = np.concatenate([[cl[0]], cl[:-1]])
        # The VIX family gaps with SPX: on a down gap the open is already most of the way there.
        lead = np.where(unwind | jump, 0.85, 0.35)
        o = pc * np.exp(lead * np.log(cl / pc) + 0.02 * scale * z[:, Z_VO])
        h = np.maximum(o, cl) * np.exp(np.abs(z[:, Z_VH]) * 0.035 * scale + 0.004)
        lo = np.minimum(o, cl) * np.exp(-np.abs(z[:, Z_VL]) * 0.030 * scale - 0.004)
        fam[name] = (np.round(o, 2), np.round(h, 2), np.round(lo, 2), cl)

    regime = np.full(n, "calm", dtype=object)
    regime[c >= 0.55] = "crowded"
    regime[fam["vix"][3] >= 25.0] = "stress"
    regime[(since > 0) & (since <= 20)] = "recovery"
    regime[unwind] = "unwind"
    anchor = pl.Series(close).rolling_mean(20, min_samples=1).to_numpy()
    # Positioning (open interest) follows crowding with a lag of a couple of weeks.
    crowd_oi = pl.Series(c).ewm_mean(span=10, adjust=False).to_numpy()

    frame = pl.DataFrame({
        "date": dates,
        "spx_open": opn, "spx_high": high, "spx_low": low, "spx_close": close,
        "variance": v, "variance_q": v_q, "spike_q": s_q,
        "vix_open": fam["vix"][0], "vix_high": fam["vix"][1], "vix_low": fam["vix"][2], "vix": fam["vix"][3],
        "vix9d_open": fam["vix9d"][0], "vix9d_high": fam["vix9d"][1], "vix9d_low": fam["vix9d"][2],
        "vix9d": fam["vix9d"][3],
        "vix3m_open": fam["vix3m"][0], "vix3m_high": fam["vix3m"][1], "vix3m_low": fam["vix3m"][2],
        "vix3m": fam["vix3m"][3],
        "crowding": c, "regime": regime.astype(str), "unwind": unwind, "jump": jump,
        "sessions_since_unwind": since, "oi_anchor": anchor, "crowding_oi": crowd_oi,
    })
    return _Path(dates=dates, frame=frame, index={d: i for i, d in enumerate(dates)},
                 ordinals=np.array([d.toordinal() for d in dates], dtype=np.int64))


def _erfc_vec(x: np.ndarray) -> np.ndarray:
    return erfc(x)


def erfc(x: np.ndarray) -> np.ndarray:
    """Complementary error function (scipy.special.erfc: one library normal CDF for the project)."""
    return special.erfc(np.asarray(x, dtype=float))


def ndtr(x: np.ndarray) -> np.ndarray:
    """Standard normal CDF (scipy.special.ndtr)."""
    return special.ndtr(np.asarray(x, dtype=float))


class _Shared:
    """What every SampleMarket of one (seed, params) shares: the path and the writers' caches."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.sim: _Path | None = None
        self.caches: dict[str, dict] = {}


_SHARED: dict[tuple[int, Params], _Shared] = {}
_SHARED_LOCK = threading.Lock()


def _shared(seed: int, params: Params) -> _Shared:
    with _SHARED_LOCK:
        sh = _SHARED.get((seed, params))
        if sh is None:
            if len(_SHARED) >= 8:
                _SHARED.pop(next(iter(_SHARED)))
            sh = _SHARED[(seed, params)] = _Shared()
        return sh


class SampleMarket:
    """A seeded market. Cheap to construct; the path is simulated on first use and shared by every
    SampleMarket of the same seed in the process (a nightly flow builds one per day)."""

    def __init__(self, seed: int = 7, params: Params = DEFAULT):
        self.seed = int(seed)
        self.params = params

    def __repr__(self) -> str:
        return f"SampleMarket(seed={self.seed})"

    @cached_property
    def _shared(self) -> _Shared:
        return _shared(self.seed, self.params)

    @property
    def _sim(self) -> _Path:
        sh = self._shared
        if sh.sim is None:
            with sh.lock:
                if sh.sim is None:
                    sh.sim = simulate(self.seed, self.params)
        return sh.sim

    def cache(self, name: str) -> dict:
        """A named cache shared by every market of this seed (values must be pure functions of
        the seed and their key)."""
        return self._shared.caches.setdefault(name, {})

    # -- public API -------------------------------------------------------------------------
    def sessions(self, start: date, end: date) -> list[date]:
        return ex.sessions_between(start, end)

    def path(self, start: date, end: date) -> pl.DataFrame:
        self._check(start, end)
        f = self._sim.frame
        return f.filter((pl.col("date") >= start) & (pl.col("date") <= end))

    def unwind_days(self, start: date, end: date) -> list[date]:
        return self.path(start, end).filter(pl.col("unwind"))["date"].to_list()

    # -- helpers for the writers -------------------------------------------------------------
    def _check(self, start: date, end: date) -> None:
        if start < ORIGIN and end < ORIGIN:
            raise ValueError(f"the sample market starts on {ORIGIN}; asked for {start}..{end}")
        if end > ex.HORIZON:
            raise ValueError(f"the sample market ends on {ex.HORIZON}; asked for {end}")

    def index_of(self, day: date) -> int:
        try:
            return self._sim.index[day]
        except KeyError:
            if day < ORIGIN or day > ex.HORIZON:
                raise ValueError(f"{day} is outside the sample market ({ORIGIN}..{ex.HORIZON})") from None
            raise ValueError(f"{day} is not an XNYS session") from None

    def state(self, day: date) -> dict:
        """One session's row as a dict (plus the previous session's close)."""
        i = self.index_of(day)
        f = self._sim.frame
        row = f.row(i, named=True)
        row["prev_close"] = f["spx_close"][i - 1] if i > 0 else row["spx_open"]
        row["prev_vix"] = f["vix"][i - 1] if i > 0 else row["vix"]
        row["i"] = i
        return row

    def window(self, day: date, n: int) -> pl.DataFrame:
        """The n sessions ending at `day` (fewer near the origin)."""
        i = self.index_of(day)
        return self._sim.frame.slice(max(0, i - n + 1), min(n, i + 1))

    def before(self, day: date, years: float) -> pl.DataFrame:
        """Sessions in [day - years, day), clipped at the origin."""
        start = day - timedelta(days=round(365.25 * years))
        f = self._sim.frame
        return f.filter((pl.col("date") >= start) & (pl.col("date") < day))
