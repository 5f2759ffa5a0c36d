"""A device's status as the portal shows it: last seen, online, queue, signal, clock.

Pure: the newest stored status (ingest writes every status message into the
time-series store, decision 0004 "Device status"), the end of the newest record
and the newest live sample in; a ``DeviceStatusView`` out.

* ``last_seen`` is the newest of: the newest status the device itself sent, the
  end of its newest record, its newest live sample. An ``offline`` status is
  the broker's last will, not the device speaking, so it never counts as seen.
* ``online``: the newest status says ``online`` AND the device was seen within
  ``online_window_s`` (default two upload intervals of the agent, 2 × 900 s).
  The broker's will is the authority on the connection (as in ingest's device
  state); the window catches an agent that is connected but stuck, whose
  records stopped. An agent uploads every 15 minutes, so a healthy device is
  seen at least every ~16 minutes and two intervals leave room for one late upload.
"""

from __future__ import annotations

from datetime import UTC, datetime

from ingest.store import StatusRow
from portal_api.consumption.schemas import DeviceStatusView

DEFAULT_ONLINE_WINDOW_S = 2 * 900.0
STATE_ONLINE = "online"
STATE_OFFLINE = "offline"


def _utc(ts: float | None) -> datetime | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC)


def last_seen(
    status: StatusRow | None, newest_record_end: float | None, newest_live: float | None
) -> float | None:
    """The newest time the device was heard from (UTC seconds), None if never."""
    heard = [t for t in (newest_record_end, newest_live) if t is not None]
    if status is not None and status.state != STATE_OFFLINE:
        heard.append(status.ts)
    return max(heard) if heard else None


def status_view(
    device_id: str,
    status: StatusRow | None,
    newest_record_end: float | None,
    newest_live: float | None,
    *,
    now: float,
    online_window_s: float = DEFAULT_ONLINE_WINDOW_S,
) -> DeviceStatusView:
    """The view of ``device_id`` at ``now`` (UTC seconds)."""
    seen = last_seen(status, newest_record_end, newest_live)
    online = (
        status is not None
        and status.state == STATE_ONLINE
        and seen is not None
        and now - seen <= online_window_s
    )
    return DeviceStatusView(
        device_id=device_id,
        last_seen=_utc(seen),
        online=online,
        state=None if status is None else status.state,
        status_at=None if status is None else _utc(status.ts),
        queue_depth=None if status is None else status.queue_depth,
        signal_dbm=None if status is None else status.signal_dbm,
        clock=None if status is None else status.clock,
        version=None if status is None else status.version,
        live_until=None if status is None else _utc(status.live_until),
        records_dropped=None if status is None else status.records_dropped,
        oldest_unsent_age_s=None if status is None else status.oldest_unsent_age_s,
    )


__all__ = ["DEFAULT_ONLINE_WINDOW_S", "last_seen", "status_view"]
