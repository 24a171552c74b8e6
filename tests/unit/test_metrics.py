"""Request metrics are tallied and added to prometheus-client in bulk (app.web.observability):
the bulk addition must expose exactly what one `observe` per request would have."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, Histogram, generate_latest

from app.metrics import LATENCY_BUCKETS, add_observations, latency_bucket

DURATIONS = st.lists(
    st.one_of(
        st.sampled_from([b for b in LATENCY_BUCKETS if b != float("inf")]),  # on a bound
        st.floats(min_value=0, max_value=100, allow_nan=False),
    ),
    max_size=40,
)


def _exposition(durations: list[float], *, in_bulk: bool) -> bytes:
    registry = CollectorRegistry()
    histogram = Histogram("h", "h", ["route"], buckets=LATENCY_BUCKETS, registry=registry)
    child = histogram.labels("/x")
    if in_bulk:
        per_bucket = [0] * len(LATENCY_BUCKETS)
        for seconds in durations:
            per_bucket[latency_bucket(seconds)] += 1
        add_observations(child, len(durations), sum(durations), per_bucket)
    else:
        for seconds in durations:
            child.observe(seconds)
    return b"\n".join(
        line for line in generate_latest(registry).splitlines() if b"_created" not in line
    )


@given(DURATIONS)
def test_bulk_observations_expose_what_one_observe_each_would(durations):
    bulk = _exposition(durations, in_bulk=True).splitlines()
    each = _exposition(durations, in_bulk=False).splitlines()
    sums = [line for line in bulk if b"_sum" in line]
    # The sum is added once, not value by value: equal up to float rounding.
    assert [line for line in bulk if b"_sum" not in line] == [
        line for line in each if b"_sum" not in line
    ]
    (bulk_sum,), (each_sum,) = sums, [line for line in each if b"_sum" in line]
    assert abs(float(bulk_sum.split()[-1]) - float(each_sum.split()[-1])) <= 1e-9 * (
        1 + sum(durations)
    )
