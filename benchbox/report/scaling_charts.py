"""How the target scales, as charts: throughput and latency against offered load (one point per
step or probe), throughput against concurrency with the fitted USL, latency against batch size."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from benchbox.report import plot
from benchbox.report.charts import Chart, Threshold, above, finite, line, ms_label, thresholds


@dataclass(frozen=True)
class LoadPoint:
    """One load level of a stepped run (and, later, of the saturation search)."""

    offered: float
    achieved_rps: float
    p50: float | None
    p95: float | None
    p99: float | None
    error_rate: float


def load_curve(points: Sequence[LoadPoint], unit: str, gates: Sequence[Threshold], key: str) -> Chart | None:
    """Throughput and latency against offered load, one point per step: where the curve bends,
    the target stops keeping up."""
    points = sorted((p for p in points if math.isfinite(p.offered)), key=lambda p: p.offered)
    if len({p.offered for p in points}) < 2:
        return None
    xs = [p.offered for p in points]
    off: list[str] = []

    def draw(fig: object) -> None:
        from matplotlib.ticker import FuncFormatter

        left, right = fig.subplots(1, 2)  # type: ignore[attr-defined]
        left.plot(
            xs,
            finite([p.achieved_rps for p in points]),
            "o-",
            color=plot.COLORS["done"],
            markersize=4,
            label="achieved req/s",
        )
        if unit == "req/s":
            left.plot(
                [0, xs[-1]],
                [0, xs[-1]],
                color=plot.COLORS["offered"],
                linestyle=(0, (4, 3)),
                linewidth=1.1,
                label="offered = achieved",
            )
        bad = [(p.offered, p.achieved_rps) for p in points if p.error_rate > 0.01]
        if bad:
            left.plot(*zip(*bad), "o", color=plot.COLORS["errors"], markersize=7, fillstyle="none", label="errors > 1%")
        left.set_ylabel("req/s")
        for attr in ("p99", "p95", "p50"):
            line(
                right, xs, [getattr(p, attr) for p in points], plot.COLORS[attr], attr.upper(), marker="o", markersize=4
            )
        top = max(
            (v for v in finite([x for p in points for x in (p.p50, p.p95, p.p99)]) if not math.isnan(v)), default=0.0
        )
        off.extend(thresholds(right, [g for g in gates if g.percentile in (50.0, 95.0, 99.0)], top))
        right.yaxis.set_major_formatter(FuncFormatter(lambda v, _: ms_label(v)))
        for ax in (left, right):
            ax.margins(y=0.15)
            ax.set_xlim(left=0)
            ax.set_ylim(bottom=0)
            ax.set_xlabel(f"offered load ({unit})")
            ax.legend(loc="upper left")

    svg = plot.render(
        key, draw, size=plot.FULL, label="Throughput and latency against offered load", margins=plot.LABELLED
    )
    note = "one point per step"
    if unit == "req/s":
        note += "; where achieved leaves the dashed line, the target stopped keeping up"
    return Chart("Throughput and latency against offered load", note + above(off), svg, wide=True)


def usl_curve(
    points: Sequence[tuple[float, float]], sigma: float, kappa: float, lam: float, peak_n: float | None, key: str
) -> Chart | None:
    """Throughput against concurrency (Little's law per probe) with the fitted Universal
    Scalability Law: X(N) = λN / (1 + σ(N−1) + κN(N−1)). Where the points leave the curve, the
    model stops describing the target."""
    pts = sorted((n, x) for n, x in points if math.isfinite(n) and math.isfinite(x) and n > 0)
    if len(pts) < 2:
        return None
    top_n = max(max(n for n, _ in pts), peak_n or 0.0) * 1.15

    def model(n: float) -> float:
        return lam * n / (1 + sigma * (n - 1) + kappa * n * (n - 1))

    def draw(fig: object) -> None:
        ax = fig.subplots()  # type: ignore[attr-defined]
        grid = [top_n * i / 100 for i in range(1, 101)]
        ax.plot(grid, [model(n) for n in grid], color=plot.COLORS["p95"], linewidth=1.4, label="USL fit")
        ax.plot([n for n, _ in pts], [x for _, x in pts], "o", color=plot.COLORS["done"], markersize=4, label="probes")
        if peak_n:
            ax.axvline(
                peak_n, color=plot.COLORS["offered"], linestyle=(0, (4, 3)), linewidth=1.0, label="predicted peak"
            )
        ax.set_xlim(left=0)
        ax.set_ylim(bottom=0)
        ax.margins(y=0.15)
        ax.set_xlabel("concurrency N (achieved req/s × mean latency)")
        ax.set_ylabel("req/s")
        ax.legend(loc="lower right")

    svg = plot.render(
        key, draw, size=plot.HALF, label="Throughput against concurrency, with the USL fit", margins=plot.LABELLED
    )
    return Chart(
        "Throughput against concurrency (USL)", "each probe at its concurrency; the line is the fitted model", svg
    )


def latency_by_batch_size(points: Sequence[tuple[int, float, int | None]], key: str) -> Chart | None:
    """Latency of each edge-case batch size (size, ms, status): a cliff at some size shows here even
    when it stays under the timeout. Accepted sizes are joined by a line; refused ones are hollow."""
    pts = sorted((s, ms, st) for s, ms, st in points if math.isfinite(ms))
    if len({s for s, _, _ in pts}) < 2:
        return None
    ok = [(s, ms) for s, ms, st in pts if st is not None and 200 <= st < 300]
    refused = [(s, ms) for s, ms, st in pts if st is None or not 200 <= st < 300]

    def draw(fig: object) -> None:
        from matplotlib.ticker import FuncFormatter

        ax = fig.subplots()  # type: ignore[attr-defined]
        if ok:
            ax.plot(*zip(*ok), "o-", color=plot.COLORS["p95"], markersize=4, label="answered 2xx")
        if refused:
            ax.plot(
                *zip(*refused),
                "o",
                color=plot.COLORS["errors"],
                markersize=6,
                fillstyle="none",
                label="refused or no answer",
            )
        ax.set_xscale("symlog", base=2, linthresh=1)
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: ms_label(v)))
        ax.set_ylim(bottom=0)
        ax.margins(y=0.15)
        ax.set_xlabel("batch size (items)")
        ax.set_ylabel("latency")
        ax.legend(loc="upper left")

    svg = plot.render(key, draw, size=plot.HALF, label="Latency against batch size")
    return Chart("Latency against batch size", "one request per size, sent by the contract's edge cases", svg)
