"""`--eval FILE`, `--eval-input`, `--eval-label`, `--eval-slice`, `--gate`: the evaluation's plan.

Checked when the plan is built: a bad gate, a missing file or a bad row is a usage error before
any request is sent (the file is read in full here, so a malformed line names itself up front).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchbox.errors import UsageError, bad_value
from benchbox.evaluate.gates import parse_gate
from benchbox.evaluate.model import EvalPlan
from benchbox.options import parsed


def eval_plan(pick: Callable[..., Any], base_dir: Path) -> EvalPlan | None:
    """The evaluation plan from flags over config, or None when no --eval was given."""
    path = pick("eval")
    gates = tuple(parse_gate(text) for text in _texts(pick("gate", ())))
    if not path:
        if gates:
            raise UsageError(f"bad --gate {gates[0].text!r}: an evaluation gate needs a labelled set (--eval FILE)")
        for key in ("eval_input", "eval_label", "eval_slice", "eval_classes", "eval_positive"):
            if pick(key):
                raise UsageError(f"bad --{key.replace('_', '-')}: it describes the labelled set given with --eval FILE")
        return None
    candidate = Path(str(path))
    if not candidate.is_absolute() and not candidate.exists() and (base_dir / candidate).exists():
        candidate = base_dir / candidate
    task = parsed("eval_task", pick("eval_task"))
    plan = EvalPlan(
        path=str(candidate),
        input_columns=_columns(pick("eval_input")),
        label=str(parsed("eval_label", pick("eval_label"))).strip() or "label",
        slices=_columns(pick("eval_slice")),
        task=task,
        gates=gates,
        classes=_columns(pick("eval_classes")),
        positive=str(pick("eval_positive")).strip() if pick("eval_positive") is not None else None,
    )
    from benchbox.evaluate.data import read_set

    read_set(plan.path, plan.input_columns, plan.label, plan.slices, regression=task == "regression")
    for gate in gates:
        if gate.slice_column is not None and gate.slice_column not in plan.slices:
            raise bad_value(
                "--gate",
                gate.text,
                f"a slice column given with --eval-slice ({', '.join(plan.slices) or 'none given'})",
            )
    return plan


def _texts(value: Any) -> list[str]:
    if value is None or value == ():
        return []
    return [value] if isinstance(value, str) else [str(v) for v in value]


def _columns(value: Any) -> tuple[str, ...]:
    """'a,b' or ['a', 'b'] (repeatable flag or TOML list) -> ('a', 'b')."""
    out: list[str] = []
    for text in _texts(value):
        out += [c.strip() for c in text.split(",") if c.strip()]
    return tuple(dict.fromkeys(out))


def redacted(plan: EvalPlan | None) -> dict[str, Any] | None:
    """The evaluation plan as result.json records it."""
    return None if plan is None else plan.recorded()
