#!/usr/bin/env bash
# benchbox against real model servers nobody here wrote (a manual check; not part of the tests).
#
# Each server is installed from PyPI into its own throwaway venv under $ROOT/<name> (never into
# benchbox's venv), serves a tiny model trained here (scikit-learn's bundled iris: no download),
# on 127.0.0.1 only. Then `benchbox run --target URL` as a new user would run it: first with
# nothing but the URL, then with a body where the server documents none. Results go to
# $ROOT/out/<run>/ and a one-line summary per run is printed. See docs/real-servers.md.
#
#   bash benchmarks/real_servers.sh [mlserver|mlserver-typed|mlserver-grpc|mlflow|litellm ...]   # default: all
#   FULL=1 bash benchmarks/real_servers.sh mlserver                 # also a default-length run
#
# Needs: python3 -m venv, pip reaching PyPI, curl. ~2 GB of venvs; installs take minutes.
set -euo pipefail

HERE="$(cd "$(dirname "$0")/.." && pwd)"
BENCHBOX="${BENCHBOX:-$HERE/.venv/bin/benchbox}"
ROOT="${ROOT:-/tmp/realsrv}"
SHORT=(--duration 10s --saturation-budget 20s)
mkdir -p "$ROOT/out" "$ROOT/work"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

venv() {  # venv NAME PACKAGE...: a throwaway venv with the packages, made once
    local name=$1; shift
    if [ ! -x "$ROOT/$name/bin/python" ]; then
        python3 -m venv "$ROOT/$name"
        "$ROOT/$name/bin/pip" install -q "$@"
    fi
    "$ROOT/$name/bin/pip" freeze 2>/dev/null | grep -iE '^(mlserver|mlserver-sklearn|mlflow|litellm|scikit-learn)==' || true
}

wait_http() {  # wait_http URL SECONDS: until the URL answers 200
    for _ in $(seq "$2"); do
        [ "$(curl -s -o /dev/null -w '%{http_code}' "$1")" = 200 ] && return 0
        sleep 1
    done
    echo "server at $1 never answered 200" >&2; return 1
}

run() {  # run LABEL benchbox-args...: one benchbox run, timed, with its summary
    local label=$1; shift
    local start=$SECONDS code=0
    "$BENCHBOX" run "$@" --out "$ROOT/out/$label" -q > "$ROOT/out/$label.txt" 2>&1 || code=$?
    echo "== $label: exit $code in $((SECONDS - start)) s: $BENCHBOX run $*"
    grep -E '^(verdict|  \[)' "$ROOT/out/$label.txt" || tail -5 "$ROOT/out/$label.txt"
    if grep -q 'Traceback (most recent call last)' "$ROOT/out/$label.txt"; then echo "!! a traceback in benchbox's output"; fi
    python3 - "$ROOT/out/$label/result.json" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
for phase, key in (("contract", "violations"), ("adversarial", "findings")):
    for f in (r.get(phase) or {}).get(key, []):
        print(f"   {phase:11} {f['kind']:18} {f['rule']:18} {f['detail'][:90]}")
        print(f"   {'':11} {f['curl'][:220]}")
EOF
}

mlserver() {  # mlserver [typed]: typed declares the model's inputs in its metadata
    venv mlserver mlserver mlserver-sklearn scikit-learn
    local typed=${1:-} dir="$ROOT/work/mlserver${1:+-$1}" http grpc metrics
    mkdir -p "$dir"
    "$ROOT/mlserver/bin/python" - "$dir/model.joblib" <<'EOF'
import sys, joblib
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
X, y = load_iris(return_X_y=True)
joblib.dump(LogisticRegression(max_iter=500).fit(X, y), sys.argv[1])
EOF
    local io=""
    [ -z "$typed" ] || io='"inputs": [{"name": "x", "datatype": "FP32", "shape": [-1, 4]}], "outputs": [{"name": "predict", "datatype": "INT64", "shape": [-1, 1]}], '
    echo "{\"name\": \"iris\", \"implementation\": \"mlserver_sklearn.SKLearnModel\", $io\"parameters\": {\"uri\": \"./model.joblib\", \"version\": \"v1\"}}" > "$dir/model-settings.json"
    http=$(free_port); grpc=$(free_port); metrics=$(free_port)
    echo "{\"host\": \"127.0.0.1\", \"http_port\": $http, \"grpc_port\": $grpc, \"metrics_port\": $metrics, \"parallel_workers\": 0}" > "$dir/settings.json"
    (cd "$dir" && exec "$ROOT/mlserver/bin/mlserver" start . > server.log 2>&1) & PIDS+=($!)
    wait_http "http://127.0.0.1:$http/v2/health/ready" 120
    local url="http://127.0.0.1:$http/v2/models/iris/infer"
    echo '{"inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP32", "data": [5.1, 3.5, 1.4, 0.2]}]}' > "$dir/body.json"
    if [ "$typed" = grpc ]; then  # its gRPC face: the same model, answers compared, generator throughput
        run mlserver-grpc --target "grpc://127.0.0.1:$grpc/iris" "${SHORT[@]}"
        "$HERE/.venv/bin/python" "$HERE/benchmarks/grpc_vs_http.py" --http "$url" --grpc "grpc://127.0.0.1:$grpc/iris" \
            --users 8 --duration 4
        kill "${PIDS[-1]}"; return
    fi
    if [ -n "$typed" ]; then run mlserver-typed-url --target "$url" "${SHORT[@]}"; kill "${PIDS[-1]}"; return; fi
    run mlserver-url --target "$url" "${SHORT[@]}"
    run mlserver-body --target "$url" --body "@$dir/body.json" "${SHORT[@]}"
    [ -z "${FULL:-}" ] || run mlserver-default --target "$url" --body "@$dir/body.json"
}

mlflow() {
    venv mlflow mlflow scikit-learn
    local dir="$ROOT/work/mlflow" port
    mkdir -p "$dir" && rm -rf "$dir/model"
    "$ROOT/mlflow/bin/python" - "$dir/model" <<'EOF'
import sys, mlflow.sklearn
from mlflow.models import infer_signature
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
X, y = load_iris(return_X_y=True, as_frame=True)
m = LogisticRegression(max_iter=500).fit(X, y)
mlflow.sklearn.save_model(m, sys.argv[1], signature=infer_signature(X, m.predict(X)), input_example=X.head(2))
EOF
    port=$(free_port)
    # `mlflow models serve` execs uvicorn by name: the venv's bin must be on PATH.
    (cd "$dir" && PATH="$ROOT/mlflow/bin:$PATH" exec "$ROOT/mlflow/bin/mlflow" models serve -m model \
        --env-manager local -h 127.0.0.1 -p "$port" -w 1 > server.log 2>&1) & PIDS+=($!)
    wait_http "http://127.0.0.1:$port/ping" 180
    local url="http://127.0.0.1:$port/invocations"
    echo '{"dataframe_split": {"columns": ["sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)"], "data": [[5.1, 3.5, 1.4, 0.2]]}}' > "$dir/body.json"
    run mlflow-url --target "$url" "${SHORT[@]}"
    run mlflow-body --target "$url" --body "@$dir/body.json" "${SHORT[@]}"
    [ -z "${FULL:-}" ] || run mlflow-default --target "$url" --body "@$dir/body.json"
}

litellm() {
    venv litellm 'litellm[proxy]'
    local dir="$ROOT/work/litellm" port
    mkdir -p "$dir"
    cat > "$dir/config.yaml" <<'EOF'
model_list:
  - model_name: mock-gpt
    litellm_params:
      model: openai/mock-gpt
      api_key: fake-key
      mock_response: "Hello! This is a canned answer from a mock model."
litellm_settings:
  telemetry: false
EOF
    port=$(free_port)
    export LITELLM_TEST_KEY=sk-realsrv-master-1234  # the proxy refuses to start without a master key
    (cd "$dir" && LITELLM_MASTER_KEY=$LITELLM_TEST_KEY LITELLM_LOCAL_MODEL_COST_MAP=True PATH="$ROOT/litellm/bin:$PATH" \
        exec "$ROOT/litellm/bin/litellm" --config config.yaml --host 127.0.0.1 --port "$port" --num_workers 1 \
        > server.log 2>&1) & PIDS+=($!)
    wait_http "http://127.0.0.1:$port/health/readiness" 180
    local url="http://127.0.0.1:$port/v1/chat/completions"
    run litellm-url --target "$url" --api-key-env LITELLM_TEST_KEY "${SHORT[@]}"
    [ -z "${FULL:-}" ] || run litellm-default --target "$url" --api-key-env LITELLM_TEST_KEY
}

mlserver-typed() { mlserver typed; }
mlserver-grpc() { mlserver grpc; }

for server in "${@:-mlserver mlserver-typed mlserver-grpc mlflow litellm}"; do
    for s in $server; do "$s"; done
done
