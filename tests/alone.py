"""Tests that measure the machine run by themselves; every other test shares it with its neighbours.

The suite runs on pytest-xdist workers: most tests wait (load at a few req/s, servers starting), so
they overlap well on two cores. A test marked ``alone`` asserts something that needs the CPU to
itself (a throughput, a capacity, where the generator's limit lies, no false alarm between twins):
it holds an exclusive lock on a file that every other test holds shared, from its setup (module
fixtures included) to its teardown. A turnstile lock keeps new shared holders out while an
exclusive one waits, so an ``alone`` test waits only for the tests already running.

Consecutive ``alone`` tests on one worker (``--dist loadfile`` keeps a file's tests on one worker)
keep the exclusive lock between them: the other workers drain once, not once per test. Without
xdist there is nobody to share with and nothing is locked.

Why loadfile and not loadgroup: a module-scoped fixture (a batch of runs, a set of servers) is
built once per worker that runs one of its tests, and pytest-xdist 3.8's loadgroup does not group
under pytest 9.2 (it renames ``item._nodeid``, which pytest 9.2 no longer reads)."""

from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import IO

import pytest

MARK = "alone"


ENV = "BENCHBOX_TEST_LOCKS"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARK}: the test needs the CPU to itself (it measures throughput or a limit); under xdist no other "
        "test runs beside it",
    )
    if not hasattr(config, "workerinput") and ENV not in os.environ:
        # The controller (or a plain run): the workers it starts inherit the lock directory.
        os.environ[ENV] = tempfile.mkdtemp(prefix="benchbox-test-locks-")
        config.add_cleanup(lambda: _forget(os.environ.pop(ENV)))


def _forget(directory: str) -> None:
    shutil.rmtree(directory, ignore_errors=True)


def _lock_dir() -> Path | None:
    """The controller's lock directory, in an xdist worker; None in a plain run."""
    if os.environ.get("PYTEST_XDIST_WORKER") is None or ENV not in os.environ:
        return None
    return Path(os.environ[ENV])


@contextmanager
def _flock(path: Path, kind: int) -> Iterator[IO[str]]:
    with path.open("a") as handle:
        fcntl.flock(handle, kind)  # released when the file closes
        yield handle


class _Locks:
    """This worker's hold on the shared file: none, shared, or exclusive (kept across alone tests)."""

    def __init__(self, directory: Path) -> None:
        self.turnstile = directory / "turnstile.lock"
        self.machine = directory / "machine.lock"
        self.held: ExitStack | None = None

    def acquire(self, alone: bool) -> None:
        if self.held is not None:  # an exclusive hold kept from the previous alone test
            return
        stack = ExitStack()
        with _flock(self.turnstile, fcntl.LOCK_EX):
            # An exclusive waiter holds the turnstile until it has the machine: no new shared
            # holder slips in ahead of it. A shared holder passes straight through.
            stack.enter_context(_flock(self.machine, fcntl.LOCK_EX if alone else fcntl.LOCK_SH))
        self.held = stack

    def release(self, keep: bool) -> None:
        if self.held is not None and not keep:
            self.held.close()
            self.held = None


_LOCKS: _Locks | None = None


def _is_alone(item: pytest.Item | None) -> bool:
    return item is not None and item.get_closest_marker(MARK) is not None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    global _LOCKS
    directory = _lock_dir()
    if directory is None:
        return (yield)
    if _LOCKS is None:
        _LOCKS = _Locks(directory)
    alone = _is_alone(item)
    _LOCKS.acquire(alone)
    try:
        return (yield)
    finally:
        _LOCKS.release(keep=alone and _is_alone(nextitem))


# The order in which xdist's loadfile hands files to the workers (files not named keep collection
# order after these). `--no-loadscope-reorder` in pyproject.toml's addopts keeps it: xdist would
# otherwise sort files by how many tests they hold.
#
# First the files with `alone` tests (longest first among them), and in each its `alone` tests
# first. An `alone` test waits for every test already running: in the middle of the suite that meant
# waiting for a 30 s capacity search to end while the other workers, held at the turnstile, idled (a
# per-test timeline of a full run showed 30-40 s of it). At the start nothing is running yet, so the
# `alone` tests run back to back, then every other test shares the machine to the end.
#
# Then the longest files first (the sum of their tests' wall times in that timeline): a long file
# handed out late leaves one worker finishing it while the others idle (test_pipeline's 30 s search
# once ran by itself for the last 30 s). Longest-processing-time-first packs the workers.
LONG_FIRST = (
    "test_compare.py",
    "test_saturation.py",
    "test_outputs.py",
    "test_server_metrics.py",
    "test_api.py",
    "test_trust.py",
    "test_workers.py",
    "test_faults.py",
    "test_cli.py",
    "test_load.py",
    "test_scenarios.py",
    "test_adversarial.py",
    "test_contract.py",
    "test_grpc.py",
    "test_pipeline.py",
    "test_faults_brakes.py",
    "test_interrupt.py",
    "test_secrets.py",
    "test_report.py",
    "test_llm.py",
    "test_otlp.py",
    "test_replay_load.py",
    "test_demo_server.py",
    "test_openai_embeddings.py",
    "test_shapes.py",
    "test_compare_stats.py",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    rank = {name: i for i, name in enumerate(LONG_FIRST)}
    with_alone = {item.path for item in items if _is_alone(item)}
    # Stable: within a file, `alone` tests first, the rest in their order; unnamed files keep theirs.
    items.sort(key=lambda item: (item.path not in with_alone, rank.get(item.path.name, len(rank)), not _is_alone(item)))
