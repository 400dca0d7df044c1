"""The load stage: Locust-driven load recorded into HDR histograms.

Nothing here imports Locust or gevent at import time: `process.run_phase` runs the generator
(`generator.py`, which does) in a child process, so the rest of benchbox stays unpatched.
"""
