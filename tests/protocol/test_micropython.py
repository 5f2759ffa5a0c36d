"""protocol/ on real MicroPython (the WebAssembly port under Node) against CPython.

Install the port once: ``npm ci --prefix tests/micropython``. Without it these
tests fail with that instruction; they are never skipped.
"""

import pytest

from protocol.codec import (
    Batch,
    decode_batch,
    decode_command,
    decode_live,
    encode_batch,
    encode_live,
    encode_status,
)
from tests.protocol.micropython_runner import batch_source, results, run_micropython
from tests.protocol.realistic import realistic_batch, realistic_records, simulator_records
from tests.protocol.test_batch import GOLDEN_HEX, golden_batch

pytestmark = pytest.mark.micropython

T0 = 1767225600000


def mixed_batch() -> Batch:
    """Gaps, a channel missing here and there, an exporting phase: every code path."""
    records = realistic_records(20, seed=7)
    records[4].seq += 3
    records[4].ts += 180
    del records[6].stats["u_l2_v"]
    records[7].stats["p_l3_w"] = (-2500.0, -3100.0, -900.0)
    records[9].counters = {}
    records[12].clock = 1
    return Batch("me-000123", records, historical=True)


def sunrise_batch() -> Batch:
    """The simulator's SDM630 as PV starts to export: powers, pf and totals change
    sign within the batch, and the phases swing together (follow)."""
    return Batch("demo-sdm630-1", simulator_records(300)[270:300])


def test_micropython_and_cpython_agree() -> None:
    batches = {
        "golden": golden_batch(),
        "realistic": realistic_batch(30),
        "mixed": mixed_batch(),
        "sunrise": sunrise_batch(),
    }
    live = [
        (T0 + 1000 * i, {"p_l1_w": 1200.0 + i, "p_l2_w": 301.0, "f_hz": 50.01}) for i in range(5)
    ]
    cpython_plain = {k: encode_batch(b, compress=False) for k, b in batches.items()}
    cpython_zlib = {k: encode_batch(b, compress=True) for k, b in batches.items()}

    hexlify = "binascii.hexlify(c.encode_batch(%s, compress=%s)).decode()"
    script = ["import binascii, sys", "import protocol.codec as c", "import protocol.topics as t"]
    script.append("print('=impl', sys.implementation.name)")
    for key, batch in batches.items():
        script.append(batch_source(batch, "B"))
        # MicroPython encodes: uncompressed and (if the port can) compressed.
        script.append(f"print('=mp_plain_{key}', {hexlify % ('B', False)})")
        script.append(f"print('=mp_zlib_{key}', {hexlify % ('B', True)})")
        # MicroPython decodes what CPython encoded, then re-encodes it uncompressed.
        for variant, data in (("plain", cpython_plain[key]), ("zlib", cpython_zlib[key])):
            script.append(f"D = c.decode_batch(binascii.unhexlify('{data.hex()}'))")
            script.append(f"print('=mp_equal_{key}_{variant}', D == B)")
            script.append(f"print('=mp_reencoded_{key}_{variant}', {hexlify % ('D', False)})")
    status = encode_status({"state": "online"})
    script += [
        f"L = {live!r}",
        "print('=mp_live', binascii.hexlify(c.encode_live('me-000123', L)).decode())",
        "print('=mp_cmd', c.encode_command({'cmd': 'live', 'minutes': 5}).decode())",
        f"print('=mp_status', c.decode_status({status!r})['state'])",
        "print('=mp_topic', t.parse(t.uplink('me-000123')))",
    ]
    out = results(run_micropython("\n".join(script)))

    assert out["impl"] == "micropython"
    for key, batch in batches.items():
        mp_plain = bytes.fromhex(out[f"mp_plain_{key}"])
        assert mp_plain == cpython_plain[key], key  # byte-identical without compression
        assert decode_batch(mp_plain) == batch
        # MicroPython's deflate output differs from zlib's but decodes the same here.
        mp_zlib = bytes.fromhex(out[f"mp_zlib_{key}"])
        assert mp_zlib[3] & 0x01, "the port compressed"
        assert decode_batch(mp_zlib) == batch
        for variant in ("plain", "zlib"):
            assert out[f"mp_equal_{key}_{variant}"] == "True"
            assert bytes.fromhex(out[f"mp_reencoded_{key}_{variant}"]) == cpython_plain[key]
    assert bytes.fromhex(out["mp_live"]) == encode_live("me-000123", live)
    assert decode_live(bytes.fromhex(out["mp_live"]))[1] == live
    assert decode_command(out["mp_cmd"].encode()) == {"cmd": "live", "minutes": 5}
    assert out["mp_status"] == "online"
    assert out["mp_topic"] == "('me-000123', 'up')"
    assert cpython_plain["golden"].hex(" ") == GOLDEN_HEX


def test_micropython_decoders_raise_only_decode_error() -> None:
    good = encode_batch(realistic_batch(5), compress=False)
    cases = [b"", b"MB", b"MB\x01\x01garbage", good[:-1], good + b"\x00", good[:10], b"\xff" * 64]
    cases += [good[:i] + bytes([good[i] ^ 0x55]) + good[i + 1 :] for i in range(4, len(good), 7)]
    script = (
        "import binascii\n"
        "import protocol.codec as c\n"
        "bad = 0\n"
        f"for h in {[c.hex() for c in cases]!r}:\n"
        "    data = binascii.unhexlify(h)\n"
        "    for dec in (c.decode_batch, c.decode_live, c.decode_status, c.decode_command):\n"
        "        try:\n"
        "            dec(data)\n"
        "        except c.DecodeError:\n"
        "            pass\n"
        "        except Exception as e:\n"
        "            bad += 1\n"
        "            print('unexpected', dec, repr(e))\n"
        "print('=bad', bad)\n"
    )
    out = results(run_micropython(script))
    assert out["bad"] == "0"


def test_micropython_size_matches() -> None:
    """The budget holds on a device: uncompressed bytes are CPython's, and the port's
    deflate is never chosen when it would make the payload bigger."""
    batch = realistic_batch(30, seed=3)
    script = batch_source(batch) + (
        "import protocol.codec as c\n"
        "print('=auto', len(c.encode_batch(BATCH)))\n"
        "print('=plain', len(c.encode_batch(BATCH, compress=False)))\n"
    )
    out = results(run_micropython(script))
    plain = len(encode_batch(batch, compress=False))
    assert int(out["plain"]) == plain
    assert int(out["auto"]) <= plain
    assert plain / 30 < 35
