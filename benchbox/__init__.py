"""benchbox: is this endpoint ready for production traffic? Measured, not guessed.

The Python API (benchbox.api) is imported on first use, so `import benchbox` and
`benchbox --help` stay instant:

    import benchbox
    result = benchbox.run(target="http://127.0.0.1:8000/predict", rate=20, duration="10s",
                          slo={"p95": "200ms"})
    assert result.passed
"""

from __future__ import annotations

from benchbox.version import __version__

_API = ("run", "smoke", "compare", "load_result", "render")
__all__ = ["__version__", "compare", "load_result", "render", "run", "smoke"]


def __getattr__(name: str) -> object:
    """PEP 562: the API functions are loaded when first asked for, not at import."""
    if name == "compare":  # the package benchbox.compare, which is callable as the API's compare
        import benchbox.compare

        return benchbox.compare
    if name in _API:
        from benchbox import api

        return getattr(api, name)
    raise AttributeError(f"module 'benchbox' has no attribute {name!r}")
