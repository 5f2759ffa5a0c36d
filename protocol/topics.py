"""MQTT topics and QoS of protocol v1: ``myenergy/v1/<device id>/<kind>``.

kinds (direction, QoS, retain; payloads in docs/protocol.md):

    up      device -> cloud   QoS 1  not retained  binary Batch (codec.encode_batch)
    status  device -> cloud   QoS 1  retained      JSON; the MQTT last will is "offline"
    live    device -> cloud   QoS 0  not retained  binary live samples, only while watched
    cmd     cloud -> device   QoS 1  not retained  JSON command

The version is in the topic, so a v2 can run beside v1 on the same broker and
the broker's ACLs can grant each device exactly ``myenergy/v1/<its id>/#``. That
is why device ids are restricted to characters with no meaning in topics or ACL
patterns (no ``/``, ``+``, ``#``, ``$``, ``%``, upper case or spaces).
"""

PREFIX = "myenergy/v1/"

UP = "up"
STATUS = "status"
LIVE = "live"
COMMAND = "cmd"
KINDS = (UP, STATUS, LIVE, COMMAND)

# At-least-once for everything that must not be lost (records, commands, status);
# live samples are superseded a second later, so losing one is cheaper than a retry.
UPLINK_QOS = 1
STATUS_QOS = 1
LIVE_QOS = 0
COMMAND_QOS = 1

# Only the status is retained: a new subscriber (portal, ingest) learns every
# device's last state at once. A retained command would be replayed at every
# reconnect, so commands rely on the persistent session instead.
UPLINK_RETAIN = False
STATUS_RETAIN = True
LIVE_RETAIN = False
COMMAND_RETAIN = False

# MQTT v5 shared subscriptions: ingest workers in group "ingest" split the load.
SHARE_GROUP = "ingest"
SHARED_UPLINK = "$share/" + SHARE_GROUP + "/" + PREFIX + "+/" + UP
SHARED_STATUS = "$share/" + SHARE_GROUP + "/" + PREFIX + "+/" + STATUS
SHARED_LIVE = "$share/" + SHARE_GROUP + "/" + PREFIX + "+/" + LIVE

# Plain (non-shared) filters, e.g. for the portal watching one kind of every device.
ALL_UPLINK = PREFIX + "+/" + UP
ALL_STATUS = PREFIX + "+/" + STATUS
ALL_LIVE = PREFIX + "+/" + LIVE

DEVICE_ID_MIN = 3
DEVICE_ID_MAX = 32
_ID_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789-"


def valid_device_id(s: object) -> bool:
    """True for 3..32 characters of a-z, 0-9 and '-': safe in topics and ACL patterns."""
    if not isinstance(s, str) or not DEVICE_ID_MIN <= len(s) <= DEVICE_ID_MAX:
        return False
    return all(c in _ID_CHARS for c in s)


def _topic(dev: str, kind: str) -> str:
    if not valid_device_id(dev):
        raise ValueError("invalid device id %r (3-32 characters of a-z, 0-9, '-')" % (dev,))
    return PREFIX + dev + "/" + kind


def uplink(dev: str) -> str:
    """Topic the device publishes its record batches to."""
    return _topic(dev, UP)


def status(dev: str) -> str:
    """Topic of the device's retained status (and of its last will)."""
    return _topic(dev, STATUS)


def live(dev: str) -> str:
    """Topic of the device's live samples."""
    return _topic(dev, LIVE)


def command(dev: str) -> str:
    """Topic the device subscribes to for commands."""
    return _topic(dev, COMMAND)


def parse(topic: str) -> tuple[str, str]:
    """``(device id, kind)`` of a v1 topic; ValueError for anything else."""
    if not isinstance(topic, str) or not topic.startswith(PREFIX):
        raise ValueError("not a myenergy/v1 topic: %r" % (topic,))
    parts = topic[len(PREFIX) :].split("/")
    if len(parts) != 2:
        raise ValueError("not a myenergy/v1/<device>/<kind> topic: %r" % (topic,))
    dev, kind = parts
    if not valid_device_id(dev):
        raise ValueError("invalid device id in topic %r" % (topic,))
    if kind not in KINDS:
        raise ValueError("unknown topic kind %r in %r" % (kind, topic))
    return dev, kind
