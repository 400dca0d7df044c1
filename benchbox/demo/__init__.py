"""A small, real model server for demos and integration tests.

`benchbox demo` and the test-suite run it as a separate process (see `launcher.DemoServer`),
so benchbox measures a real HTTP stack rather than a mock. This module stays import-light:
fastapi, uvicorn and numpy are only imported by the submodules that need them.
"""
