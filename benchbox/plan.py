"""The Plan: everything a run needs, validated before a single request is sent.

Flags are layered over an optional benchbox.toml (`--config`): every flag has a key of the same
name (dashes become underscores), and a flag given on the command line wins. Any bad value is a
one-line UsageError naming it and the expected form.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from benchbox import flags as parse
from benchbox.brakes import Brakes, build_brakes
from benchbox.config_check import check_config_type, check_json_file
from benchbox.errors import ConfigError, UsageError, bad_value
from benchbox.evaluate.model import EvalPlan
from benchbox.evaluate.plan import CONFIG_KEYS as EVAL_CONFIG_KEYS
from benchbox.evaluate.plan import eval_plan
from benchbox.evaluate.plan import redacted as eval_redacted
from benchbox.findings import is_secret_header
from benchbox.flags import PHASES, REDACTED  # noqa: F401 - re-exported: the plan's vocabulary
from benchbox.gates import DEFAULT_SLOS, GateSpec, merge_slos
from benchbox.llm.model import ChatSpec
from benchbox.llm.options import ChatPlan, chat_plan
from benchbox.load.spec import PhaseSpec, RequestSpec, RunSpec
from benchbox.units import parse_duration, parse_positive

DEFAULT_RATE = 10.0
DEFAULT_DURATION_S = 30.0
DEFAULT_TIMEOUT_S = 10.0
DEFAULT_CONNECTIONS = 256
DEFAULT_HEALTH_PATHS = ("/health", "/healthz")
DEFAULT_READY_PATHS = ("/ready", "/v2/health/ready")
DEFAULT_READY_TIMEOUT_S = 30.0

_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")

CONFIG_KEYS = frozenset({
    "target", "method", "body", "headers", "api_key_env", "rate", "users", "arrival", "duration",
    "timeout", "connections", "slo", "skip", "out", "label", "seed", "health_paths", "ready_paths",
    "ready_timeout", "ramp", "steps", "step_duration", "scenario", "workers", "expect_workers",
    "master_bind", "master_port", "input_schema", "output_schema", "openapi", "protocol", "contract_cases",
    "tolerance", "accept", "write_accept", "adversarial_budget", "adversarial_cases", "expect_rate_limit",
    "saturation_budget", "insecure", "max_rps", "max_concurrency", "abort_on", "max_body",
    "prompts", "max_tokens", "model", "stream", "system_prompt", "canary",
}) | EVAL_CONFIG_KEYS


@dataclass(frozen=True)
class LoadPlan:
    """The load shape: steady, a linear ramp up to the level, or steps (each its own phase)."""

    mode: Literal["open", "closed"]
    rate: float | None
    users: int | None
    arrival: Literal["constant", "poisson"]
    duration_s: float
    connections: int
    ramp: bool = False
    steps: tuple[float, ...] = ()
    step_duration_s: float | None = None
    scenario: str | None = None


@dataclass(frozen=True)
class WorkerPlan:
    """Scale-out on Locust's master/worker engine: local worker processes and remote ones."""

    local: int = 0
    expect: int = 0
    bind: str = "127.0.0.1"
    port: int = 0


@dataclass(frozen=True)
class ContractPlan:
    """Where the contract comes from and how hard it is checked (benchbox.contract)."""

    input_schema: str | None = None
    output_schema: str | None = None
    openapi: str | None = None
    protocol: str = "auto"
    cases: int = 100
    tolerance: float = 1e-6
    accept: frozenset[str] = frozenset()
    accept_file: str | None = None
    write_accept: str | None = None


@dataclass(frozen=True)
class AdversarialPlan:
    """How hard the adversarial phase tries, and which security promises it checks."""

    budget_s: float = 30.0
    cases: int = 150
    expect_rate_limit: float | None = None


@dataclass(frozen=True)
class ProbePlan:
    health_paths: tuple[str, ...]
    ready_paths: tuple[str, ...]
    ready_timeout_s: float


@dataclass(frozen=True)
class Plan:
    target: str
    label: str
    request: RequestSpec
    load: LoadPlan
    probes: ProbePlan
    gates: tuple[GateSpec, ...]
    skip: frozenset[str]
    out_dir: Path
    seed: int
    api_key_env: str | None = None
    config_path: str | None = None
    workers: WorkerPlan = WorkerPlan()
    contract: ContractPlan = ContractPlan()
    adversarial: AdversarialPlan = AdversarialPlan()
    saturation_budget_s: float = 90.0
    method_given: bool = True
    insecure: bool = False
    brakes: Brakes = Brakes()
    evaluation: EvalPlan | None = None  # --eval FILE: score the endpoint on a held-out labelled set
    chat: ChatPlan = ChatPlan()
    # Set only in a run's effective plan (benchbox.context), once the target is known to be an OpenAI
    # chat endpoint (benchbox.llm.setup.resolve); build_plan never sets it.
    llm: ChatSpec | None = None
    slo_given: frozenset[str] = frozenset()  # gates the user set (flags or config), not defaults

    def phase_spec(self, name: str = "steady") -> PhaseSpec:
        """The steady (or ramp) phase at the plan's level."""
        load = self.load
        return PhaseSpec(
            name="ramp" if load.ramp else name, mode=load.mode, duration_s=load.duration_s,
            request=self.request, rate=load.rate, arrival=load.arrival, users=load.users,
            connections=load.connections, seed=self.seed,
            ramp_from=(0.0 if load.mode == "open" else 1.0) if load.ramp else None, scenario=load.scenario,
            chat=self.llm,
        )

    def run_spec(self) -> RunSpec:
        """Every load phase, in order: one steady phase, or one per step."""
        load = self.load
        w = self.workers
        scale = {"workers": w.local, "expect_workers": w.expect, "master_bind": w.bind, "master_port": w.port}
        if not load.steps:
            return RunSpec(phases=(self.phase_spec(),), **scale)
        base = self.phase_spec()
        step_s = load.step_duration_s or load.duration_s
        phases = []
        for i, level in enumerate(load.steps, 1):
            unit = "req/s" if load.mode == "open" else "users"
            phases.append(dataclasses.replace(
                base, name=f"step {i}: {level:g} {unit}", duration_s=step_s, seed=self.seed + i,
                rate=level if load.mode == "open" else None,
                users=int(level) if load.mode == "closed" else None))
        return RunSpec(phases=tuple(phases), **scale)

    def _body_example(self) -> str | None:
        """The first body, with the user's system prompt (which holds the canary) left out."""
        if not self.request.bodies:
            return None
        example = self.request.bodies[0]
        if self.chat.system_prompt:
            import json

            example = example.replace(json.dumps(self.chat.system_prompt, ensure_ascii=False)[1:-1], REDACTED)
        return example[:2000]

    def redacted(self) -> dict[str, Any]:
        """The plan as result.json records it: every credential replaced, nothing else hidden."""
        headers = {n: (REDACTED if is_secret_header(n) else v) for n, v in self.request.headers}
        return {
            "target": self.target, "label": self.label, "method": self.request.method,
            "headers": headers, "api_key_env": self.api_key_env,
            "bodies": len(self.request.bodies),
            "body_example": self._body_example(),
            "timeout_s": self.request.timeout_s,
            "load": {"mode": self.load.mode, "rate": self.load.rate, "users": self.load.users,
                     "arrival": self.load.arrival, "duration_s": self.load.duration_s,
                     "connections": self.load.connections, "ramp": self.load.ramp,
                     "steps": list(self.load.steps), "step_duration_s": self.load.step_duration_s,
                     "scenario": self.load.scenario},
            "probes": {"health_paths": list(self.probes.health_paths),
                       "ready_paths": list(self.probes.ready_paths),
                       "ready_timeout_s": self.probes.ready_timeout_s},
            "gates": [{"name": g.name, "metric": g.metric, "op": g.op, "threshold": g.threshold,
                       "unit": g.unit} for g in self.gates],
            "contract": {"input_schema": self.contract.input_schema, "output_schema": self.contract.output_schema,
                         "openapi": self.contract.openapi, "protocol": self.contract.protocol,
                         "cases": self.contract.cases, "tolerance": self.contract.tolerance,
                         "accept": self.contract.accept_file, "write_accept": self.contract.write_accept},
            "saturation": {"budget_s": self.saturation_budget_s},
            "adversarial": {"budget_s": self.adversarial.budget_s, "cases": self.adversarial.cases,
                            "expect_rate_limit": self.adversarial.expect_rate_limit},
            "workers": {"local": self.workers.local, "expect": self.workers.expect,
                        "bind": self.workers.bind, "port": self.workers.port},
            "insecure": self.insecure, "max_body_bytes": self.request.max_body_bytes,
            "brakes": {"max_rps": self.brakes.max_rps, "max_concurrency": self.brakes.max_concurrency,
                       "abort_on": self.brakes.describe_abort()},
            "skip": sorted(self.skip), "seed": self.seed, "out_dir": str(self.out_dir),
            "config": self.config_path,
            "evaluation": eval_redacted(self.evaluation),
            "chat": {"prompts": self.chat.prompts_file or ("bundled" if self.chat.prompts else None),
                     "prompt_count": len(self.chat.prompts), "max_tokens": self.chat.max_tokens,
                     "model": self.chat.model, "stream": self.chat.stream,
                     # The system prompt and canary are the user's; record that they were given, not them.
                     "system_prompt": REDACTED if self.chat.system_prompt is not None else None,
                     "canary": REDACTED if self.chat.canary is not None else None},
        }


def read_config(path: str | Path) -> dict[str, Any]:
    """Read benchbox.toml; unknown keys are errors (a typo must not silently change a run)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, ValueError) as exc:  # ValueError: a NUL byte in the path (UnicodeDecodeError below)
        if isinstance(exc, UnicodeDecodeError):
            raise ConfigError(f"bad config {str(p)!r}: not valid TOML ({exc})") from None
        raise ConfigError(f"cannot read config {str(p)!r}: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"bad config {str(p)!r}: not valid TOML ({exc})") from None
    unknown = sorted(set(data) - CONFIG_KEYS)
    if unknown:
        raise ConfigError(f"bad config {str(p)!r}: unknown key {unknown[0]!r}; "
                          f"expected one of {', '.join(sorted(CONFIG_KEYS))}")
    for key, value in data.items():
        check_config_type(str(p), key, value)
    data["_base_dir"] = str(p.parent)
    data["_path"] = str(p)
    return data


def build_plan(flags: Mapping[str, Any], config: Mapping[str, Any] | None = None,
               env: Mapping[str, str] | None = None, now: datetime | None = None) -> Plan:
    """Flags over config over defaults -> one validated Plan. `flags` holds None for 'not given'."""
    env = os.environ if env is None else env
    parse.reject_nul(flags)
    parse.reject_nul(config or {}, prefix="")
    cfg = dict(config or {})
    base_dir = Path(cfg.pop("_base_dir", "."))
    config_path = cfg.pop("_path", None)

    def pick(key: str, default: Any = None) -> Any:
        value = flags.get(key)
        if value is None or value == ():
            value = cfg.get(key)
        return default if value is None else value

    target = pick("target")
    if not target:
        raise UsageError("missing --target: expected the endpoint URL, e.g. --target http://127.0.0.1:8000/predict")
    target = parse.check_url(str(target))

    bodies = parse.bodies(flags.get("body"), cfg.get("body"), base_dir)
    method_given = pick("method") is not None
    method = str(pick("method", "POST" if bodies else "GET")).upper()
    if method not in _METHODS:
        raise bad_value("--method", method, f"one of {', '.join(_METHODS)}")

    headers = parse.headers(cfg.get("headers"), flags.get("header") or ())
    api_key_env = pick("api_key_env")
    if api_key_env:
        key = env.get(str(api_key_env))
        if not key:
            raise bad_value("--api-key-env", api_key_env, "the name of a set, non-empty environment variable holding the API key")
        headers["Authorization"] = f"Bearer {key}"
    if bodies and not any(n.lower() == "content-type" for n in headers):
        headers["Content-Type"] = "application/json"

    timeout_s = parse_duration("--timeout", pick("timeout", DEFAULT_TIMEOUT_S))
    load = _load_plan(flags, cfg, pick, base_dir)
    probes = ProbePlan(
        health_paths=parse.paths("--health-path", flags.get("health_path") or cfg.get("health_paths"), DEFAULT_HEALTH_PATHS),
        ready_paths=parse.paths("--ready-path", flags.get("ready_path") or cfg.get("ready_paths"), DEFAULT_READY_PATHS),
        ready_timeout_s=parse_duration("--ready-timeout", pick("ready_timeout", DEFAULT_READY_TIMEOUT_S)),
    )
    user_slos = [*parse.slo_list(cfg.get("slo")), *(flags.get("slo") or ())]
    gates = merge_slos([DEFAULT_SLOS, user_slos])
    slo_given = frozenset(spec.name for spec in merge_slos([user_slos]))
    workers = _workers(pick)
    contract = _contract_plan(pick, base_dir)
    if (workers.local or workers.expect) and load.scenario:
        raise UsageError("bad load: --scenario runs in one process for now; leave out --workers/--expect-workers")
    skip = parse.skip(pick("skip", ()))
    seed = parse.seed(pick("seed"))
    label = parse.label(pick("label"), target)
    now = now or datetime.now(timezone.utc)
    out = pick("out")
    out_dir = Path(out) if out else Path("reports") / f"{now:%Y%m%d-%H%M%S}-{label}"
    insecure = pick("insecure", False)
    if not isinstance(insecure, bool):
        raise bad_value("insecure", insecure, "true or false")
    brakes = build_brakes(pick("max_rps"), pick("max_concurrency"), pick("abort_on"))
    return Plan(
        target=target, label=label, insecure=insecure, brakes=brakes,
        request=RequestSpec(url=target, method=method, headers=tuple(headers.items()),
                            bodies=tuple(bodies), timeout_s=timeout_s, insecure=insecure,
                            max_body_bytes=parse.size("--max-body", pick("max_body"), parse.DEFAULT_MAX_BODY)),
        load=load, probes=probes, gates=gates, skip=skip, out_dir=out_dir, seed=seed,
        api_key_env=str(api_key_env) if api_key_env else None, config_path=config_path, workers=workers,
        contract=contract, method_given=method_given, adversarial=_adversarial_plan(pick),
        saturation_budget_s=parse_duration("--saturation-budget", pick("saturation_budget", 90.0)),
        chat=chat_plan(pick, base_dir, gates), slo_given=slo_given,
        evaluation=eval_plan(pick, base_dir),
    )


def _adversarial_plan(pick: Any) -> AdversarialPlan:
    limit = pick("expect_rate_limit")
    return AdversarialPlan(
        budget_s=parse_duration("--adversarial-budget", pick("adversarial_budget", 30.0)),
        cases=int(parse_positive("--adversarial-cases", pick("adversarial_cases", 150), integer=True)),
        expect_rate_limit=parse_positive("--expect-rate-limit", limit) if limit is not None else None,
    )


def _contract_plan(pick: Any, base_dir: Path) -> ContractPlan:
    """Checked now: a bad schema or accept file is a usage error before any request is sent."""
    from benchbox.contract.accept import read_accept
    from benchbox.contract.schema import load_schema_file

    def path(key: str) -> str | None:
        value = pick(key)
        if value is None:
            return None
        candidate = Path(str(value))
        try:
            if not candidate.is_absolute() and not candidate.exists() and (base_dir / candidate).exists():
                candidate = base_dir / candidate
        except OSError as exc:  # a name too long for the file system, say
            raise bad_value(f"--{key.replace('_', '-')}", str(value)[:80], f"a file path ({exc.strerror or exc})") from None
        return str(candidate)

    input_schema, output_schema, accept = path("input_schema"), path("output_schema"), path("accept")
    for flag, value in (("--input-schema", input_schema), ("--output-schema", output_schema)):
        if value:
            load_schema_file(value, flag)
    protocol = str(pick("protocol", "auto")).lower()
    if protocol not in ("auto", "json", "kserve-v2", "openai-chat"):
        raise bad_value("--protocol", protocol, "auto, json, kserve-v2 or openai-chat")
    tolerance = pick("tolerance", 1e-6)
    try:
        tol = float(tolerance)
    except (TypeError, ValueError):
        tol = -1.0
    if not 0 <= tol < 1:
        raise bad_value("--tolerance", tolerance, "a relative tolerance from 0 to 1, like 1e-6")
    openapi = pick("openapi")
    if openapi and not str(openapi).startswith(("http://", "https://")):
        openapi = path("openapi")
        check_json_file("--openapi", str(openapi), "an OpenAPI document (JSON) as a URL or a file")
    return ContractPlan(
        input_schema=input_schema, output_schema=output_schema, openapi=openapi, protocol=protocol,
        cases=int(parse_positive("--contract-cases", pick("contract_cases", 100), integer=True)),
        tolerance=tol, accept=read_accept(accept) if accept else frozenset(), accept_file=accept,
        write_accept=pick("write_accept"),
    )


def _workers(pick: Any) -> WorkerPlan:
    def count(flag: str, key: str) -> int:
        value = pick(key, 0)
        if value in (0, "0"):
            return 0
        return int(parse_positive(flag, value, integer=True))

    port = pick("master_port", 0)
    port_n = 0 if port in (0, "0") else int(parse_positive("--master-port", port, integer=True))
    if port_n > 65535:
        raise bad_value("--master-port", port, "a port number from 1 to 65535")
    bind = str(pick("master_bind", "127.0.0.1"))
    return WorkerPlan(local=count("--workers", "workers"), expect=count("--expect-workers", "expect_workers"),
                      bind=bind, port=port_n)


def _load_plan(flags: Mapping[str, Any], cfg: Mapping[str, Any], pick: Any, base_dir: Path) -> LoadPlan:
    rate_flag, users_flag = flags.get("rate"), flags.get("users")
    # A flag for one mode overrides the config's other mode instead of clashing with it.
    rate = rate_flag if rate_flag is not None else (cfg.get("rate") if users_flag is None else None)
    users = users_flag if users_flag is not None else (cfg.get("users") if rate_flag is None else None)
    if rate is not None and users is not None:
        raise UsageError("bad load: --rate (open loop) and --users (closed loop) exclude each other; give one")
    arrival = str(pick("arrival", "constant")).lower()
    if arrival not in ("constant", "poisson"):
        raise bad_value("--arrival", arrival, "constant or poisson")
    duration_s = parse_duration("--duration", pick("duration", DEFAULT_DURATION_S))
    connections = int(parse_positive("--connections", pick("connections", DEFAULT_CONNECTIONS), integer=True))
    ramp = bool(pick("ramp", False))
    scenario = pick("scenario")
    steps = parse.steps(pick("steps"), closed=users is not None or bool(scenario))
    if steps and ramp:
        raise UsageError("bad load: --ramp and --steps are two different shapes; give one")
    step_duration_s = None
    if steps:
        given = pick("step_duration")
        step_duration_s = parse_duration("--step-duration", given) if given else duration_s / len(steps)
        duration_s = step_duration_s * len(steps)
    shape: dict[str, Any] = {"ramp": ramp, "steps": steps, "step_duration_s": step_duration_s,
                             "scenario": parse.scenario_path(scenario, base_dir) if scenario else None}
    if users is not None or scenario:
        n = int(parse_positive("--users", users if users is not None else 1, integer=True))
        return LoadPlan("closed", None, n, arrival, duration_s, connections, **shape)  # type: ignore[arg-type]
    r = parse_positive("--rate", rate if rate is not None else DEFAULT_RATE)
    return LoadPlan("open", r, None, arrival, duration_s, connections, **shape)  # type: ignore[arg-type]



