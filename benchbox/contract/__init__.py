"""The contract stage: discover what an endpoint promises, generate valid inputs, check every answer.

    from benchbox.contract import ContractOptions, run_contract
    section = run_contract(url, "POST", headers, examples, ContractOptions(cases=100, seed=1))

Names are loaded lazily (PEP 562): `benchbox --help` and result/report code that only need the
dataclasses must not pay for Hypothesis, jsonschema and httpx.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "Contract": "model",
    "ContractOptions": "model",
    "ContractSection": "model",
    "RuleCount": "model",
    "TensorSpec": "model",
    "HealthSpec": "model",
    "BatchPoint": "model",
    "Route": "model",
    "SlowRule": "model",
    "discover": "discovery",
    "run_contract": "runner",
    "check_response": "checks",
    "evaluate": "checks",
    "body_text": "checks",
    "valid_inputs": "generate",
    "read_accept": "accept",
    "write_accept": "accept",
    "split_accepted": "accept",
}

__all__ = [  # a literal, so linters see the lazy names; the same names as _EXPORTS
    "BatchPoint",
    "Contract",
    "ContractOptions",
    "ContractSection",
    "HealthSpec",
    "Route",
    "RuleCount",
    "SlowRule",
    "TensorSpec",
    "body_text",
    "check_response",
    "discover",
    "evaluate",
    "read_accept",
    "run_contract",
    "split_accepted",
    "valid_inputs",
    "write_accept",
]

if TYPE_CHECKING:  # pragma: no cover
    from benchbox.contract.accept import read_accept, split_accepted, write_accept
    from benchbox.contract.checks import body_text, check_response, evaluate
    from benchbox.contract.discovery import discover
    from benchbox.contract.generate import valid_inputs
    from benchbox.contract.model import (
        BatchPoint,
        Contract,
        ContractOptions,
        ContractSection,
        HealthSpec,
        Route,
        RuleCount,
        SlowRule,
        TensorSpec,
    )
    from benchbox.contract.runner import run_contract


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'benchbox.contract' has no attribute {name!r}")
    return getattr(import_module(f"benchbox.contract.{module}"), name)
