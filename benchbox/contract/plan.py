"""The contract part of a run's plan: where the contract comes from and how hard it is checked,
read from the flags and benchbox.toml (benchbox.plan.build_plan calls contract_plan)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchbox.config_check import check_json_file
from benchbox.errors import bad_value


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


def contract_plan(pick: Any, get: Any, base_dir: Path) -> ContractPlan:
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
