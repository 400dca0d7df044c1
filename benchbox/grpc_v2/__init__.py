"""KServe V2 over gRPC (`--protocol kserve-v2-grpc`, `grpc://host:port/model`): tensors, calls, probes.

The messages and stubs are generated (benchbox.kserve_grpc); grpcio is imported lazily, only by
a run against a gRPC target, so `benchbox --help` never pays for it.
"""
