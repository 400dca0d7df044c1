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
