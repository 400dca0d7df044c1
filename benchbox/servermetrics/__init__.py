"""Server metrics: the target's own Prometheus series, scraped beside the load on its timeline.

plan.py (the flags), presets.py (which series explain saturation, per server), scrape.py (the
bounded scraping thread), series.py (rates, quantiles, trends), session.py (the run's watch over
the generator), judge.py (gates, the probe table, the saturation sentence), model.py (the result
section). Nothing here is imported until a run scrapes.
"""
