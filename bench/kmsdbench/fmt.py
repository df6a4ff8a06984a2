"""Number formatting shared by the console report, RESULTS.md and the progress lines."""
from __future__ import annotations


def log(msg: str) -> None:
    """A progress line, flushed at once (the suite runs for minutes)."""
    print(msg, flush=True)


def fmt(v: float | str | None, digits: int = 0, unit: str = "") -> str:
    """Thousands separators and `digits` decimals; '—' for a missing value."""
    if v is None:
        return "—"
    if isinstance(v, str):
        return v
    if digits == 0:
        s = "{:,.0f}".format(v)
    else:
        s = "{:,.{}f}".format(v, digits)
    return s + unit


def fmt_us(v: float | None) -> str:
    """A latency in µs: '142 µs', '1.79 ms', '34.2 ms'."""
    if v is None:
        return "—"
    if v >= 10000:
        return "%.1f ms" % (v / 1000)
    if v >= 1000:
        return "%.2f ms" % (v / 1000)
    return "%d µs" % v


def fmt_check(v: float | None, unit: str) -> str:
    """A checked value or floor in its unit, as the check lines print it."""
    if v is None:
        return "—"
    if unit in ("req/s", "keys/s"):
        return "%s %s" % (fmt(v), unit)
    if unit == "×":  # kmsd/moto (100×) and same-run ratios near 1 (0.90×)
        return ("%.1f×" if v >= 10 else "%.2f×") % v
    if unit == "µs" and v >= 1000:
        return "%.2f ms" % (v / 1000)
    if unit == "µs":
        return "%.1f µs" % v
    return "%.2f %s" % (v, unit)
