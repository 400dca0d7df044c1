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
from typing import Any

from benchbox import flags as parse
from benchbox.brakes import Brakes
from benchbox.capacity import CostPlan
from benchbox.capacity_plan import cost_plan
from benchbox.coldstart.plan import ColdPlan, cold_plan
from benchbox.config_check import check_config
from benchbox.contract.plan import ContractPlan, contract_plan
from benchbox.errors import ConfigError, UsageError, bad_value
from benchbox.evaluate.model import EvalPlan
from benchbox.evaluate.plan import eval_plan
from benchbox.flags import PHASES, REDACTED  # noqa: F401 - re-exported: the plan's vocabulary
from benchbox.gates import DEFAULT_SLOS, GateSpec, merge_slos
from benchbox.llm.model import ChatSpec
from benchbox.llm.options import ChatPlan, chat_plan
from benchbox.load.spec import PhaseSpec, RequestSpec, RunSpec
from benchbox.load_shape import DEFAULT_RATE as DEFAULT_RATE  # re-exported: the tests read the default here
from benchbox.load_shape import LoadPlan, WorkerPlan, load_plan, traffic_load
from benchbox.options import BY_NAME, CONFIG_KEYS, parsed  # noqa: F401 - CONFIG_KEYS re-exported
from benchbox.outputs import OutputSpec
from benchbox.servermetrics.plan import ServerMetricsPlan, server_metrics_plan
from benchbox.traffic.plan import TrafficPlan, traffic_plan

DEFAULT_DURATION_S = BY_NAME["duration"].default
DEFAULT_TIMEOUT_S = BY_NAME["timeout"].default
DEFAULT_CONNECTIONS = BY_NAME["connections"].default
DEFAULT_HEALTH_PATHS = ("/health", "/healthz")
DEFAULT_READY_PATHS = ("/ready", "/v2/health/ready")
DEFAULT_READY_TIMEOUT_S = BY_NAME["ready_timeout"].default

_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")


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
    load = load_plan(flags, cfg, pick, get, base_dir)
    traffic = traffic_plan(pick, base_dir)
    if traffic.sizes and _embeddings_target(target, pick("protocol")):  # its inputs per request (llm.options)
        traffic = dataclasses.replace(traffic, sizes=())
    if traffic.active:
        load = traffic_load(traffic, load, flags, cfg)
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
    contract = contract_plan(pick, get, base_dir)
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
