"""`benchbox compare`: is the candidate better, worse or the same as the baseline?

    stats.py    block bootstrap over seconds on exactly merged HDR histograms -> MetricDiff
    saved.py    two Results -> a Comparison (also the last step of live mode)
    live.py     the same load at both targets in alternating windows; saves each side's result
    shadow.py   the same inputs to both: agreement, largest disagreements, distribution shift
    gates.py    --max-regression / --min-agreement parsed into objects and judged
    options.py  the command's flags validated into a CompareRequest
    model.py    the compare document (benchbox.compare/v1) the report is rendered from

Like benchbox.contract, nothing heavy is imported here: the CLI imports the modules it needs.
"""

from __future__ import annotations

import sys
import types
from typing import Any


class _Callable(types.ModuleType):
    """`benchbox.compare(...)` is the Python API's compare (benchbox.api.compare), and
    `benchbox.compare` is also this package: once any of its modules is imported, Python sets the
    package as the attribute `compare` of benchbox, over the function. Calling the package is the
    function, so both spellings stay right whatever was imported first."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from benchbox.api import compare

        return compare(*args, **kwargs)


sys.modules[__name__].__class__ = _Callable
