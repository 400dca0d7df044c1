"""`benchbox compare`'s flags, validated into values before any request is sent.

Saved mode takes two result files; live mode takes two URLs and `run`'s load flags, which
benchbox.plan parses for each side (so both sides get one and the same load and the same brakes,
and a bad value is the same one-line error `run` gives). `--config FILE` is read as `run` reads
it; compare uses the keys of the options it takes (benchbox.options), flags winning.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchbox.compare.gates import CompareGates, parse_gates
from benchbox.compare.live import LiveOptions
from benchbox.compare.model import CompareSettings
from benchbox.errors import UsageError, bad_value
from benchbox.options import OPTIONS, config_for
from benchbox.plan import Plan
from benchbox.units import parse_duration, parse_percent, parse_positive

SKIPPABLE = ("load", "shadow", "contract", "eval")
# More than run's default 10 req/s: a P99 needs a thousand requests or so per side to mean much.
DEFAULT_RATE = "50"


@dataclass(frozen=True)
class CompareRequest:
    """Everything one `benchbox compare` needs: which mode, the statistics, the gates, where to write."""

    settings: CompareSettings
    gates: CompareGates
    out_dir: Path
    saved: tuple[Path, Path] | None = None
    baseline: Plan | None = None
    candidate: Plan | None = None
    live: LiveOptions = LiveOptions()


def build_request(results: Sequence[str], flags: Mapping[str, Any], now: datetime | None = None) -> CompareRequest:
    """Flags (over --config's keys) -> CompareRequest; any bad value is a UsageError naming it."""
    config: dict[str, Any] = {}
    if flags.get("config"):
        from benchbox.plan import read_config

        config = config_for("compare", read_config(str(flags["config"])))
    flags = {**_own_from_config(config), **{k: v for k, v in flags.items() if v is not None and v != ()}}
    settings = _settings(flags)
    gates = parse_gates(flags.get("max_regression") or (), flags.get("min_agreement"), settings.min_effect)
    now = now or datetime.now(UTC)
    urls = flags.get("baseline"), flags.get("candidate")
    if results and any(urls):
        raise UsageError("bad compare: give two result files OR --baseline URL --candidate URL, not both")
    if results:
        if len(results) != 2:
            raise bad_value("compare arguments", " ".join(results), "two result files: BASELINE.json CANDIDATE.json")
        out = Path(flags["out"]) if flags.get("out") else Path(results[1]).parent / "compare"
        return CompareRequest(settings, gates, out, saved=(Path(results[0]), Path(results[1])))
    if not all(urls):
        missing = "--candidate" if urls[0] else "--baseline"
        raise UsageError(f"missing {missing}: expected two result files, or --baseline URL --candidate URL")
    skip = _skip(flags.get("skip"))
    out = Path(flags["out"]) if flags.get("out") else Path("reports") / f"{now:%Y%m%d-%H%M%S}-compare"
    plans = [_plan(flags, config, str(url), out / role, skip) for url, role in zip(urls, ("baseline", "candidate"))]
    if plans[0].load.steps or plans[0].load.ramp or plans[0].load.scenario:
        raise UsageError("bad load: compare drives steady load; leave out --steps, --ramp and --scenario")
    window = parse_duration("--window", flags.get("window") or "2s")
    cases = int(parse_positive("--shadow-cases", flags.get("shadow_cases") or 200, integer=True))
    live = LiveOptions(
        window_s=window,
        shadow_cases=cases,
        load="load" not in skip,
        shadow="shadow" not in skip,
        evaluate="eval" not in skip,
    )
    return CompareRequest(settings, gates, out, baseline=plans[0], candidate=plans[1], live=live)


def _plan(flags: Mapping[str, Any], config: Mapping[str, Any], url: str, out: Path, skip: frozenset[str]) -> Plan:
    from benchbox.plan import build_plan

    given = {k: v for k, v in flags.items() if k in _RUN_KEYS}
    side_config = {k: v for k, v in config.items() if k not in ("skip", "out")}  # compare's own meaning
    if all(given.get(k) is None and side_config.get(k) is None for k in ("rate", "users")):
        given["rate"] = DEFAULT_RATE
    # The parts a side's own pipeline knows by name: its result.json then says what was skipped.
    given.update(target=url, out=str(out), skip=",".join(sorted(skip & {"contract", "load", "eval"})) or None)
    return build_plan(given, side_config)


_SHARED = frozenset(o.name for o in OPTIONS if o.commands >= {"run", "compare"})
# run's options that each side's Plan takes: the request, load, contract, evaluation and brakes.
_RUN_KEYS = _SHARED - {"skip", "out", "config", "quiet"}
# What compare reads itself (skip names compare's parts, out is one directory for both sides).
_OWN = frozenset(o.name for o in OPTIONS if "compare" in o.commands) - _SHARED | {"skip", "out", "seed"}


def _own_from_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """Compare's own keys of a config file, in the form its flags take (TOML tables and lists
    become the repeated or comma-separated text the flags give)."""
    from benchbox.flags import slo_list

    own = {k: v for k, v in config.items() if k in _OWN}
    if "max_regression" in own:
        own["max_regression"] = tuple(slo_list(own["max_regression"]))
    if isinstance(own.get("skip"), list):
        own["skip"] = ",".join(str(part) for part in own["skip"])
    return own


def _settings(flags: Mapping[str, Any]) -> CompareSettings:
    confidence = parse_percent("--confidence", flags.get("confidence") or "95%")
    if not 0.5 <= confidence < 1.0:
        raise bad_value("--confidence", flags.get("confidence"), "a confidence level from 50% to 99.9%, like 95%")
    min_effect = parse_percent("--min-effect", flags.get("min_effect") or "5%")
    seed = flags.get("seed")
    try:
        seed_n = int(seed) if seed is not None else 0
    except ValueError:
        raise bad_value("--seed", seed, "a whole number >= 0") from None
    return CompareSettings(confidence=confidence, min_effect=min_effect, seed=max(seed_n, 0))


def _skip(value: Any) -> frozenset[str]:
    if not value:
        return frozenset()
    items = {item.strip().lower() for item in str(value).split(",") if item.strip()}
    for item in items:
        if item not in SKIPPABLE:
            raise bad_value("--skip", item, f"parts from {', '.join(SKIPPABLE)}, comma-separated")
    return frozenset(items)
