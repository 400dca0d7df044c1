"""Cold start: time to ready (from the target's own process start with `--start CMD`) and the
latency of the first requests after ready, kept apart from the steady state's percentiles.

model.py (the result section, stdlib only), plan.py (the flags), stage.py (the launcher, the
first-requests stage and the gates).
"""
