"""Protocol adapters: each protocol's implementation of the pipeline's stages.

Adding a protocol (gRPC, embeddings, ...) is a new Adapter subclass here and one line in `initial`
or in an existing adapter's `refine`; the pipeline itself does not change.
"""

from __future__ import annotations

from benchbox.adapters.base import Adapter, Scenario, braked, describe, run_load
from benchbox.plan import Plan


def initial(plan: Plan) -> Adapter:
    """The adapter before the target has said anything: refined after preflight (Adapter.refine)."""
    if plan.load.scenario:
        return Scenario()
    from benchbox.adapters.grpc_v2 import GrpcV2, wants_grpc

    if wants_grpc(plan.target, plan.contract.protocol):
        return GrpcV2()
    from benchbox.adapters.http import JsonApi

    return JsonApi()


__all__ = ["Adapter", "Scenario", "braked", "describe", "initial", "run_load"]
