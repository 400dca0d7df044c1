"""Prometheus remote-write messages, generated: do not edit the *_pb2.py files.

types.proto and remote.proto are prometheus/prometheus's prompb (commit d15adb9ad7e5), with the
gogoproto import and options stripped (Python has no use for them) and remote.proto's import of
types.proto given its path in this package. Regenerate from the repository root with:

    python -m grpc_tools.protoc -I. --python_out=. \
        benchbox/outputs/prompb/types.proto benchbox/outputs/prompb/remote.proto

(grpcio-tools is needed only for that; the generated code needs protobuf >= the version it names.)
"""
