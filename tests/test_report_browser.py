"""The report as a reviewer sees it: opened in headless Chromium, charts drawn, hostile text inert.

Chromium is required, not optional: when it is missing, the `chromium` fixture installs Debian's
`chromium` package (apt-get, as root or with passwordless sudo; once, under a file lock, so
parallel pytest workers do not race), so the README's test command passes on a fresh machine by
itself. Where it cannot be installed the check fails saying so; it is never skipped.
Every Chromium call runs in its own session with a fresh profile and is killed after a timeout.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import signal
import struct
import subprocess
import zlib
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from apt import ensure
from test_report import make_contract, make_finding, make_phase, make_result

from benchbox.report import render_all
from benchbox.result import GateResult, NameStats

IMG = "<img src=x onerror=alert(1)>"
TIMEOUT_S = 90
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)
# Series colours only the charts use (P99 and P95 lines, see benchbox/report/plot.py).
CHART_COLORS = {"P99": (0x82, 0x50, 0xDF), "P95": (0xBC, 0x4C, 0x00)}


PACKAGES = ("chromium", "fonts-dejavu-core")  # the browser, and a font so the text is drawn


def find_chromium() -> str | None:
    return next(filter(None, (shutil.which(name) for name in ("chromium", "chromium-browser"))), None)


@pytest.fixture(scope="session")
def chromium() -> str:
    """Chromium's path; installed first when missing (the first pytest worker installs, others wait)."""
    return ensure(find_chromium, PACKAGES, "The report's browser check needs it.")


def run_chromium(browser: str, tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """One bounded Chromium run with a fresh profile; its whole process group is killed on timeout."""
    profile = Path(os.path.realpath(tmp)) / f"profile-{len(list(tmp.glob('profile-*')))}"
    profile.mkdir()
    argv = [browser, *FLAGS, f"--user-data-dir={profile}", *args]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        pytest.fail(f"chromium did not finish within {TIMEOUT_S} s: {' '.join(argv)}")
    finally:
        if proc.poll() is None:  # pragma: no cover - only on an error above
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 0, f"chromium exited {proc.returncode}: {err[-2000:]}"
    return subprocess.CompletedProcess(argv, proc.returncode, out, err)


class Dom(HTMLParser):
    """Elements, attributes and text of the DOM Chromium built (what ran, not what was written)."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.stack: list[str] = []
        self.svg_paths: list[int] = []  # path elements per <svg class="plot">
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag == "svg" and "plot" in (dict(attrs).get("class") or ""):
            self.svg_paths.append(0)
        elif tag == "path" and "svg" in self.stack and dict(attrs).get("d"):
            self.svg_paths[-1] += 1
        self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        self.stack.pop()

    def handle_endtag(self, tag: str) -> None:
        while self.stack and self.stack.pop() != tag:
            pass

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def png_pixels(path: Path) -> np.ndarray:
    """A tiny PNG reader (8-bit RGB/RGBA, not interlaced): the image as a height x width x 3 array."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, header = 8, [], None
    while pos < len(data):
        size, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body, pos = data[pos + 8 : pos + 8 + size], pos + 12 + size
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
    assert header is not None
    width, height, depth, color, _, _, interlace = header
    assert depth == 8 and color in (2, 6) and not interlace, f"unexpected PNG format {header}"
    bpp = 3 if color == 2 else 4
    raw, stride = zlib.decompress(b"".join(idat)), width * bpp
    prev, rows = np.zeros(stride, np.int64), []
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = np.frombuffer(raw, np.uint8, stride, y * (stride + 1) + 1).astype(np.int64)
        if kind == 1:  # Sub and Up are sums, done by numpy; Average and Paeth are sequential, done here
            line = line.reshape(-1, bpp).cumsum(axis=0).reshape(-1) & 255
        elif kind == 2:
            line = (line + prev) & 255
        elif kind in (3, 4):
            out, up = line.tolist(), prev.tolist()
            for i in range(stride):
                a = out[i - bpp] if i >= bpp else 0
                b, c = up[i], (up[i - bpp] if i >= bpp else 0)
                if kind == 3:
                    out[i] = (out[i] + (a + b) // 2) & 255
                else:
                    p = a + b - c
                    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                    out[i] = (out[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
            line = np.array(out, np.int64)
        rows.append(line.reshape(-1, bpp)[:, :3])
        prev = line
    return np.stack(rows).astype(np.int32)


@pytest.fixture(scope="module")
def hostile_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A failing run whose target-controlled strings all carry an <img onerror> payload."""
    phase = make_phase(error_every=10, error_samples=(f"server_error: {IMG}",))
    phase = dataclasses.replace(
        phase,
        name=f"steady {IMG}",
        by_name={f"POST /predict {IMG}": NameStats(phase.requests, phase.errors, phase.latency_ms, phase.hdr)},
    )
    finding = make_finding(f"finding {IMG}", body=f'{{"prompt": "{IMG}"}}')
    result = make_result(
        phases=(phase,),
        problems=(f"problem {IMG}",),
        plan={"body": IMG, "skip": [IMG]},
        contract=make_contract(finding),
    )
    result = dataclasses.replace(
        result,
        target=dataclasses.replace(result.target, label=f"model {IMG}", model_version=IMG),
        gates=result.gates + (GateResult(IMG, "latency_ms.p50", "<=", 1.0, "ms", 2.0, False, f"detail {IMG}"),),
    )
    return render_all(result, tmp_path_factory.mktemp("hostile")).html


@pytest.fixture(scope="module")
def dom(chromium: str, hostile_report: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Dom]:
    done = run_chromium(chromium, tmp_path_factory.mktemp("dom"), "--dump-dom", hostile_report.as_uri())
    assert "</html>" in done.stdout, f"no DOM dumped: {done.stderr[-2000:]}"
    return done.stdout, Dom(done.stdout)


def test_charts_are_drawn_in_the_dom(dom: tuple[str, Dom]) -> None:
    _, parsed = dom
    # Latency over time, requests per second, latency by percentile: each with its lines.
    assert len(parsed.svg_paths) >= 3, parsed.svg_paths
    assert all(n >= 5 for n in parsed.svg_paths), parsed.svg_paths
    texts = " ".join(parsed.text)
    for label in ("90%", "99%", "P99", "completed/s", "time into the phase"):
        assert label in texts


def test_hostile_strings_stay_inert_text(dom: tuple[str, Dom]) -> None:
    raw, parsed = dom
    tags = [tag for tag, _ in parsed.tags]
    assert "img" not in tags and "script" not in tags and "iframe" not in tags
    handlers = [(tag, name) for tag, attrs in parsed.tags for name in attrs if name.lower().startswith("on")]
    assert handlers == []
    text = "".join(parsed.text)
    # Shown where it was put: error sample, request name, problem, label, gate, phase name.
    for where in (
        f"server_error: {IMG}",
        f"POST /predict {IMG}",
        f"problem {IMG}",
        f"model {IMG}",
        f"detail {IMG}",
        f"steady {IMG}",
        f"finding {IMG}",
        f'{{"prompt": "{IMG}"}}',
    ):
        assert where in text, where
    assert "&lt;img src=x onerror=alert(1)&gt;" in raw


def test_screenshot_shows_a_drawn_page(chromium: str, hostile_report: Path, tmp_path: Path) -> None:
    shot = tmp_path / "report.png"
    run_chromium(chromium, tmp_path, f"--screenshot={shot}", "--window-size=1280,2400", hostile_report.as_uri())
    image = png_pixels(shot)
    assert image.shape == (2400, 1280, 3)
    packed = (image[..., 0] << 16) | (image[..., 1] << 8) | image[..., 2]
    colors = len(np.unique(packed))
    assert colors > 50, f"the screenshot looks blank ({colors} colours)"
    # The chart lines are on screen, in their series colours.
    near = {name: int((np.abs(image - np.array(rgb)).max(axis=2) <= 24).sum()) for name, rgb in CHART_COLORS.items()}
    assert all(n >= 50 for n in near.values()), near
