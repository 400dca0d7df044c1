"""Traces, mixes and batch sizes, read and checked in the parent: formats, bad lines, the plan,
the compact schedule, exact merging. No server: every test here is milliseconds."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path
from typing import Any

import pytest

from benchbox import hdr
from benchbox.cli import main
from benchbox.latency import TimePoint
from benchbox.load.spec import PhaseSpec
from benchbox.plan import build_plan
from benchbox.traffic.merge import merge_traffic
from benchbox.traffic.model import ClassStats, TrafficStats, pack_schedule, unpack_schedule
from benchbox.traffic.sizes import batch_of, parse_batch_sizes, resized
from benchbox.traffic.trace import TraceError, read_trace

TARGET = "http://127.0.0.1:9/predict"


def invoke(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), pytest.raises(SystemExit) as exc:
        main(list(argv))
    code = exc.value.code
    return (code if isinstance(code, int) else 0), out.getvalue(), err.getvalue()


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_every_format_reads_to_the_same_lines(tmp_path):
    jsonl = write(
        tmp_path,
        "t.jsonl",
        '{"offset": 0.5, "route": "/b", "method": "get"}\n\n{"offset": 0, "route": "/a", "body": {"x": 1}}\n',
    )
    csv = write(tmp_path, "t.csv", "offset_ms,route,method,class\n0,/a,POST,search\n500,/b,GET,\n")
    log = write(
        tmp_path,
        "access.log",
        '10.0.0.1 - - [03/Dec/2026:10:00:00 +0000] "POST /a?q=1 HTTP/1.1" 200 12 "-" "curl/8"\n'
        '10.0.0.1 - - [03/Dec/2026:10:00:01 +0000] "GET /b HTTP/1.1" 404 0\n',
    )
    jlog = write(
        tmp_path,
        "access.json",
        '{"time_iso8601": "2026-12-03T10:00:00.250+00:00", "request": "POST /a HTTP/1.1", "status": 200}\n'
        '{"time_iso8601": "2026-12-03T10:00:00Z", "request": "GET /b HTTP/2.0", "status": 200}\n',
    )
    t = read_trace(jsonl)
    assert t.format == "jsonl" and [(x.offset_s, x.route, x.method) for x in t.lines] == [
        (0.0, "/a", None),
        (0.5, "/b", "GET"),
    ]
    assert t.lines[0].body == '{"x":1}'
    c = read_trace(csv)
    assert c.format == "csv" and [(x.offset_s, x.route, x.name) for x in c.lines] == [
        (0.0, "/a", "search"),
        (0.5, "/b", None),
    ]
    a = read_trace(log)
    assert a.format == "access-log" and [(x.offset_s, x.method, x.route) for x in a.lines] == [
        (0.0, "POST", "/a?q=1"),
        (1.0, "GET", "/b"),
    ]
    second = write(
        tmp_path,
        "second.log",
        "".join(f'h - - [03/Dec/2026:10:00:0{i // 4} +0000] "GET /{i} HTTP/1.1" 200 1\n' for i in range(8)),
    )
    assert [x.offset_s for x in read_trace(second).lines] == [
        0,
        0.25,
        0.5,
        0.75,
        1,
        1.25,
        1.5,
        1.75,
    ]  # spread in their second
    j = read_trace(jlog)
    assert j.format == "json-access-log" and [(x.offset_s, x.route) for x in j.lines] == [(0.0, "/b"), (0.25, "/a")]


@pytest.mark.parametrize(
    ("text", "line", "field"),
    [
        ('{"offset": 0}\n{"offset": "soon"}\n', 2, "offset"),
        ('{"offset": 0}\n{"offset": -1}\n', 2, "offset"),
        ('{"offset": 0}\n{"route": "/a"}\n', 2, "offset"),
        ('{"offset": 0, "route": "predict"}\n', 1, "route"),
        ('{"offset": 0}\n{"offset": 1, "batch_size": 0}\n', 2, "batch_size"),
        ('{"offset": 0}\n{"timestamp": "2026-12-03T10:00:00Z"}\n', 2, "time"),
        ('{"offset": 0}\n\n{"offset": 1, "body_file": "missing.json"}\n', 3, "body_file"),
    ],
)
def test_a_bad_line_names_file_line_and_field_and_exits_2(tmp_path, text, line, field):
    path = write(tmp_path, "bad.jsonl", text)
    with pytest.raises(TraceError, match=rf"bad trace '.*bad.jsonl' line {line}: field '{field}'"):
        read_trace(path)
    code, _, err = invoke("run", "--target", TARGET, "--replay", path, "--dry-run")
    assert code == 2 and "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and f"line {line}" in lines[0] and field in lines[0], err


def test_a_file_with_no_usable_line_is_an_error_not_an_empty_run(tmp_path):
    path = write(tmp_path, "empty.jsonl", "# nothing here\n\n")
    code, _, err = invoke("run", "--target", TARGET, "--replay", path, "--dry-run")
    assert code == 2 and "no usable line" in err, err
    log = write(tmp_path, "junk.log", "this is not an access log\n")
    code, _, err = invoke("run", "--target", TARGET, "--replay", log, "--dry-run")
    assert code == 2 and "line 1" in err and "'request'" in err, err


def test_time_scale_halves_the_duration_and_doubles_the_rate_and_the_window_cuts(tmp_path):
    lines = "".join(json.dumps({"offset": i * 0.1}) + "\n" for i in range(100))  # 10 req/s for 10 s
    path = write(tmp_path, "t.jsonl", lines)
    one = build_plan({"target": TARGET, "replay": path})
    two = build_plan({"target": TARGET, "replay": path, "time_scale": "2"})
    assert one.load.duration_s == pytest.approx(10.0) and one.load.rate == pytest.approx(10.0)
    assert two.load.duration_s == pytest.approx(5.0) and two.load.rate == pytest.approx(20.0)
    cut = build_plan({"target": TARGET, "replay": path, "replay_window": "2s..4s"})
    assert len(cut.traffic.trace.lines) == 20 and cut.traffic.trace.lines[0].offset_s == pytest.approx(0.0)
    looped = build_plan({"target": TARGET, "replay": path, "loop": True, "duration": "30s"})
    assert looped.load.duration_s == 30.0
    spec = looped.phase_spec()
    assert spec.traffic is not None and spec.traffic.loop and spec.traffic.count == 100
    code, _, err = invoke("run", "--target", TARGET, "--time-scale", "2", "--dry-run")
    assert code == 2 and "--replay" in err
    code, _, err = invoke("run", "--target", TARGET, "--replay", path, "--rate", "5", "--dry-run")
    assert code == 2 and "--time-scale" in err


def test_the_schedule_travels_compactly_and_comes_back_exact(tmp_path):
    n = 100_000
    offsets = [i * 0.001 + (i % 7) * 1e-6 for i in range(n)]
    packed = pack_schedule(offsets, [i % 3 for i in range(n)], [i % 11 for i in range(n)])
    assert len(packed) < 400_000  # vs ~5 MB as JSON objects
    back, classes, bodies = unpack_schedule(packed, n)
    assert back[12345] == pytest.approx(offsets[12345], abs=1e-6) and classes[5] == 2 and bodies[13] == 2
    lines = "".join(json.dumps({"offset": o, "class": "abc"[i % 3]}) + "\n" for i, o in enumerate(offsets[:5000]))
    plan = build_plan({"target": TARGET, "replay": write(tmp_path, "t.jsonl", lines), "body": '{"x": 1}'})
    spec = plan.phase_spec()
    again = PhaseSpec.from_dict(json.loads(json.dumps(spec.to_dict())))
    assert again.traffic == spec.traffic and len(again.traffic.classes) == 3 and again.traffic.bodies == ('{"x":1}',)


def test_a_mix_reads_weights_or_rates_and_checks_its_classes(tmp_path):
    body = write(tmp_path, "b.jsonl", '{"instances": [[1, 2]]}\n')
    config = write(
        tmp_path,
        "benchbox.toml",
        f'target = "{TARGET}"\n'
        '[[mix]]\nname = "a"\nrate = 30\nroute = "/a"\nslo = {p99 = "50ms"}\n'
        '[[mix]]\nname = "b"\nrate = 10\nroute = "/b"\nmethod = "get"\n'
        f'[[mix]]\nname = "c"\nrate = 10\nbodies = "@{body}"\nheaders = {{X-Tier = "gold"}}\n',
    )
    code, out, err = invoke("run", "--config", config, "--dry-run")
    assert code == 0, err
    plan = json.loads(out)
    assert plan["load"]["rate"] == 50.0 and [m["weight"] for m in plan["traffic"]["mix"]] == [0.6, 0.2, 0.2]
    bad = write(tmp_path, "bad.toml", '[[mix]]\nname = "a"\nweight = 1\n[[mix]]\nname = "b"\nrate = 2\n')
    code, _, err = invoke("run", "--target", TARGET, "--config", bad, "--dry-run")
    assert code == 2 and "mix[2]" in err and "weight" in err, err
    dup = write(tmp_path, "dup.toml", '[[mix]]\nname = "a"\nweight = 1\n[[mix]]\nname = "a"\nweight = 2\n')
    code, _, err = invoke("run", "--target", TARGET, "--config", dup, "--dry-run")
    assert code == 2 and "'a' given twice" in err, err


def test_batch_sizes_resize_the_batch_list_and_are_checked():
    assert parse_batch_sizes("--batch-sizes", "1:70,8:25,64:5") == ((1, 0.7), (8, 0.25), (64, 0.05))
    body = '{"instances": [[1, 2], [3, 4]], "id": 7}'
    assert batch_of(resized(body, 5)) == 5 and json.loads(resized(body, 3))["instances"][2] == [1, 2]
    assert resized('{"x": 1}', 4) is None
    code, _, err = invoke("run", "--target", TARGET, "--batch-sizes", "1:70,x:3", "--dry-run")
    assert code == 2 and "'x:3'" in err and "SIZE[:WEIGHT]" in err, err
    plan = build_plan({"target": TARGET, "body": body, "batch_sizes": "1:50,8:50"})
    spec = plan.phase_spec().traffic
    assert spec is not None and spec.kind == "mix" and sorted(set(spec.body_sizes)) == [1, 8]


def _stats(values_ms: list[float], t: int = 0) -> ClassStats:
    h = hdr.new()
    for v in values_ms:
        hdr.record_us(h, v * 1000)
    enc = hdr.encode(h)
    point = TimePoint(t=t, requests=len(values_ms), errors=0, hdr=enc)
    return ClassStats(
        requests=len(values_ms),
        errors=0,
        error_rate=0.0,
        share=1.0,
        throughput_rps=1.0,
        hdr=enc,
        timeseries=(point,),
        latency_ms=hdr.summarize(h),
    )


def test_per_class_histograms_merge_exactly_across_workers():
    a = TrafficStats(kind="mix", classes={"x": _stats([1, 2, 3]), "y": _stats([50])})
    b = TrafficStats(kind="mix", classes={"x": _stats([100, 200])})
    merged = merge_traffic([a, b], elapsed_s=1.0)
    assert merged is not None
    x = merged.classes["x"]
    assert x.requests == 5 and x.share == pytest.approx(5 / 6)
    assert x.latency_ms is not None and x.latency_ms.max == pytest.approx(200, rel=0.01)
    assert x.latency_ms.p50 == pytest.approx(3, rel=0.01)  # the median of all five, not an average of medians
    assert hdr.decode(x.timeseries[0].hdr).get_total_count() == 5


def _phase(rate: float, slow_p99_ms: float) -> Any:
    from benchbox.result import GeneratorHealth, LoadPhase

    fast, slow = _stats([5.0] * 50), _stats([slow_p99_ms] * 50)
    return LoadPhase(
        name=f"probe {rate}", mode="open", duration_s=2, elapsed_s=2, requests=100, responses=100, errors=0,
        error_rate=0.0, throughput_rps=rate, status_counts={}, errors_by_kind={},
        generator=GeneratorHealth(cpu_seconds=0, cpu_percent_mean=0, cpu_percent_max=0),
        traffic=TrafficStats(kind="mix", classes={"fast": fast, "slow": slow}),
    )  # fmt: skip


def test_saturation_on_a_mix_names_the_first_class_to_break_and_its_multiplier(tmp_path):
    from benchbox.gates import merge_slos
    from benchbox.saturation.search import ProbeOrder
    from benchbox.saturation.settings import SearchSettings
    from benchbox.traffic.saturation import TrafficProbe, first_break

    config = write(
        tmp_path,
        "mix.toml",
        '[[mix]]\nname = "fast"\nweight = 7\nroute = "/fast"\n'
        '[[mix]]\nname = "slow"\nweight = 3\nroute = "/slow"\nslo = {p99 = "100ms"}\n',
    )
    plan = build_plan({"target": TARGET, "mix": config, "rate": "40"})
    # Probes in the order a search runs them: the lowest rate at which a class broke is the answer.
    runs = [(320.0, _phase(320, 900)), (80.0, _phase(80, 40)), (160.0, _phase(160, 250)), (120.0, _phase(120, 60))]
    found = first_break(plan.traffic, merge_slos([["p99=1s"]]), runs, 40.0)
    assert found is not None and (found.name, found.multiplier, found.gate) == ("slow", 4.0, "p99")
    assert "breaks" in found.detail
    # A class with no SLO of its own is judged on the run's: here 'fast' never breaks 1 s.
    assert first_break(plan.traffic, merge_slos([["p99=1s"]]), runs[1:2], 40.0) is None
    # Each probe sends the whole mix, scaled to its rate.
    traffic = plan.phase_spec().traffic
    probe = TrafficProbe(traffic, 40.0, plan.request, SearchSettings(), 0, None, None)
    spec = probe.spec(ProbeOrder(index=1, stage="ramp", mode="open", duration_s=3, rate=100.0))
    assert spec.rate == 100.0 and spec.traffic is not None and spec.traffic.scale == 2.5
    assert [c.weight for c in spec.traffic.classes] == [0.7, 0.3]


def test_batch_sizes_of_an_embeddings_target_are_inputs_per_request_not_traffic():
    """One --batch-sizes: JSON bodies are resized by it (open loop), an embeddings target sends that
    many inputs per request instead, so it keeps closed loop and its own load path."""
    plan = build_plan({"target": "http://127.0.0.1:1/v1/embeddings", "batch_sizes": "1:70,8:30", "users": 2})
    assert plan.chat.batch_sizes == (1, 8) and not plan.traffic.active and plan.load.mode == "closed"
    assert build_plan({"target": TARGET}).chat.batch_sizes == (1, 8)
