"""KServe V2 tensors between their JSON form and the gRPC messages.

The contract checks, the generated inputs and the load's bodies all speak the V2 JSON form
(benchbox.contract.kserve); a gRPC request is that form put into a ModelInferRequest, and a gRPC
answer is read back into it, so one set of checks serves both faces. Typed `contents` are sent
(what grpcurl and every V2 server read); `raw_output_contents` in an answer are decoded too,
since Triton and MLServer may answer that way.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Mapping
from typing import Any

# The InferTensorContents field that holds each datatype (the protocol's own table).
CONTENTS_FIELD = {
    "BOOL": "bool_contents",
    "UINT8": "uint_contents",
    "UINT16": "uint_contents",
    "UINT32": "uint_contents",
    "UINT64": "uint64_contents",
    "INT8": "int_contents",
    "INT16": "int_contents",
    "INT32": "int_contents",
    "INT64": "int64_contents",
    "FP32": "fp32_contents",
    "FP64": "fp64_contents",
    "BYTES": "bytes_contents",
}
# struct formats of the raw (little-endian) encoding; FP16/BF16 travel only raw.
_RAW = {
    "BOOL": "?",
    "UINT8": "B",
    "UINT16": "H",
    "UINT32": "I",
    "UINT64": "Q",
    "INT8": "b",
    "INT16": "h",
    "INT32": "i",
    "INT64": "q",
    "FP16": "e",
    "FP32": "f",
    "FP64": "d",
}


def _flat(data: Any) -> list[Any]:
    if not isinstance(data, list):
        return [data]
    if not any(isinstance(x, list) for x in data):  # already flat (an oversized probe's millions of values)
        return data
    return [x for item in data for x in _flat(item)]


def to_request(doc: Mapping[str, Any], model: str, version: str = "") -> Any:
    """A V2 JSON request (`{"id", "inputs": [{name, shape, datatype, data}]}`) as a ModelInferRequest.
    A tensor whose datatype has no typed field, or whose values do not fit it, raises ValueError."""
    from benchbox.kserve_grpc import grpc_predict_v2_pb2 as pb

    request = pb.ModelInferRequest(model_name=model, model_version=version, id=str(doc.get("id", "")))
    for t in doc.get("inputs", []):
        tensor = request.inputs.add(name=str(t["name"]), datatype=str(t["datatype"]), shape=list(t["shape"]))
        values = _flat(t.get("data", []))
        field = CONTENTS_FIELD.get(str(t["datatype"]))
        if field is None and not values:  # nothing to carry (an unknown datatype's probe, say)
            continue
        if field is None:
            raise ValueError(f"datatype {t['datatype']!r} has no typed contents field (raw only)")
        if field == "bytes_contents":
            values = [v.encode("utf-8") if isinstance(v, str) else bytes(v) for v in values]
        try:
            getattr(tensor.contents, field).extend(values)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"input {t['name']!r}: values do not fit {t['datatype']}: {exc}") from None
    for o in doc.get("outputs", []) or []:
        request.outputs.add(name=str(o["name"]))
    return request


def _decode_raw(raw: bytes, datatype: str) -> list[Any]:
    if datatype == "BYTES":  # each element: a 4-byte little-endian length, then the bytes
        out, i = [], 0
        while i + 4 <= len(raw):
            (n,) = struct.unpack_from("<I", raw, i)
            out.append(raw[i + 4 : i + 4 + n].decode("utf-8", "replace"))
            i += 4 + n
        return out
    fmt = _RAW.get(datatype)
    if fmt is None:
        return []
    size = struct.calcsize(fmt)
    return list(struct.unpack(f"<{len(raw) // size}{fmt}", raw[: len(raw) - len(raw) % size]))


def to_json(response: Any) -> dict[str, Any]:
    """A ModelInferResponse in the V2 JSON form the contract checks read."""
    outputs = []
    raw = list(response.raw_output_contents)
    for i, t in enumerate(response.outputs):
        field = CONTENTS_FIELD.get(t.datatype)
        if raw and i < len(raw):
            data = _decode_raw(raw[i], t.datatype)
        elif field is not None:
            data = list(getattr(t.contents, field))
            if field == "bytes_contents":
                data = [v.decode("utf-8", "replace") for v in data]
        else:
            data = []
        if t.datatype in ("FP32", "FP16", "BF16"):  # widened to Python floats: keep them JSON-safe
            data = [v if math.isfinite(v) else str(v) for v in data]
        outputs.append({"name": t.name, "datatype": t.datatype, "shape": list(t.shape), "data": data})
    doc: dict[str, Any] = {"model_name": response.model_name, "outputs": outputs}
    if response.model_version:
        doc["model_version"] = response.model_version
    if response.id:
        doc["id"] = response.id
    return doc
