"""The pytest plugin (entry point `pytest11`): a `benchbox` fixture, a marker, `--benchbox-out`.

    @pytest.mark.benchbox
    def test_ready_for_release(benchbox):
        result = benchbox.run(target=URL, rate=50, duration="10s", slo={"p95": "200ms"})
        assert result.passed

A failed test shows the run's verdict, failed gates and report path (in the assertion, through
Result's repr, and in a "benchbox" section of the failure report); the JUnit XML carries the key
figures as properties. pytest loads this module at start-up for every project that has benchbox
installed, so it imports nothing of benchbox's engine until a test asks for the fixture.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from benchbox.compare.model import Comparison
    from benchbox.result import Result

_RUNS = pytest.StashKey["BenchboxRuns"]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("benchbox")
    group.addoption(
        "--benchbox-out",
        metavar="DIR",
        default=None,
        help="Keep the reports of the `benchbox` fixture's runs under DIR, one directory per "
        "test (default: pytest's temporary directory).",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "benchbox: a benchbox acceptance test that drives real load at an endpoint (slow); "
        "select with -m benchbox, leave out with -m 'not benchbox'.",
    )


class BenchboxRuns:
    """The `benchbox` fixture: the API's run/smoke/compare with each run's reports in its own
    directory, its key figures recorded as JUnit properties."""

    def __init__(self, root: Path, record: Callable[[str, object], None]) -> None:
        self.root = root
        self.reports: list[Path] = []
        self._record = record

    def run(self, **options: Any) -> Result:
        from benchbox import api

        return self._recorded(api.run(**self._out(options)))

    def smoke(self, **options: Any) -> Result:
        from benchbox import api

        return self._recorded(api.smoke(**self._out(options)))

    def compare(
        self, baseline_json: str | Path | None = None, candidate_json: str | Path | None = None, **options: Any
    ) -> Comparison:
        from benchbox import api

        options = self._out(options)
        comparison = api.compare(baseline_json, candidate_json, **options)
        self.reports.append(Path(options["out"]) / "report.html")
        self._property("verdict", comparison.verdict, key="compare")
        return comparison

    @staticmethod
    def check(result: Result) -> None:
        """assert result.passed, with the verdict, failed gates and report path as the message."""
        if not result.passed:
            raise AssertionError(result.summary())

    def _out(self, options: dict[str, Any]) -> dict[str, Any]:
        if options.get("out") is None:
            n = len(self.reports) + 1
            options = {**options, "out": str(self.root if n == 1 else self.root.with_name(f"{self.root.name}-{n}"))}
        return options

    def _recorded(self, result: Result) -> Result:
        if result.report_path is not None:
            self.reports.append(result.report_path)
        for name, value in key_figures(result).items():
            self._property(name, value)
        return result

    def _property(self, name: str, value: object, key: str = "") -> None:
        n = len(self.reports)
        prefix = "benchbox" + (f".{key}" if key else "") + (f"[{n}]" if n > 1 else "")
        self._record(f"{prefix}.{name}", value)


def key_figures(result: Result) -> dict[str, object]:
    """The figures a CI dashboard reads off a JUnit file: verdict, latency, throughput, errors, capacity."""
    figures: dict[str, object] = {"verdict": result.verdict}
    phase = result.main_phase
    if phase is not None:
        if phase.latency_ms is not None:
            figures.update({f"{p}_ms": round(getattr(phase.latency_ms, p), 3) for p in ("p50", "p95", "p99")})
        figures["throughput_rps"] = round(phase.throughput_rps, 3)
        figures["error_rate"] = round(phase.error_rate, 6)
    sat = result.saturation
    if sat is not None and sat.max_sustainable_rps is not None:
        figures["capacity_rps"] = round(sat.max_sustainable_rps, 3)
    if result.report_path is not None:
        figures["report"] = str(result.report_path)
    return figures


@pytest.fixture
def benchbox(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> BenchboxRuns:
    """Run benchbox from a test: `benchbox.run(target=..., rate=..., slo=...)` returns the Result."""
    kept = request.config.getoption("--benchbox-out")
    name = re.sub(r"[^\w.-]+", "_", request.node.name)[:100]
    root = Path(kept) / name if kept else tmp_path_factory.mktemp("benchbox") / name
    # record_property's own list, without its warning under the default junit_family (xunit2): the
    # properties are written either way; junit_family=xunit1 makes the file schema-valid as well.
    runs = BenchboxRuns(root, lambda name, value: request.node.user_properties.append((name, value)))
    request.node.stash[_RUNS] = runs
    return runs


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """A failed test that ran benchbox names its reports, whatever the assertion said."""
    outcome = yield
    report = outcome.get_result()
    runs = item.stash.get(_RUNS, None)
    if report.failed and runs is not None and runs.reports:
        report.sections.append(("benchbox", "\n".join(f"report: {p}" for p in runs.reports)))
