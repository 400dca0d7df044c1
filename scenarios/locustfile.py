"""An ordinary locustfile, as Locust's documentation writes them: benchbox runs it unchanged.

    benchbox run --scenario scenarios/locustfile.py --target http://127.0.0.1:8000 --users 4 --duration 30s

`--target` is the host the relative paths below are joined to. Every request is recorded in
benchbox's HDR histograms, in total and per request name (the `name=` below, else the path).
"""

from locust import HttpUser, between, task

PAYLOAD = {"instances": [[5.1, 3.5, 1.4, 0.2]]}


class ModelUser(HttpUser):
    wait_time = between(1, 2)

    @task(3)
    def predict(self) -> None:
        self.client.post("/v1/models/demo/predict", json=PAYLOAD, name="predict")

    @task
    def health(self) -> None:
        self.client.get("/health")
