"""Production-shaped load: a replayed trace or access log, a weighted mix of request classes,
bodies of varying batch size. Parsed and validated in the parent (trace.py, mix.py, sizes.py);
shipped to the generator as one compact TrafficSpec (model.py); sent by benchbox.load.traffic."""
