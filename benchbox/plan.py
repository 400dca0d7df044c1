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
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from benchbox import flags as parse
from benchbox.brakes import Brakes
from benchbox.capacity import CostPlan
from benchbox.capacity_plan import cost_plan
from benchbox.coldstart.plan import ColdPlan, cold_plan
from benchbox.config_check import check_config, check_json_file
from benchbox.errors import ConfigError, UsageError, bad_value
from benchbox.evaluate.model import EvalPlan
from benchbox.evaluate.plan import eval_plan
from benchbox.flags import PHASES, REDACTED  # noqa: F401 - re-exported: the plan's vocabulary
from benchbox.gates import DEFAULT_SLOS, GateSpec, merge_slos
from benchbox.llm.model import ChatSpec
from benchbox.llm.options import ChatPlan, chat_plan
from benchbox.load.spec import PhaseSpec, RequestSpec, RunSpec
from benchbox.options import BY_NAME, CONFIG_KEYS, parsed  # noqa: F401 - CONFIG_KEYS re-exported
from benchbox.outputs import OutputSpec
from benchbox.servermetrics.plan import ServerMetricsPlan, server_metrics_plan
from benchbox.traffic.plan import TrafficPlan, traffic_plan
from benchbox.units import parse_duration, parse_positive

DEFAULT_RATE = 10.0  # neither --rate nor --users: open loop at this rate
DEFAULT_DURATION_S = BY_NAME["duration"].default
DEFAULT_TIMEOUT_S = BY_NAME["timeout"].default
DEFAULT_CONNECTIONS = BY_NAME["connections"].default
DEFAULT_HEALTH_PATHS = ("/health", "/healthz")
DEFAULT_READY_PATHS = ("/ready", "/v2/health/ready")
DEFAULT_READY_TIMEOUT_S = BY_NAME["ready_timeout"].default

_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")


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
    slow_factor: float = 10.0  # --slow-input FACTORx,DURATION: one input this many times the median...
    slow_min_ms: float = 500.0  # ...and at least this long is a slow input


@dataclass(frozen=True)
class AdversarialPlan:
    """How hard the adversarial phase tries, and which security promises it checks."""

    budget_s: float = 30.0
    cases: int = 150
    expect_rate_limit: float | None = None
    public_paths: tuple[str, ...] = ()  # --public-path: routes that may answer without the key


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
    cost: CostPlan = CostPlan()  # --cost-per-hour, --replicas, --expected-rps, --headroom
    outputs: tuple[OutputSpec, ...] = ()  # --output KIND=TARGET: each second sent live (benchbox.outputs)
    traffic: TrafficPlan = TrafficPlan()  # --replay, --mix / [[mix]], --batch-sizes (benchbox.traffic)
    server_metrics: ServerMetricsPlan = ServerMetricsPlan()  # --server-metrics: the target's own series
    cold: ColdPlan = ColdPlan()  # --start, --first-requests: the cold start

    def phase_spec(self, name: str = "steady") -> PhaseSpec:
        """The steady (or ramp) phase at the plan's level."""
        load = self.load
        return PhaseSpec(
            name="ramp" if load.ramp else name,
            mode=load.mode,
            duration_s=load.duration_s,
            request=self.request,
            rate=load.rate,
            arrival=load.arrival,
            users=load.users,
            connections=load.connections,
            seed=self.seed,
            ramp_from=(0.0 if load.mode == "open" else 1.0) if load.ramp else None,
            scenario=load.scenario,
            chat=self.llm,
            traffic=self._traffic_spec(),
        )

    def _traffic_spec(self) -> Any:
        """The trace or mix for the generator, with the run's bodies as they are now (benchbox.traffic)."""
        if not self.traffic.active:
            return None
        from benchbox.traffic.build import traffic_spec

        return traffic_spec(self.traffic, self.request)

    def run_spec(self) -> RunSpec:
        """Every load phase, in order: one steady phase, or one per step."""
        load = self.load
        w = self.workers
        if not load.steps:
            return self._warmed(RunSpec((self.phase_spec(),), w.local, w.expect, w.bind, w.port))
        base = self.phase_spec()
        step_s = load.step_duration_s or load.duration_s
        phases = []
        for i, level in enumerate(load.steps, 1):
            unit = "req/s" if load.mode == "open" else "users"
            phases.append(
                dataclasses.replace(
                    base,
                    name=f"step {i}: {level:g} {unit}",
                    duration_s=step_s,
                    seed=self.seed + i,
                    rate=level if load.mode == "open" else None,
                    users=int(level) if load.mode == "closed" else None,
                )
            )
        return self._warmed(RunSpec(tuple(phases), w.local, w.expect, w.bind, w.port))

    def _warmed(self, run: RunSpec) -> RunSpec:
        """--warmup: a first phase at the first phase's level, its own phase so no gate or percentile sees it."""
        if not self.cold.warmup_s:
            return run
        warm = dataclasses.replace(run.phases[0], name="warm-up", duration_s=self.cold.warmup_s, ramp_from=None)
        return dataclasses.replace(run, phases=(warm, *run.phases))

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
        """The plan as result.json records it (and --dry-run prints it), laid out by the option
        table: every credential and secret option replaced, nothing else hidden."""
        from benchbox.options import recorded

        return recorded(
            self,
            {
                "load.mode": self.load.mode,
                "body_example": self._body_example(),
                "chat.prompt_count": len(self.chat.prompts),
                "cost": dataclasses.asdict(self.cost),
            },
        )


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
    check_config(str(p), data)
    data["_base_dir"] = str(p.parent)
    data["_path"] = str(p)
    return data


def build_plan(
    flags: Mapping[str, Any],
    config: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
    now: datetime | None = None,
) -> Plan:
    """Flags over config over defaults -> one validated Plan. `flags` holds None for 'not given'."""
    env = os.environ if env is None else env
    parse.reject_nul(flags)
    parse.reject_nul(config or {}, prefix="")
    cfg = dict(config or {})
    base_dir = Path(cfg.pop("_base_dir", "."))
    config_path = cfg.pop("_path", None)

    def pick(key: str, default: Any = None) -> Any:
        """The flag, else its benchbox.toml key, else `default` (raw: the caller parses it)."""
        value = flags.get(key)
        if value is None or value == ():
            option = BY_NAME.get(key)
            value = cfg.get(option.toml_key or key if option else key)
        return default if value is None else value

    def get(key: str) -> Any:
        """The flag, else its benchbox.toml key, parsed by the option table (default included)."""
        return parsed(key, pick(key))

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
            raise bad_value(
                "--api-key-env", api_key_env, "the name of a set, non-empty environment variable holding the API key"
            )
        headers["Authorization"] = f"Bearer {key}"
    if bodies and not any(n.lower() == "content-type" for n in headers):
        headers["Content-Type"] = "application/json"

    timeout_s = get("timeout")
    load = _load_plan(flags, cfg, pick, get, base_dir)
    traffic = traffic_plan(pick, base_dir)
    if traffic.sizes and _embeddings_target(target, pick("protocol")):  # its inputs per request (llm.options)
        traffic = dataclasses.replace(traffic, sizes=())
    if traffic.active:
        load = _traffic_load(traffic, load, flags, cfg)
    probes = ProbePlan(
        health_paths=parse.paths("--health-path", pick("health_path"), DEFAULT_HEALTH_PATHS),
        ready_paths=parse.paths("--ready-path", pick("ready_path"), DEFAULT_READY_PATHS),
        ready_timeout_s=get("ready_timeout"),
    )
    user_slos = [*parse.slo_list(cfg.get("slo")), *(flags.get("slo") or ())]
    gates = merge_slos([DEFAULT_SLOS, user_slos])
    slo_given = frozenset(spec.name for spec in merge_slos([user_slos]))
    workers = WorkerPlan(
        local=get("workers"), expect=get("expect_workers"), bind=get("master_bind"), port=get("master_port")
    )
    contract = _contract_plan(pick, get, base_dir)
    grpc_target = target.startswith(("grpc://", "grpcs://"))
    if grpc_target and contract.protocol not in ("auto", "kserve-v2-grpc"):
        raise bad_value("--protocol", contract.protocol, "auto or kserve-v2-grpc for a grpc:// target")
    if not grpc_target and contract.protocol == "kserve-v2-grpc":
        raise bad_value("--target", target, "grpc://host:port/model or grpcs://... with --protocol kserve-v2-grpc")
    if (workers.local or workers.expect) and load.scenario:
        raise UsageError("bad load: --scenario runs in one process for now; leave out --workers/--expect-workers")
    skip = parse.skip(pick("skip", ()))
    seed = get("seed")
    label = parse.label(pick("label"), target)
    now = now or datetime.now(UTC)
    out = pick("out")
    out_dir = Path(out) if out else Path("reports") / f"{now:%Y%m%d-%H%M%S}-{label}"
    insecure = get("insecure")
    abort_rate, abort_grace_s = get("abort_on")
    brakes = Brakes(
        max_rps=get("max_rps"),
        max_concurrency=get("max_concurrency"),
        abort_error_rate=abort_rate,
        abort_grace_s=abort_grace_s,
    )
    return Plan(
        target=target,
        label=label,
        insecure=insecure,
        brakes=brakes,
        request=RequestSpec(
            url=target,
            method=method,
            headers=tuple(headers.items()),
            bodies=tuple(bodies),
            timeout_s=timeout_s,
            insecure=insecure,
            max_body_bytes=get("max_body"),
        ),
        load=load,
        probes=probes,
        gates=gates,
        skip=skip,
        out_dir=out_dir,
        seed=seed,
        api_key_env=str(api_key_env) if api_key_env else None,
        config_path=config_path,
        workers=workers,
        contract=contract,
        method_given=method_given,
        adversarial=AdversarialPlan(
            budget_s=get("adversarial_budget"),
            cases=get("adversarial_cases"),
            expect_rate_limit=get("expect_rate_limit"),
            public_paths=parse.paths("--public-path", pick("public_path"), ()),
        ),
        saturation_budget_s=get("saturation_budget"),
        chat=chat_plan(pick, base_dir, gates),
        slo_given=slo_given,
        evaluation=eval_plan(pick, base_dir),
        cost=cost_plan(pick, gates),
        outputs=get("output"),
        traffic=traffic,
        server_metrics=server_metrics_plan(pick),
        cold=cold_plan(pick, gates, load.rate if load.mode == "open" else None),
    )


def _embeddings_target(target: str, protocol: Any) -> bool:
    """An OpenAI embeddings endpoint, given or by its path (as benchbox.embeddings.setup decides)."""
    from urllib.parse import urlsplit

    if protocol not in (None, "auto"):
        return protocol == "openai-embeddings"
    return urlsplit(target).path.rstrip("/").endswith("/embeddings")


def _traffic_load(traffic: TrafficPlan, load: LoadPlan, flags: Mapping[str, Any], cfg: Mapping[str, Any]) -> LoadPlan:
    """A trace or a mix runs open loop: a trace at its own rate and for its own length (or
    --duration with --loop); a mix at --rate, or at the sum of its classes' rates."""
    if load.mode == "closed" or load.steps or load.scenario:
        raise UsageError(
            "bad load: --replay, --mix and --batch-sizes run open loop; leave out --users/--steps/--scenario"
        )
    if traffic.trace is not None:
        if traffic.mix_rate is not None:
            raise UsageError("bad --mix with --replay: the trace sets the rate; give the classes weights, not rates")
        if flags.get("rate") is not None:
            raise UsageError("bad --rate with --replay: the trace sets the rate; scale it with --time-scale F")
        span = traffic.trace.span_s / traffic.scale
        rate = len(traffic.trace.lines) / span
        duration = load.duration_s if traffic.loop else span
        return dataclasses.replace(load, rate=round(rate, 6), duration_s=duration, ramp=False, arrival="constant")
    rate_given = flags.get("rate") is not None or cfg.get("rate") is not None
    if traffic.mix_rate is not None and not rate_given:
        return dataclasses.replace(load, rate=traffic.mix_rate)
    return load


def _contract_plan(pick: Any, get: Any, base_dir: Path) -> ContractPlan:
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
            raise bad_value(
                f"--{key.replace('_', '-')}", str(value)[:80], f"a file path ({exc.strerror or exc})"
            ) from None
        return str(candidate)

    input_schema, output_schema, accept = path("input_schema"), path("output_schema"), path("accept")
    for flag, value in (("--input-schema", input_schema), ("--output-schema", output_schema)):
        if value:
            load_schema_file(value, flag)
    protocol, tol = get("protocol"), get("tolerance")
    openapi = pick("openapi")
    if openapi and not str(openapi).startswith(("http://", "https://")):
        openapi = path("openapi")
        check_json_file("--openapi", str(openapi), "an OpenAPI document (JSON) as a URL or a file")
    slow_factor, slow_min_ms = get("slow_input")
    return ContractPlan(
        slow_factor=slow_factor,
        slow_min_ms=slow_min_ms,
        input_schema=input_schema,
        output_schema=output_schema,
        openapi=openapi,
        protocol=protocol,
        cases=get("contract_cases"),
        tolerance=tol,
        accept=read_accept(accept) if accept else frozenset(),
        accept_file=accept,
        write_accept=pick("write_accept"),
    )


def _load_plan(flags: Mapping[str, Any], cfg: Mapping[str, Any], pick: Any, get: Any, base_dir: Path) -> LoadPlan:
    rate_flag, users_flag = flags.get("rate"), flags.get("users")
    # A flag for one mode overrides the config's other mode instead of clashing with it.
    rate = rate_flag if rate_flag is not None else (cfg.get("rate") if users_flag is None else None)
    users = users_flag if users_flag is not None else (cfg.get("users") if rate_flag is None else None)
    if rate is not None and users is not None:
        raise UsageError("bad load: --rate (open loop) and --users (closed loop) exclude each other; give one")
    arrival, duration_s, connections = get("arrival"), get("duration"), get("connections")
    ramp = bool(get("ramp"))
    scenario = pick("scenario")
    steps = parse.steps(pick("steps"), closed=users is not None or bool(scenario))
    if steps and ramp:
        raise UsageError("bad load: --ramp and --steps are two different shapes; give one")
    step_duration_s = None
    if steps:
        given = pick("step_duration")
        step_duration_s = parse_duration("--step-duration", given) if given else duration_s / len(steps)
        duration_s = step_duration_s * len(steps)
    shape: dict[str, Any] = {
        "ramp": ramp,
        "steps": steps,
        "step_duration_s": step_duration_s,
        "scenario": parse.scenario_path(scenario, base_dir) if scenario else None,
    }
    if users is not None or scenario:
        n = int(parse_positive("--users", users if users is not None else 1, integer=True))
        return LoadPlan("closed", None, n, arrival, duration_s, connections, **shape)
    r = parse_positive("--rate", rate if rate is not None else DEFAULT_RATE)
    return LoadPlan("open", r, None, arrival, duration_s, connections, **shape)
