"""KServe V2 / Open Inference Protocol over gRPC (`--protocol kserve-v2-grpc`, `grpc://host:port/model`).

Preflight asks ServerLive, ServerReady and ModelReady; the contract comes from ModelMetadata and
is checked with the HTTP face's V2 rules (benchbox.grpc_v2.contract); the adversarial stage sends
hostile tensors (benchbox.grpc_v2.probes); the load and the saturation search send the generated
tensors from the generator process (benchbox.load.grpc_client), as the HTTP faces do.
"""

from __future__ import annotations

import json
import time
from typing import Any

from benchbox.adapters.base import Adapter
from benchbox.adversarial.model import AdversarialSection
from benchbox.context import RunContext
from benchbox.contract.model import ContractSection
from benchbox.result import Preflight, Probe, ProbeOutcome
from benchbox.saturation.model import Saturation

PROTOCOL = "kserve-v2-grpc"
_POLL_S = 0.2


def wants_grpc(target: str, protocol: str) -> bool:
    return protocol == PROTOCOL or target.startswith(("grpc://", "grpcs://"))


class GrpcV2(Adapter):
    name = PROTOCOL

    def unsupported(self, stage: str) -> str | None:
        if stage == "eval":
            return "--eval scores JSON answers over HTTP; a gRPC target has no such face here"
        return None

    def protocol(self, ctx: RunContext) -> str:
        return PROTOCOL

    def _client(self, ctx: RunContext, timeout_s: float | None = None) -> Any:
        from benchbox.grpc_v2.calls import Client, parse_target

        plan = ctx.effective
        return Client(
            parse_target(plan.target),
            dict(plan.request.headers),
            timeout_s or plan.request.timeout_s,
            plan.insecure,
            plan.request.max_body_bytes,
        )

    def preflight(self, ctx: RunContext) -> tuple[Preflight, str | None]:
        """ServerLive, then ServerReady and ModelReady, polled until ready or --ready-timeout."""
        from benchbox.kserve_grpc import grpc_predict_v2_pb2 as pb

        ctx.phase("preflight: ServerLive, ServerReady and ModelReady over gRPC")
        plan = ctx.effective
        started = time.monotonic()
        deadline = started + plan.probes.ready_timeout_s
        with self._client(ctx, min(5.0, plan.request.timeout_s)) as client:
            t = client.target
            while True:
                live = client.call("ServerLive", pb.ServerLiveRequest())
                server = client.call("ServerReady", pb.ServerReadyRequest())
                model = client.call("ModelReady", pb.ModelReadyRequest(name=t.model, version=t.version))
                is_live = live.code == "OK" and live.reply.live
                is_ready = all(a.code == "OK" and a.reply.ready for a in (server, model))
                if (is_live and is_ready) or time.monotonic() >= deadline or model.code == "NOT_FOUND":
                    break
                time.sleep(_POLL_S)
            version = None
            if is_ready:
                meta = client.call("ModelMetadata", pb.ModelMetadataRequest(name=t.model, version=t.version))
                if meta.code == "OK" and meta.reply.versions:
                    version = t.version or str(meta.reply.versions[0])
        reachable = any(a.code not in ("UNAVAILABLE", "DEADLINE_EXCEEDED") for a in (live, server, model))
        health = ProbeOutcome(bool(is_live), "ServerLive", _say(live), (_probe("ServerLive", live),))
        ready = ProbeOutcome(
            bool(is_ready),
            "ModelReady",
            f"server {_say(server)}; model {t.model!r} {_say(model)}",
            (_probe("ServerReady", server), _probe("ModelReady", model)),
        )
        error = None
        if not reachable:
            error = f"cannot reach {t.address} over gRPC: {live.code} {live.details}"[:300]
        elif not (is_live and is_ready):
            error = f"not ready within {plan.probes.ready_timeout_s:g}s: {ready.detail}"[:300]
        waited = time.monotonic() - started
        return Preflight(reachable, health, ready, round(waited, 3), error=error), version

    def contract(self, ctx: RunContext) -> ContractSection:
        from benchbox.grpc_v2.contract import run_contract

        ctx.phase("contract: ModelMetadata over gRPC, then valid tensors checked against it")
        with self._client(ctx) as client:
            section, ctx.found = run_contract(client, ctx.effective, ctx.secret_headers, ctx.say)
        ctx.say(f"contract: {section.requests} requests, {len(section.violations)} findings (kserve-v2-grpc)")
        return section

    def adversarial(self, ctx: RunContext) -> AdversarialSection:
        from benchbox.grpc_v2.contract import read_metadata
        from benchbox.grpc_v2.probes import run_adversarial

        plan = ctx.effective
        ctx.phase(f"adversarial: hostile tensors over gRPC for up to {plan.adversarial.budget_s:g}s")
        with self._client(ctx) as client:
            contract = ctx.found
            if contract is None:
                contract, why = read_metadata(client)
                if contract is None:
                    return AdversarialSection(plan.target, "ModelInfer", plan.seed, 0, 1, False, skipped=why)
            base = self._valid(ctx, contract)
            section = run_adversarial(client, plan, contract, base, ctx.secret_headers, ctx.say)
        ctx.say(
            f"adversarial: {section.cases} cases, {len(section.findings)} findings, "
            f"healthy after: {section.healthy_after}"
        )
        return section

    def _valid(self, ctx: RunContext, contract: Any) -> dict[str, Any]:
        if ctx.effective.request.bodies:
            return dict(json.loads(ctx.effective.request.bodies[0]))
        from benchbox.contract import valid_inputs

        return dict(valid_inputs(contract, 1, ctx.plan.seed)[0])

    def inputs(self, ctx: RunContext, pool_size: int = 100, discover: bool = False) -> None:
        """The load's bodies: V2 JSON requests generated from ModelMetadata (the generator makes them protobuf)."""
        if ctx.effective.request.bodies:
            return
        if ctx.found is None:
            from benchbox.grpc_v2.contract import read_metadata

            with self._client(ctx) as client:
                ctx.found, why = read_metadata(client)
            if ctx.found is None:
                ctx.say(f"no contract: {why}; give --body with a V2 JSON request")
                return
        from benchbox.contract import body_text, valid_inputs

        pool = tuple(body_text(b) for b in valid_inputs(ctx.found, pool_size, ctx.plan.seed))
        if discover:
            ctx.say(f"inputs: {len(pool)} valid tensors generated from ModelMetadata")
        ctx.learn_request(bodies=pool, method="POST")
        ctx.inputs = "contract (ModelMetadata over gRPC)"

    def after_load(self, ctx: RunContext) -> None:
        if ctx.contract is not None and ctx.found is not None:
            from benchbox.grpc_v2.contract import check_load_samples

            ctx.contract = check_load_samples(ctx.contract, ctx.found, ctx.phases, ctx.effective)

    def saturation(self, ctx: RunContext) -> Saturation:
        from benchbox.adapters.http import JsonApi

        return JsonApi.saturation(self, ctx)  # type: ignore[arg-type]  # protocol-free: the generator sends


def _say(answer: Any) -> str:
    return answer.code if answer.code != "OK" else "OK"


def _probe(name: str, answer: Any) -> Probe:
    """A gRPC probe in the HTTP probe's record: the status is the gRPC code's number (0 = OK)."""
    import grpc

    number = getattr(grpc.StatusCode, answer.code).value[0] if hasattr(grpc.StatusCode, answer.code) else None
    failed = answer.code != "OK" or not (getattr(answer.reply, "live", True) and getattr(answer.reply, "ready", True))
    error = f"{answer.code}: {answer.details}"[:200] if answer.code != "OK" else ("not ready" if failed else None)
    return Probe(name, number, round(answer.latency_ms, 3), error)
