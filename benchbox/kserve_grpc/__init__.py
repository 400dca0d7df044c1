"""KServe V2 / Open Inference Protocol gRPC messages and stubs, generated: do not edit the *_pb2*.py files.

grpc_predict_v2.proto is kserve/open-inference-protocol's specification/protocol/open_inference_grpc.proto
(commit d49cc23f89d7), unchanged: package `inference`, service `GRPCInferenceService`. Regenerate from
the repository root with:

    python -m grpc_tools.protoc -I. --python_out=. --grpc_python_out=. benchbox/kserve_grpc/grpc_predict_v2.proto

(grpcio-tools is needed only for that; the generated code needs protobuf >= and grpcio >= the versions it names.)
"""
