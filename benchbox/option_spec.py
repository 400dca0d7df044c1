"""What one option is (benchbox.options declares every one): the Option record, the commands an
option can belong to, and the small functions an option's `show` records a plan value through.

Imports nothing heavy: `benchbox --help` reads the option table at start-up.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from benchbox.option_kinds import SCALAR, Shape

Command = Literal["run", "smoke", "demo", "compare", "worker", "report"]
COMMANDS: tuple[Command, ...] = ("run", "smoke", "demo", "compare", "worker", "report")
RUN: frozenset[Command] = frozenset({"run", "smoke"})
LIVE: frozenset[Command] = RUN | {"compare"}  # run's flags that compare passes to each side's Plan
COMPARE: frozenset[Command] = frozenset({"compare"})
DEMO: frozenset[Command] = frozenset({"demo"})


@dataclass(frozen=True)
class Option:
    """One flag. `name` is the value's key everywhere (click's dest, build_plan's flags mapping);
    the flag is `--name` with dashes. `record` is where `Plan.redacted()` shows it (a dotted key),
    read from the Plan attribute `read` (default: the same path) through `show`."""

    name: str
    help: str
    commands: frozenset[Command]
    metavar: str | None = None
    short: str | None = None
    kind: Literal["value", "flag", "switch"] = "value"  # flag: --x; switch: --x/--no-x
    multiple: bool = False
    required: bool = False
    default: Any = None
    parse: Callable[[str, Any], Any] | None = None  # (flag, raw value) -> value; None: its room parses it
    config: bool | str = True  # the benchbox.toml key: True for `name`, a string for another, False for none
    shape: Shape = SCALAR
    example: str | None = None  # a TOML value of the right shape, quoted when a config has the wrong one
    secret: bool = False  # never recorded: Plan.redacted() and --dry-run show <redacted>
    record: str | None = None
    read: str | None = None
    show: Callable[[Any], Any] | None = None
    help_for: Mapping[str, str] = field(default_factory=dict)  # another command's own words for it
    metavar_for: Mapping[str, str] = field(default_factory=dict)

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def toml_key(self) -> str | None:
        return None if self.config is False else (self.name if self.config is True else str(self.config))

    def help_of(self, command: str) -> str:
        return self.help_for.get(command, self.help)

    def metavar_of(self, command: str) -> str | None:
        return self.metavar_for.get(command, self.metavar)

    def value(self, raw: Any) -> Any:
        """The raw flag or config value (None: not given) -> the parsed value or the default."""
        given = self.default if raw is None or raw == () else raw
        return self.parse(self.flag, given) if self.parse is not None else given


def show_list(value: Any) -> list[Any]:
    return list(value)


def show_headers(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    from benchbox.findings import REDACTED, is_secret_header

    return {n: (REDACTED if is_secret_header(n) else v) for n, v in pairs}


def show_gates(gates: Iterable[Any]) -> list[dict[str, Any]]:
    return [{"name": g.name, "metric": g.metric, "op": g.op, "threshold": g.threshold, "unit": g.unit} for g in gates]


def show_public_url(url: str) -> str:
    from benchbox.servermetrics.plan import public

    return public(url)


def show_evaluation(plan: Any) -> dict[str, Any] | None:
    return None if plan is None else plan.recorded()  # benchbox.evaluate.model.EvalPlan


def show_traffic(traffic: Any) -> dict[str, Any] | None:
    return traffic.recorded()  # benchbox.traffic.plan.TrafficPlan


def show_prompts(chat: Any) -> str | None:
    return chat.prompts_file or ("bundled" if chat.prompts else None)
