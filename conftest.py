"""Process-wide settings for the test session, applied before any test module is imported.

Bytecode is cached even where the environment turns caching off (PYTHONDONTWRITEBYTECODE, which
some container images set; this one does). The suite starts a few hundred Python processes (each
`benchbox run` in a subprocess, each load generator, each test server). Without a cache, every one
of them compiled benchbox from source again, and every xdist worker redid pytest's assertion
rewriting of each module it imported (benchbox and hypothesis are pytest plugins, so all their
modules are rewritten): collecting the suite took 7.6 CPU-s per worker, 2.2 s with the cache.
"""

import os
import sys

os.environ.pop("PYTHONDONTWRITEBYTECODE", None)  # the processes the tests start, xdist workers included
sys.dont_write_bytecode = False  # this process
