"""The evaluation gate: score the endpoint's answers on a held-out labelled set, overall and per
slice, with bootstrap intervals, and judge them against `--gate` thresholds.

Modules: data (reading the set), answers (reading a response), metrics and bootstrap (figures and
intervals), scoring (rows and answers to a section), gates, runner (the phase), versus (two versions
on the same rows), plan (flags). Nothing is imported here, so the CLI and result.py stay light.
"""
