"""Pure energy rollups from cumulative counters (decision 0003, docs/rollups.md).

No I/O: readings in, frozen dataclasses out.

* ``counters``  — classify consecutive-reading differences (rollover, reset, spike, gap);
* ``intervals`` — apportion them into fixed UTC intervals with completeness;
* ``calendar``  — local hour/day/month buckets (Europe/Sofia by default).
"""

from ingest.rollup.calendar import (
    BUCKET_UNITS,
    DEFAULT_TZ,
    BucketUnit,
    EnergyBucket,
    bucket_bounds,
    local_buckets,
)
from ingest.rollup.counters import (
    CounterEvent,
    CounterReading,
    Difference,
    EventKind,
    classify,
    differences,
    sorted_readings,
)
from ingest.rollup.intervals import (
    DEFAULT_INTERVAL_S,
    EnergyInterval,
    affected_intervals,
    apportion,
    energy_intervals,
    intervals_from_differences,
    window_readings,
)

__all__ = [
    "BUCKET_UNITS",
    "DEFAULT_INTERVAL_S",
    "DEFAULT_TZ",
    "BucketUnit",
    "CounterEvent",
    "CounterReading",
    "Difference",
    "EnergyBucket",
    "EnergyInterval",
    "EventKind",
    "affected_intervals",
    "apportion",
    "bucket_bounds",
    "classify",
    "differences",
    "energy_intervals",
    "intervals_from_differences",
    "local_buckets",
    "sorted_readings",
    "window_readings",
]
