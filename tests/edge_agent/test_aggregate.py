"""edge_agent.aggregate: polls -> one-minute records."""

from __future__ import annotations

import pytest

from edge_agent.aggregate import MinuteAggregator
from protocol.codec import CLOCK_ESTIMATED, CLOCK_SYNCED, CLOCK_UNANCHORED

T0 = 1_767_225_600  # 2026-01-01T00:00:00Z, a minute boundary


class Quality:
    def __init__(self) -> None:
        self.value = CLOCK_SYNCED

    def __call__(self) -> int:
        return self.value


def test_minute_statistics_are_exact() -> None:
    agg = MinuteAggregator(expected_per_minute=4, clock_quality_fn=Quality())
    polls = [(230.0, 1000.0), (232.0, 3000.0), (228.0, 2000.0), (234.0, 2000.0)]
    for i, (volts, watts) in enumerate(polls):
        out = agg.add(T0 + 15 * i, {"u_l1_v": volts, "p_total_w": watts}, {"e_imp_wh": 100 + i})
        assert out is None
    assert agg.current_minute == T0
    record = agg.add(T0 + 60, {"u_l1_v": 231.0}, {"e_imp_wh": 104})
    assert record is not None
    assert (record.seq, record.ts, record.period_s, record.span) == (0, T0, 60, 1)
    assert (record.samples, record.expected, record.clock) == (4, 4, CLOCK_SYNCED)
    assert record.stats == {"u_l1_v": (231.0, 228.0, 234.0), "p_total_w": (2000.0, 1000.0, 3000.0)}
    assert record.counters == {"e_imp_wh": 103}  # the last value of the minute
    assert isinstance(record.ts, int)
    record.check()  # encodable as it is
    assert agg.current_minute == T0 + 60


def test_channel_missing_from_some_polls_averages_its_own_polls() -> None:
    agg = MinuteAggregator(3, Quality())
    agg.add(T0 + 1, {"u_l1_v": 230.0, "f_hz": 50.0}, {})
    agg.add(T0 + 21, {"u_l1_v": 232.0}, {})  # frequency failed validation this poll
    agg.add(T0 + 41, {"u_l1_v": 234.0, "f_hz": 50.5}, {})
    record = agg.flush()
    assert record is not None
    assert record.samples == 3
    assert record.stats["f_hz"] == (50.25, 50.0, 50.5)
    assert record.stats["u_l1_v"] == (232.0, 230.0, 234.0)


def test_worst_clock_quality_of_the_minute_wins() -> None:
    quality = Quality()
    agg = MinuteAggregator(60, quality)
    agg.add(T0, {"f_hz": 50.0}, {})
    quality.value = CLOCK_UNANCHORED
    agg.add(T0 + 1, {"f_hz": 50.0}, {})
    quality.value = CLOCK_ESTIMATED
    agg.add(T0 + 2, {"f_hz": 50.0}, {})
    record = agg.add(T0 + 60, {"f_hz": 50.0}, {})
    assert record is not None and record.clock == CLOCK_UNANCHORED
    record = agg.flush()
    assert record is not None and record.clock == CLOCK_ESTIMATED  # reset per minute


def test_minutes_without_polls_produce_no_record() -> None:
    agg = MinuteAggregator(60, Quality())
    agg.add(T0 + 10, {"f_hz": 50.0}, {})
    first = agg.add(T0 + 600 + 5, {"f_hz": 49.9}, {})  # meter silent for 9 minutes
    assert first is not None and first.ts == T0
    second = agg.flush()
    assert second is not None and second.ts == T0 + 600
    assert agg.flush() is None  # nothing accumulated since


def test_polls_without_values_do_not_count_but_close_the_minute() -> None:
    agg = MinuteAggregator(60, Quality())
    agg.add(T0, {"f_hz": 50.0}, {})
    agg.add(T0 + 1, {}, {})
    record = agg.add(T0 + 61, {}, {})
    assert record is not None and record.samples == 1
    assert agg.flush() is None  # a minute of failed polls is missing data, not zeros


def test_flush_emits_the_partial_minute_with_its_true_sample_count() -> None:
    agg = MinuteAggregator(60, Quality())
    for i in range(20):
        agg.add(T0 + 120 + i, {"f_hz": 50.0}, {"e_imp_wh": 7})
    record = agg.flush()
    assert record is not None
    assert (record.ts, record.samples, record.expected) == (T0 + 120, 20, 60)
    assert record.completeness == pytest.approx(1 / 3)
    assert agg.flush() is None


def test_close_due_emits_a_finished_minute_without_a_next_poll() -> None:
    agg = MinuteAggregator(60, Quality())
    assert agg.close_due(T0) is None
    agg.add(T0 + 5, {"f_hz": 50.0}, {})
    assert agg.close_due(T0 + 59.9) is None
    record = agg.close_due(T0 + 60.0)
    assert record is not None and record.ts == T0
    assert agg.close_due(T0 + 200) is None


def test_a_clock_step_back_closes_the_minute() -> None:
    agg = MinuteAggregator(60, Quality())
    agg.add(T0 + 3600, {"f_hz": 50.0}, {})
    record = agg.add(T0 + 30, {"f_hz": 50.0}, {})  # re-anchored an hour back
    assert record is not None and record.ts == T0 + 3600
    assert agg.current_minute == T0


def test_rebase_moves_the_minute_in_progress_with_the_clock_step() -> None:
    quality = Quality()
    quality.value = CLOCK_UNANCHORED
    agg = MinuteAggregator(60, quality)
    old = 946_684_800  # the unanchored base: 2000-01-01T00:00Z
    step = T0 + 37.5 - old  # old + 10 s was really T0 + 47.5 s
    agg.add(old + 10, {"f_hz": 50.0}, {})
    quality.value = CLOCK_SYNCED
    agg.rebase(step, old + 20 + step)  # ten seconds after the step
    assert agg.current_minute == T0  # the minute its start fell in (floor, as the queue)
    assert agg.add(T0 + 58, {"f_hz": 50.2}, {}) is None  # continued, not closed
    record = agg.add(T0 + 61, {"f_hz": 50.0}, {})
    assert record is not None and (record.ts, record.samples) == (T0, 2)
    assert record.clock == CLOCK_ESTIMATED  # moved: an estimate, however good the clock now


def test_rebase_leaves_a_minute_begun_after_the_step() -> None:
    agg = MinuteAggregator(60, Quality())
    step = T0 - 946_684_800
    agg.add(T0 + 5, {"f_hz": 50.0}, {})  # stamped after the step already
    agg.rebase(step, T0 + 6)
    assert agg.current_minute == T0
    record = agg.flush()
    assert record is not None and record.clock == CLOCK_SYNCED
    agg.rebase(step, T0 + 7)  # nothing in progress: nothing to do
    assert agg.current_minute is None


def test_expected_rate_changes() -> None:
    agg = MinuteAggregator(60, Quality())
    agg.set_expected_per_minute(12)
    agg.add(T0, {"f_hz": 50.0}, {})
    record = agg.flush()
    assert record is not None and record.expected == 12
    with pytest.raises(ValueError, match="expected_per_minute"):
        MinuteAggregator(0, Quality())
