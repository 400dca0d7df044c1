"""The adversarial stage: malformed and hostile inputs, shrunk findings, auth and rate-limit probes.

    from benchbox.adversarial import AdversarialOptions, run_adversarial
    section = run_adversarial(url, "POST", headers, examples, contract, AdversarialOptions(seed=1))

Names load lazily (PEP 562): result and report code that only need the dataclasses must not pay
for Hypothesis and httpx.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "AdversarialOptions": "model",
    "AdversarialSection": "model",
    "ClassStats": "model",
    "SEVERITY": "model",
    "run_adversarial": "runner",
}

__all__ = [  # a literal, so linters see the lazy names; the same names as _EXPORTS
    "AdversarialOptions",
    "AdversarialSection",
    "ClassStats",
    "SEVERITY",
    "run_adversarial",
]

if TYPE_CHECKING:  # pragma: no cover
    from benchbox.adversarial.model import SEVERITY, AdversarialOptions, AdversarialSection, ClassStats
    from benchbox.adversarial.runner import run_adversarial


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'benchbox.adversarial' has no attribute {name!r}")
    return getattr(import_module(f"benchbox.adversarial.{module}"), name)
