"""matplotlib, tamed for the report: a figure in, one inline, deterministic, inert <svg> out.

Only the report imports matplotlib, and only when a page is rendered (~1 s to import). The
object-oriented API is used (Figure + the SVG canvas, never pyplot), so no GUI backend is ever
chosen and no global figure state is left behind.

What makes the output safe to inline and byte-identical for the same Result:
- `svg.hashsalt` set per chart: clip-path and marker ids are hashes of it, so they are the same on
  every render and differ between the charts of one page (ids are page-global once inlined);
- no metadata (matplotlib would write the date and its version), no XML prolog or DOCTYPE;
- matplotlib's own group ids (`figure_1`, `axes_1`, ... repeated in every chart) removed;
- text kept as <text> (`svg.fonttype: none`): no glyph definitions, no fonts fetched or embedded;
  mathtext off, so a `$` in a label is a dollar sign and never parsed;
- a final check refuses anything scriptable (script, foreignObject, event attributes, links
  other than to an id inside the same chart).
Labels come from benchbox's own code, never from the result's strings; matplotlib escapes text
anyway.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from markupsafe import Markup, escape

if TYPE_CHECKING:
    from matplotlib.typing import RcKeyType

# Inches at 72 pt/inch: the SVG's viewBox is 72x these; the page scales it to its column.
HALF = (6.0, 2.75)
FULL = (12.0, 3.1)


@dataclass(frozen=True)
class Margins:
    """Fixed margins in inches, for charts whose labels are short and known (numbers, ms, s).

    Constrained layout measures every text's extent before drawing, which was a third of a
    report's chart time; a chart with known labels needs no measuring. `between`: the gap
    between side-by-side axes."""

    left: float = 0.62
    right: float = 0.15
    top: float = 0.12
    bottom: float = 0.48
    between: float = 0.75


# The time and percentile charts: tick labels like "250 ms" or "1m30", an x label, no y label.
PLAIN = Margins()
# With a y label ("req/s") left of the tick labels.
LABELLED = Margins(left=0.8)

INK, MUTED, GRID = "#1f2328", "#59636e", "#d8dee4"
COLORS = {
    "p50": "#0969da",
    "p95": "#bc4c00",
    "p99": "#8250df",
    "max": "#1f2328",
    "done": "#0969da",
    "errors": "#cf222e",
    "offered": "#6e7781",
    "service": "#1a7f37",
    "pass": "#1a7f37",
    "fail": "#cf222e",
}

_RC: dict[RcKeyType, Any] = {
    "svg.fonttype": "none",
    "svg.image_inline": True,
    "text.parse_math": False,
    "axes.unicode_minus": False,
    "font.family": "sans-serif",
    # Layout is measured with the DejaVu Sans matplotlib ships; browsers without it use the next.
    "font.sans-serif": ["DejaVu Sans", "Liberation Sans", "Arial", "Helvetica"],
    "font.size": 9.5,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "axes.labelcolor": MUTED,
    "axes.edgecolor": "#8c959f",
    "axes.linewidth": 0.8,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.axisbelow": True,
    "grid.color": GRID,
    "grid.linewidth": 0.6,
    "xtick.color": MUTED,
    "ytick.color": MUTED,
    "xtick.labelsize": 8.5,
    "ytick.labelsize": 8.5,
    "legend.fontsize": 8.5,
    "legend.frameon": False,
    "lines.linewidth": 1.6,
    "lines.solid_joinstyle": "round",
    "figure.facecolor": "white",
    "savefig.facecolor": "white",
}

_PROLOG = re.compile(r"\A.*?(?=<svg\b)", re.S)
_SVG_OPEN = re.compile(r"<svg\b[^>]*>")
_VIEWBOX = re.compile(r'viewBox="([0-9. ]+)"')
_GROUP_ID = re.compile(r'<g id="[^"]*">')
_DEFAULT_STYLE = re.compile(r'\s*<defs>\s*<style type="text/css">[^<]*</style>\s*</defs>')
_PATH_BREAKS = re.compile(r" \n(?=[MLCQz])")
_UNSAFE = re.compile(r"<script|<foreignObject|<iframe|<a\b|\son[a-z]+\s*=|href=\"(?!#)|url\((?!#)", re.I)


class UnsafeSvg(RuntimeError):
    """matplotlib produced something scriptable: a bug to report, never markup to inline."""


def render(
    key: str,
    draw: Callable[[Any], None],
    *,
    size: tuple[float, float] = HALF,
    label: str,
    margins: Margins | None = None,
) -> Markup:
    """Run draw(figure) under benchbox's style and return the chart as inline SVG markup.

    key must be unique within one page (it salts the chart's ids) and stable across renders of
    the same Result; label becomes the SVG's accessible name. With `margins` the axes sit at
    fixed places (fast); without, constrained layout fits them around whatever labels there are.
    """
    import matplotlib
    import matplotlib.style
    from matplotlib.backends.backend_svg import FigureCanvasSVG
    from matplotlib.figure import Figure

    with matplotlib.rc_context():
        # From matplotlib's defaults, not the user's matplotlibrc: the same Result draws the same
        # chart on every machine with this matplotlib.
        matplotlib.style.use("default")
        matplotlib.rcParams.update({**_RC, "svg.hashsalt": f"benchbox-{key}"})
        if margins is None:
            figure = Figure(figsize=size, layout="constrained")
        else:
            figure = Figure(figsize=size)
            width, height = size
            figure.subplots_adjust(
                left=margins.left / width,
                right=1 - margins.right / width,
                bottom=margins.bottom / height,
                top=1 - margins.top / height,
                wspace=margins.between / ((width - margins.left - margins.right) / 2),
            )
        FigureCanvasSVG(figure)
        draw(figure)
        buffer = io.StringIO()
        figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None, "Format": None, "Type": None})
    return Markup(_clean(buffer.getvalue(), label))


def _clean(svg: str, label: str) -> str:
    svg = _PROLOG.sub("", svg, count=1)
    box = _VIEWBOX.search(svg)
    if box is None:
        raise UnsafeSvg("matplotlib wrote an <svg> without a viewBox")
    # No width/height: the page sizes the chart to its column, the viewBox keeps the aspect.
    opening = (
        f'<svg class="plot" viewBox="{box.group(1)}" role="img" aria-label="{escape(label)}" '
        'xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">'
    )
    svg = _SVG_OPEN.sub(lambda _: opening, svg, count=1)
    svg = _DEFAULT_STYLE.sub("", svg, count=1)  # `*{...}` would leak onto the page; the page's CSS has it
    svg = _GROUP_ID.sub("<g>", svg)
    svg = _PATH_BREAKS.sub(" ", svg).rstrip() + "\n"
    found = _UNSAFE.search(svg)
    if found:
        raise UnsafeSvg(f"refusing to inline a chart containing {found.group(0)!r}")
    return svg
