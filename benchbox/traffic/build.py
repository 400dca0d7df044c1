"""From the plan's trace or mix and the run's request to the TrafficSpec the generator runs.

Built at load time, not at plan time: a line or class without a body takes the run's bodies,
and those may only exist once the contract stage has generated them. A line without a body is
given one chosen by its route: the bodies of the mix class on that route, else the run's.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from benchbox.errors import UsageError
from benchbox.load.spec import RequestSpec
from benchbox.traffic.mix import MixClass
from benchbox.traffic.model import TrafficClass, TrafficSpec, pack_schedule
from benchbox.traffic.plan import TrafficPlan
from benchbox.traffic.sizes import batch_of, resized

# A trace names its classes (or its routes do); past this many, the rest count as "other".
MAX_NAMED = 24


class _Bodies:
    """Every distinct body once; each known by its index and batch size."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {}
        self.texts: list[str] = []
        self.sizes: list[int] = []

    def add(self, text: str, size: int | None = None) -> int:
        i = self.index.get(text)
        if i is None:
            i = self.index[text] = len(self.texts)
            self.texts.append(text)
            self.sizes.append(size if size is not None else batch_of(text))
        return i


def traffic_spec(plan: TrafficPlan, request: RequestSpec) -> TrafficSpec | None:
    if not plan.active:
        return None
    own = urlsplit(request.url)
    own_path = (own.path or "/") + (f"?{own.query}" if own.query else "")
    bodies = _Bodies()
    if plan.trace is not None:
        return _trace_spec(plan, request, own_path, bodies)
    mix = plan.mix or (MixClass(name="default", weight=1.0),)
    sizes = plan.sizes
    classes = []
    for cls in mix:
        texts = cls.bodies or request.bodies
        if sizes:
            pools = tuple(tuple(bodies.add(_sized(t, s, cls.name), s) for t in texts) for s, _ in sizes)
        else:
            pools = (tuple(bodies.add(t) for t in texts),)
        classes.append(
            TrafficClass(
                name=cls.name,
                path=cls.route or own_path,
                method=cls.method or request.method,
                headers=cls.headers,
                pools=pools,
                weight=cls.weight,
            )
        )
    return TrafficSpec(
        kind="mix", classes=tuple(classes), bodies=tuple(bodies.texts), body_sizes=tuple(bodies.sizes), sizes=sizes
    )


def _sized(text: str, size: int, where: str) -> str:
    body = resized(text, size)
    if body is None:
        raise UsageError(
            f"bad --batch-sizes for class {where!r}: its body has no batch list to resize "
            f"(expected a JSON list, or an object with one of instances/inputs/data/...): {text[:80]!r}"
        )
    return body


def _trace_spec(plan: TrafficPlan, request: RequestSpec, own_path: str, bodies: _Bodies) -> TrafficSpec:
    assert plan.trace is not None
    by_route = {c.route: c for c in plan.mix if c.route}
    endpoints: dict[tuple[str, str, str], int] = {}
    classes: list[TrafficClass] = []
    names: set[str] = set()
    turn: dict[tuple[str, int | None], int] = {}
    offsets: list[float] = []
    chosen_classes: list[int] = []
    chosen_bodies: list[int] = []
    for line in plan.trace.lines:
        path = line.route or own_path
        route_only = path.split("?", 1)[0]
        mixed = by_route.get(path) or by_route.get(route_only)
        method = line.method or (mixed.method if mixed else None) or request.method
        name = line.name or (mixed.name if mixed else None) or (f"{method} {route_only}" if line.route else "default")
        if name not in names and len(names) >= MAX_NAMED:
            name = "other"
        names.add(name)
        key = (name, path, method)
        index = endpoints.get(key)
        if index is None:
            index = endpoints[key] = len(classes)
            headers = mixed.headers if mixed else ()
            classes.append(TrafficClass(name=name, path=path, method=method, headers=headers, pools=((),)))
        if line.body is not None:
            body = bodies.add(line.body, line.size)
        else:
            pool = (mixed.bodies if mixed and mixed.bodies else None) or request.bodies
            if pool and method not in ("GET", "HEAD", "DELETE", "OPTIONS"):
                k = turn.get((route_only, line.size), 0)
                turn[(route_only, line.size)] = k + 1
                text = pool[k % len(pool)]
                body = bodies.add(_sized(text, line.size, name) if line.size else text, line.size)
            else:
                body = -1
        offsets.append(line.offset_s)
        chosen_classes.append(index)
        chosen_bodies.append(body)
    none = len(bodies.texts)  # a line without a body points one past the last body
    packed = pack_schedule(offsets, chosen_classes, [none if b < 0 else b for b in chosen_bodies])
    return TrafficSpec(
        kind="trace",
        classes=tuple(classes),
        bodies=tuple(bodies.texts),
        body_sizes=tuple(bodies.sizes),
        schedule=packed,
        count=len(offsets),
        span_s=plan.trace.span_s,
        scale=plan.scale,
        loop=plan.loop,
    )
