"""Every option of every command, declared once.

One `Option` per flag: its spelling, metavar, help, default and parser, its benchbox.toml key and
the TOML shape that key takes, whether it is a secret, and which commands take it. From this table
benchbox.cli builds each command's click options, benchbox.config_check checks a config file's keys
and shapes, benchbox.plan picks defaults and parsers, and `Plan.redacted()` (what `--dry-run`
prints and result.json records) lays the plan out. Adding a flag is one entry in OPTIONS.

This module imports neither click nor anything heavy: `benchbox --help` reads it at start-up.
What an Option is, and the functions its `show` uses, are in option_spec.py; parsers and TOML
shapes in option_kinds.py.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from benchbox.errors import ConfigError
from benchbox.option_kinds import (
    BOOL,
    JSON,
    LIST,
    TABLE,
    TABLE_OR_LIST,
    Shape,
    abort_on,
    boolean,
    choice,
    count,
    count_or_zero,
    duration,
    optional,
    port,
    positive,
    seed,
    size,
    slow_input,
    tolerance,
)
from benchbox.option_spec import COMMANDS as COMMANDS  # re-exported: tests read the commands here
from benchbox.option_spec import (
    COMPARE,
    DEMO,
    LIVE,
    RUN,
    Option,
    show_evaluation,
    show_gates,
    show_headers,
    show_list,
    show_prompts,
    show_public_url,
    show_traffic,
)
from benchbox.outputs import parse_outputs

O = Option  # noqa: E741 - one letter keeps the long table below readable
OPTIONS: tuple[Option, ...] = (
    # -- compare's own: which two things, and what counts as a regression
    O("baseline", "Live: the version running today.", COMPARE, "URL"),
    O("candidate", "Live: the version to ship.", COMPARE, "URL"),
    O(
        "max_regression",
        "Gate: p50|p90|p95|p99|rps|errors may be at most PCT worse, e.g. p95=10%; repeatable. "
        "Default: a significant regression beyond --min-effect fails; 'none' only reports.",
        COMPARE,
        "KEY=PCT",
        multiple=True,
        shape=TABLE_OR_LIST,
        example='{p95 = "10%"}',
    ),
    O("min_agreement", "Gate: at least PCT of shadow answers agree, e.g. 99%.", COMPARE, "PCT"),
    O("confidence", "Confidence level of the intervals (default 95%).", COMPARE, "95%"),
    O("min_effect", "Smaller changes are not called (default 5%).", COMPARE, "5%"),
    O("window", "Live: length of each alternating window (default 2s).", COMPARE, "2s"),
    O("shadow_cases", "Live: most inputs sent to both sides (default 200).", COMPARE, "N"),
    # -- the demo's server
    O("serve", "Only serve the demo model (Ctrl-C to stop).", DEMO, kind="flag", config=False),
    O("port", "With --serve: port to listen on (default 8000).", DEMO, "PORT", config=False),
    O("service_ms", "Extra service time per request (default 5 for the run).", DEMO, "MS", config=False),
    O("concurrency", "Most requests the demo serves at once (default 8 for the run).", DEMO, "N", config=False),
    O("model_version", "Which demo model to serve (default v1).", DEMO, "v1|v2", config=False),
    # -- `benchbox worker`
    O(
        "master",
        "The master to join (default port 5557).",
        frozenset({"worker"}),
        "HOST[:PORT]",
        required=True,
        config=False,
    ),
    # -- the target and the request
    O("target", "Endpoint to test, e.g. http://127.0.0.1:8000/v1/models/demo/predict.", RUN, "URL", record="target"),
    O(
        "config",
        "benchbox.toml to read; flags override its keys.",
        LIVE,
        "FILE",
        config=False,
        record="config",
        read="config_path",
    ),
    O(
        "body",
        "Request body: JSON text, @file.json, or @file.jsonl (one per line, round-robin).",
        LIVE,
        "JSON|@FILE",
        shape=JSON,
        record="bodies",
        read="request.bodies",
        show=len,
        help_for={"compare": "Request body, or @file.jsonl of inputs (also the shadow inputs)."},
    ),
    O(
        "method",
        "HTTP method (default POST with a body, else GET).",
        LIVE,
        "METHOD",
        record="method",
        read="request.method",
    ),
    O(
        "header",
        "Extra request header; repeatable.",
        LIVE,
        "'NAME: VALUE'",
        short="-H",
        multiple=True,
        config="headers",
        shape=TABLE,
        example='{X-Team = "ml"}',
        record="headers",
        read="request.headers",
        show=show_headers,
    ),
    O(
        "api_key_env",
        "Send 'Authorization: Bearer $VAR'; the key is never written anywhere.",
        LIVE,
        "VAR",
        record="api_key_env",
    ),
    # -- the load
    O(
        "rate",
        "Open loop: R requests/s on a fixed schedule (latency from the intended send time).",
        LIVE | DEMO,
        "R",
        record="load.rate",
        help_for={
            "compare": "Open loop at R requests/s on each side (default 50).",
            "demo": "Open-loop rate of the demo's load phase (default 50 req/s).",
        },
    ),
    O(
        "users",
        "Closed loop: N users sending back to back.",
        LIVE,
        "N",
        record="load.users",
        help_for={"compare": "Closed loop: N users on each side."},
    ),
    O(
        "arrival",
        "Open-loop arrivals (default constant).",
        LIVE,
        "constant|poisson",
        default="constant",
        parse=choice("constant", "poisson"),
        record="load.arrival",
    ),
    O(
        "duration",
        "Length of the load phase (default 20s).",
        LIVE | DEMO,
        "20s",
        default=20.0,
        parse=duration,
        record="load.duration_s",
        metavar_for={"demo": "10s"},
        help_for={
            "compare": "Load time per side (default 20s).",
            "demo": "Length of the demo's load phase (default 10s).",
        },
    ),
    O(
        "timeout",
        "Per-request timeout (default 10s).",
        LIVE,
        "10s",
        default=10.0,
        parse=duration,
        record="timeout_s",
        read="request.timeout_s",
    ),
    O(
        "connections",
        "Open loop: most requests in flight at once (default 256).",
        LIVE,
        "N",
        default=256,
        parse=count,
        record="load.connections",
    ),
    O(
        "ramp",
        "Ramp the rate (from 0) or users (from 1) linearly over --duration.",
        RUN,
        kind="flag",
        default=False,
        shape=BOOL,
        record="load.ramp",
    ),
    O(
        "steps",
        "Step shape: one phase per level (req/s, or users with --users).",
        RUN,
        "L1,L2,...",
        shape=LIST,
        example="[10, 20, 40]",
        record="load.steps",
        show=show_list,
    ),
    O(
        "step_duration",
        "Length of each step (default --duration split evenly).",
        RUN,
        "10s",
        record="load.step_duration_s",
    ),
    O(
        "scenario",
        "Run an existing locustfile's users against --target (its host).",
        RUN,
        "LOCUSTFILE",
        record="load.scenario",
    ),
    # -- production-shaped traffic (benchbox.traffic): a replayed trace, a mix, batch sizes
    O(
        "replay",
        "Replay a trace on its own clock: JSONL, CSV, or an nginx/Apache/JSON access log (open loop).",
        RUN,
        "FILE",
        record="traffic",
        show=show_traffic,
    ),
    O("time_scale", "With --replay: replay F times as fast (2 = twice the rate, half the time).", RUN, "F"),
    O(
        "replay_window",
        "With --replay: only the lines from START to END of the trace, e.g. 30s..90s.",
        RUN,
        "START..END",
    ),
    O(
        "loop",
        "With --replay: start the trace over until --duration ends.",
        RUN,
        kind="flag",
        default=False,
        shape=BOOL,
    ),
    O(
        "mix",
        "Traffic mix: a TOML file of [[mix]] classes (weight or rate, route, method, bodies, headers, slo).",
        RUN,
        "FILE",
        shape=Shape((str, list), "[[mix]] tables (or a TOML file's path)", scalar_items=False),
        example='[{name = "search", weight = 70, route = "/search"}]',
    ),
    O(
        "batch_sizes",
        "Batch sizes and their shares, SIZE[:WEIGHT],... e.g. 1:70,8:25,64:5: bodies resized to them, latency "
        "per size. An openai-embeddings target takes the sizes as inputs per request (default 1,8).",
        RUN,
        "S[:W],...",
        shape=LIST,
        example='["1:70", "8:25", "64:5"]',
    ),
    O(
        "workers",
        "Run the load on a Locust master plus N local worker processes.",
        RUN,
        "N",
        default=0,
        parse=count_or_zero,
        record="workers.local",
    ),
    O(
        "expect_workers",
        "Also wait for N workers joining with `benchbox worker`.",
        RUN,
        "N",
        default=0,
        parse=count_or_zero,
        record="workers.expect",
    ),
    O(
        "master_bind",
        "Where the master listens for workers (default 127.0.0.1).",
        RUN,
        "HOST",
        default="127.0.0.1",
        parse=lambda flag, value: str(value),
        record="workers.bind",
    ),
    O(
        "master_port",
        "The master's port (default: a free one, printed).",
        RUN,
        "PORT",
        default=0,
        parse=port,
        record="workers.port",
    ),
    # -- gates and phases
    O(
        "slo",
        "Gate: p50|p90|p95|p99|p99_9|max=200ms, errors=1%, min_rps=100; LLM: "
        "ttft_p95=500ms, itl_p95=50ms, goodput=90%, min_tps=500; cost: cost_per_1k<=0.05, "
        "cost_per_1m<=50, cost_per_1m_tokens<=2.5, replicas<=4; server metrics: server.waiting.max<=10, "
        "server.rss.slope<=10MB/min, p99_slope<=5ms/min; cold start: time_to_ready<=30s, "
        "first_request<=1s; repeatable.",
        RUN,
        "KEY=VALUE",
        multiple=True,
        shape=TABLE_OR_LIST,
        example='{p95 = "200ms"}',
        record="gates",
        read="gates",
        show=show_gates,
    ),
    O(
        "skip",
        "Phases to leave out: contract, adversarial, eval, load, saturation.",
        LIVE,
        "PHASE[,PHASE]",
        shape=LIST,
        example='["saturation"]',
        record="skip",
        show=sorted,
        metavar_for={"compare": "PART[,PART]"},
        help_for={"compare": "Live: leave out load, shadow, eval or contract (input discovery)."},
    ),
    # -- evaluation on a labelled set (recorded as one section by benchbox.evaluate.plan.redacted)
    O(
        "eval",
        "Held-out labelled set (.jsonl or .csv) to score the endpoint on.",
        LIVE,
        "FILE",
        record="evaluation",
        show=show_evaluation,
        help_for={"compare": "Live: both sides score this labelled set (.jsonl or .csv); compared row by row."},
    ),
    O(
        "eval_input",
        "The column holding the request body, or feature columns making one instance (default 'input').",
        LIVE,
        "COLUMN|COL1,COL2,...",
        shape=LIST,
        example='["age", "income"]',
    ),
    O(
        "eval_label",
        "The column holding the expected label or value (default 'label').",
        LIVE,
        "COLUMN",
        default="label",
    ),
    O(
        "eval_slice",
        "Also score per value of this column (e.g. region); repeatable.",
        LIVE,
        "COLUMN",
        multiple=True,
        shape=LIST,
        example='["region"]',
    ),
    O(
        "eval_task",
        "What the labels are (default auto: numbers with fractions are regression).",
        LIVE,
        "auto|classification|regression",
        default="auto",
        parse=choice("auto", "classification", "regression"),
    ),
    O(
        "eval_classes",
        "Class names in index order, when the answers give only an index (KServe V2).",
        LIVE,
        "NAME,NAME,...",
        shape=LIST,
        example='["cat", "dog"]',
    ),
    O(
        "gate",
        "Evaluation gate: accuracy>=0.9, f1_macro>=0.85, slice:region=eu:accuracy>=0.85, ece<=0.05, mae<=2; "
        "gap across slices: slice_gap:region:accuracy<=3%, slice_gap:region:demographic_parity<=10%; "
        "repeatable.",
        RUN,
        "EXPR",
        multiple=True,
        shape=LIST,
        example='["accuracy>=0.9"]',
    ),
    O(
        "eval_positive",
        "The positive class for demographic parity and equal opportunity (default: 1/true/yes, else the rarer of two).",
        LIVE,
        "LABEL",
    ),
    # -- cost and sizing (benchbox.capacity_plan parses them together)
    O("cost_per_hour", "Price of one serving instance per hour (any currency): cost per 1k/1M requests.", RUN, "PRICE"),
    O("replicas", "Instances behind --target, each at --cost-per-hour (default 1).", RUN, "N"),
    O("expected_rps", "Expected production load: the replicas it needs within the SLO.", RUN, "R"),
    O("headroom", "Spare capacity to keep above --expected-rps (default 30%).", RUN, "30%"),
    # -- the target's own metrics (benchbox.servermetrics.plan parses them together)
    O(
        "server_metrics",
        "Prometheus endpoint scraped during load and saturation; repeatable. Default: the target's "
        "own /metrics when it serves Prometheus text; 'none' turns it off.",
        RUN,
        "URL",
        multiple=True,
        shape=LIST,
        example='["http://127.0.0.1:8002/metrics"]',
        record="server_metrics.urls",
        show=lambda urls: [show_public_url(u) for u in urls],
    ),
    O("scrape_interval", "How often --server-metrics is scraped (default 1s).", RUN, "DURATION"),
    O(
        "start",
        "Start the target with this command (no shell) and stop it at the end: time to ready counts "
        "from its process start (a cold start).",
        RUN,
        "CMD",
    ),
    O(
        "warmup",
        "A warm-up phase first, kept out of the gates and percentiles but shown: a duration (30s) "
        "or a number of requests at --rate.",
        RUN,
        "30s|N",
    ),
    O(
        "first_requests",
        "Requests sent one by one right after ready, timed apart from the steady state "
        "(default 3 with --start or a first_request gate, else 0).",
        RUN,
        "N",
    ),
    O(
        "server_metric",
        "A metric to chart beside the presets' series (vLLM, Triton, MLServer, TorchServe, process, DCGM); repeatable.",
        RUN,
        "NAME",
        multiple=True,
        shape=LIST,
        example='["vllm:num_requests_swapped"]',
        record="server_metrics.extra",
        show=show_list,
    ),
    # -- the contract
    O(
        "openapi",
        "OpenAPI document (default: <origin>/openapi.json, /docs/openapi.json).",
        LIVE,
        "URL|FILE",
        record="contract.openapi",
    ),
    O("input_schema", "JSON Schema of a valid request body.", LIVE, "FILE", record="contract.input_schema"),
    O("output_schema", "JSON Schema of a 2xx answer.", RUN, "FILE", record="contract.output_schema"),
    O(
        "protocol",
        "Force the protocol (default auto).",
        LIVE,
        "auto|json|kserve-v2|kserve-v2-grpc|openai-chat|openai-completions|openai-embeddings",
        default="auto",
        parse=choice(
            "auto", "json", "kserve-v2", "kserve-v2-grpc", "openai-chat", "openai-completions", "openai-embeddings"
        ),
        record="contract.protocol",
        metavar_for={"compare": "auto|json|kserve-v2"},
    ),
    # -- openai-chat (parsed with the chat plan: benchbox.llm.options)
    O(
        "prompts",
        "openai-chat: prompts, one per line (default: a bundled set of varied lengths).",
        RUN,
        "FILE.jsonl",
        record="chat.prompts",
        read="chat",
        show=show_prompts,
    ),
    O(
        "max_tokens",
        "openai-chat: max_tokens per request (default 128).",
        RUN,
        "N",
        default=128,
        parse=count,
        record="chat.max_tokens",
    ),
    O(
        "model",
        "openai-chat: the model to ask for (default: the first in /v1/models).",
        RUN,
        "NAME",
        record="chat.model",
    ),
    O(
        "stream",
        "openai-chat: stream answers (SSE; the default).",
        RUN,
        kind="switch",
        default=True,
        parse=boolean,
        shape=BOOL,
        record="chat.stream",
    ),
    O(
        "system_prompt",
        "openai-chat: a system prompt sent with every prompt.",
        RUN,
        "TEXT|@FILE",
        secret=True,
        record="chat.system_prompt",
    ),
    O(
        "canary",
        "openai-chat: a secret word in the system prompt; a reply that leaks it is a finding.",
        RUN,
        "WORD",
        secret=True,
        record="chat.canary",
    ),
    O(
        "contract_cases",
        "Generated valid inputs to check (default 100).",
        RUN,
        "N",
        default=100,
        parse=count,
        record="contract.cases",
    ),
    O(
        "tolerance",
        "Relative difference allowed between two answers to one input (default 1e-6).",
        LIVE,
        "X",
        default=1e-6,
        parse=tolerance,
        record="contract.tolerance",
        help_for={"compare": "Shadow: relative difference allowed between two numbers (default 1e-6)."},
    ),
    O(
        "accept",
        "Accepted findings: listed ones do not fail the verdict.",
        RUN,
        "FILE",
        record="contract.accept",
        read="contract.accept_file",
    ),
    O(
        "write_accept",
        "Write this run's contract findings as an accept file.",
        RUN,
        "FILE",
        record="contract.write_accept",
    ),
    O(
        "saturation_budget",
        "Load time the saturation search may use (default 90s).",
        RUN,
        "90s",
        default=90.0,
        parse=duration,
        record="saturation.budget_s",
        read="saturation_budget_s",
    ),
    O(
        "adversarial_budget",
        "Time the adversarial phase may take (default 30s).",
        RUN,
        "30s",
        default=30.0,
        parse=duration,
        record="adversarial.budget_s",
    ),
    O(
        "adversarial_cases",
        "Most malformed or hostile inputs to send (default 150).",
        RUN,
        "N",
        default=150,
        parse=count,
        record="adversarial.cases",
    ),
    O(
        "expect_rate_limit",
        "The endpoint promises a limit of R req/s: a burst must meet 429.",
        RUN,
        "R",
        parse=optional(positive),
        record="adversarial.expect_rate_limit",
    ),
    O(
        "slow_input",
        "When one input counts as slow: FACTORx the median answer and at least DURATION (default 10x,500ms).",
        RUN,
        "10x,500ms",
        default=(10.0, 500.0),
        parse=slow_input,
        record="contract.slow_input",
        read="contract",
        show=lambda c: {"factor": c.slow_factor, "min_ms": c.slow_min_ms},
    ),
    O(
        "public_path",
        "A route that may answer without the API key (health and readiness already may); repeatable.",
        RUN,
        "PATH",
        multiple=True,
        config="public_paths",
        shape=LIST,
        example='["/version"]',
        record="adversarial.public_paths",
        show=show_list,
    ),
    # -- the probes
    O(
        "health_path",
        "Health probe path (default /health, /healthz).",
        LIVE,
        "PATH",
        multiple=True,
        config="health_paths",
        shape=LIST,
        example='["/health"]',
        record="probes.health_paths",
        show=show_list,
    ),
    O(
        "ready_path",
        "Readiness probe path (default /ready, /v2/health/ready).",
        LIVE,
        "PATH",
        multiple=True,
        config="ready_paths",
        shape=LIST,
        example='["/ready"]',
        record="probes.ready_paths",
        show=show_list,
    ),
    O(
        "ready_timeout",
        "How long to wait for the target to become ready (default 30s).",
        LIVE,
        "30s",
        default=30.0,
        parse=duration,
        record="probes.ready_timeout_s",
    ),
    # -- where, what and how
    O(
        "out",
        "Where to write results (default reports/<time>-<label>/).",
        LIVE | DEMO | {"report"},
        "DIR",
        record="out_dir",
        show=str,
        help_for={
            "compare": "Where to write (default reports/<time>-compare/, or beside CANDIDATE.json).",
            "demo": "Where to write the demo's report.",
            "report": "Where to write the reports (default: beside RESULT.json).",
        },
    ),
    O(
        "output",
        "Send each second's figures live while the run goes: csv=FILE, jsonl=FILE, "
        "prometheus-rw=URL (remote write), otlp=URL (OpenTelemetry over HTTP); repeatable.",
        LIVE,
        "KIND=TARGET",
        multiple=True,
        config="outputs",
        shape=LIST,
        example='["prometheus-rw=http://127.0.0.1:9090/api/v1/write"]',
        parse=parse_outputs,
        record="outputs",
        read="outputs",
        show=lambda specs: [s.shown for s in specs],
    ),
    O("label", "Name for this run (default host-port).", RUN, "NAME", record="label"),
    O(
        "seed",
        "Seed for every random choice (default: random, recorded in the result).",
        LIVE,
        "N",
        parse=seed,
        record="seed",
        help_for={"compare": "Seed for the inputs, the load and the bootstrap."},
    ),
    # -- brakes: how hard benchbox may push (benchbox.brakes)
    O(
        "insecure",
        "Accept any TLS certificate (self-signed, expired, wrong host).",
        LIVE,
        kind="flag",
        default=False,
        parse=boolean,
        shape=BOOL,
        record="insecure",
    ),
    O(
        "max_rps",
        "Brake: no phase sends more than R requests/s (load, saturation, contract, adversarial).",
        LIVE,
        "R",
        parse=optional(positive),
        record="brakes.max_rps",
    ),
    O(
        "max_concurrency",
        "Brake: no phase keeps more than N requests in flight.",
        LIVE,
        "N",
        parse=optional(count),
        record="brakes.max_concurrency",
    ),
    O(
        "abort_on",
        "Brake: stop the load once this share of requests fails over the grace period (default errors=20%,after=5s).",
        LIVE,
        "errors=20%[,after=5s]|off",
        parse=abort_on,
        record="brakes.abort_on",
        read="brakes",
        show=lambda brakes: brakes.describe_abort(),
    ),
    O(
        "max_body",
        "Read answers up to this size; longer ones are cut off and counted as errors (default 4MiB).",
        LIVE,
        "4MiB",
        default=4 * 1024 * 1024,
        parse=size,
        record="max_body_bytes",
        read="request.max_body_bytes",
    ),
    O("dry_run", "Validate every flag and file, print the plan as JSON, send nothing.", RUN, kind="flag", config=False),
    O(
        "quiet",
        "No progress output while the run goes.",
        LIVE | DEMO,
        short="-q",
        kind="flag",
        config=False,
        help_for={"compare": "No progress output.", "demo": "No per-second progress lines."},
    ),
)
del O

BY_NAME: Mapping[str, Option] = {o.name: o for o in OPTIONS}
CONFIG_KEYS: frozenset[str] = frozenset(k for o in OPTIONS if (k := o.toml_key) is not None)
_BY_KEY: Mapping[str, Option] = {o.toml_key: o for o in OPTIONS if o.toml_key is not None}


def for_command(command: str) -> tuple[Option, ...]:
    """The options `command` takes, in the order its --help lists them."""
    return tuple(o for o in OPTIONS if command in o.commands)


def option_for_key(key: str) -> Option | None:
    """The option a benchbox.toml key sets (None: not a key)."""
    return _BY_KEY.get(key)


def check_keys(path: str, keys: Iterable[str]) -> None:
    """Unknown keys are errors: a typo must not silently change a run."""
    unknown = sorted(set(keys) - CONFIG_KEYS)
    if unknown:
        raise ConfigError(
            f"bad config {path!r}: unknown key {unknown[0]!r}; expected one of {', '.join(sorted(CONFIG_KEYS))}"
        )


def config_for(command: str, config: Mapping[str, Any]) -> dict[str, Any]:
    """The keys of a (checked) config that `command` takes; one file may serve run and compare."""
    return {
        k: v
        for k, v in config.items()
        if k.startswith("_") or ((o := _BY_KEY.get(k)) is not None and command in o.commands)
    }


def parsed(name: str, raw: Any) -> Any:
    """An option's value from its raw flag or config value, by the table's default and parser."""
    return BY_NAME[name].value(raw)


def recorded(plan: Any, derived: Mapping[str, Any]) -> dict[str, Any]:
    """The plan laid out by the table (the form `Plan.redacted()` returns), with the `derived`
    entries (dotted keys: values no single option holds) put in their sections. A secret option
    shows only whether it was given."""
    from benchbox.findings import REDACTED

    out: dict[str, Any] = {}
    entries: list[tuple[str, Any]] = []
    for o in OPTIONS:
        if o.record is None:
            continue
        value: Any = plan
        for part in (o.read or o.record).split("."):
            value = getattr(value, part)
        if o.secret:
            value = REDACTED if value is not None else None
        elif o.show is not None:
            value = o.show(value)
        entries.append((o.record, value))
    for key, value in [*entries, *derived.items()]:
        *sections, last = key.split(".")
        place = out
        for section in sections:
            place = place.setdefault(section, {})
        place[last] = value
    return out
