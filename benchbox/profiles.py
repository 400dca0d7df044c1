"""Command profiles and the one way flags become a Plan, shared by the CLI and the Python API.

Both faces must build the same Plan from the same options (a `benchbox.run(...)` in a test has to
pass or fail exactly as `benchbox run` does), so the layering lives here, not in either face.
Light on purpose: benchbox.cli reads it at start-up.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from benchbox.plan import Plan

# The CI profile: a short load at the expected rate, no saturation search; about 15 s against the demo.
SMOKE_PROFILE: Mapping[str, Any] = {
    "duration": "6s",
    "ready_timeout": "15s",
    "skip": ["saturation"],
    "contract_cases": 20,
    "adversarial_budget": "4s",
    "adversarial_cases": 40,
}
PROFILES: Mapping[str, Mapping[str, Any]] = {"smoke": SMOKE_PROFILE}


def plan_for(flags: Mapping[str, Any], config: str | None, profile: Mapping[str, Any] | None = None) -> Plan:
    """Flags over --config's file over the command's profile over defaults -> one validated Plan."""
    from benchbox.plan import build_plan, read_config

    # Hypothesis keeps an example database; it belongs in a cache, not the user's project.
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    os.environ.setdefault("HYPOTHESIS_STORAGE_DIRECTORY", str(cache / "benchbox" / "hypothesis"))
    layered = {**(profile or {}), **(read_config(config) if config else {})}  # a file beats a profile
    plan = build_plan(flags, layered or None)
    if profile and profile.get("skip"):  # smoke never searches for saturation, whatever else --skip says
        plan = dataclasses.replace(plan, skip=plan.skip | frozenset(profile["skip"]))
    return plan
