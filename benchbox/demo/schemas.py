"""Request and response schemas of the demo server.

The constraints here are the contract benchbox discovers from /openapi.json, so they are
real and enforced: strict numbers (no "1.5" strings, no booleans), finite, bounded, and
bounded batch sizes.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

MODEL_NAME = "demo"
MAX_BATCH = 64
FEATURE_MIN = -100.0
FEATURE_MAX = 100.0
N_FEATURES = 4
N_CLASSES = 3
INPUT_NAME = "input-0"

Feature = Annotated[float, Field(strict=True, ge=FEATURE_MIN, le=FEATURE_MAX, allow_inf_nan=False)]
Instance = Annotated[list[Feature], Field(min_length=N_FEATURES, max_length=N_FEATURES)]
Probability = Annotated[float, Field(ge=0.0, le=1.0)]


class PredictRequest(BaseModel):
    """A batch of feature vectors (sepal length, sepal width, petal length, petal width)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"instances": [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]}]},
    )
    instances: list[Instance] = Field(min_length=1, max_length=MAX_BATCH)


class Prediction(BaseModel):
    label: Literal["setosa", "versicolor", "virginica"]
    class_index: int = Field(ge=0, le=N_CLASSES - 1)
    probabilities: list[Probability] = Field(
        min_length=N_CLASSES,
        max_length=N_CLASSES,
        description="One probability per class, in class_index order; they sum to 1.",
    )


class PredictResponse(BaseModel):
    model: Literal["demo"]
    model_version: Literal["v1", "v2"]
    predictions: list[Prediction] = Field(
        min_length=1, max_length=MAX_BATCH, description="One prediction per instance, in order."
    )


class ErrorResponse(BaseModel):
    error: str


# --- KServe V2 / Open Inference Protocol -------------------------------------------------


class InferInput(BaseModel):
    name: str
    shape: list[Annotated[int, Field(strict=True)]] = Field(min_length=1, max_length=8)
    datatype: Literal["FP32", "FP64"]
    # Flat (row-major) or nested one level per row, as the protocol allows.
    data: list[Feature | list[Feature]] = Field(max_length=MAX_BATCH * N_FEATURES)
    parameters: dict[str, Any] | None = None


class RequestedOutput(BaseModel):
    name: str
    parameters: dict[str, Any] | None = None


class InferRequest(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "42",
                    "inputs": [
                        {
                            "name": INPUT_NAME,
                            "shape": [1, 4],
                            "datatype": "FP32",
                            "data": [5.1, 3.5, 1.4, 0.2],
                        }
                    ],
                }
            ]
        }
    )
    id: str | None = None
    inputs: list[InferInput] = Field(min_length=1, max_length=1)
    # Accepted for protocol compatibility; every output is always returned.
    outputs: list[RequestedOutput] | None = None
    parameters: dict[str, Any] | None = None


class InferOutput(BaseModel):
    name: Literal["probabilities", "label"]
    shape: list[int]
    datatype: Literal["FP32", "INT64"]
    data: list[float] | list[int]


class InferResponse(BaseModel):
    model_name: Literal["demo"]
    model_version: Literal["v1", "v2"]
    id: str | None = None
    outputs: list[InferOutput]


class TensorMetadata(BaseModel):
    name: str
    datatype: str
    shape: list[int]


class ModelMetadata(BaseModel):
    name: str
    versions: list[str]
    platform: str
    inputs: list[TensorMetadata]
    outputs: list[TensorMetadata]


def model_metadata(version: str) -> dict[str, Any]:
    """The V2 metadata document; shapes use -1 for the batch dimension."""
    return {
        "name": MODEL_NAME,
        "versions": [version],
        "platform": "numpy_softmax",
        "inputs": [{"name": INPUT_NAME, "datatype": "FP32", "shape": [-1, N_FEATURES]}],
        "outputs": [
            {"name": "probabilities", "datatype": "FP32", "shape": [-1, N_CLASSES]},
            {"name": "label", "datatype": "INT64", "shape": [-1]},
        ],
    }
