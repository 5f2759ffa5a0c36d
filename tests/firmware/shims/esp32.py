"""Test shim of MicroPython's ``esp32`` module: ``Partition`` with NOR-flash semantics.

``Partition.find(Partition.TYPE_DATA, label=...)`` returns the flash image the
test passed as ``disks={"flash": path}`` (a host file that outlives the process,
so a SIGKILL is a real power cut). ``Partition.ram(blocks, block_size)`` is the
same over a bytearray, for tests that cut power thousands of times in one run.

Behaviour follows ports/esp32/esp32_partition.c and the chip:

* ``readblocks(block, buf, offset=0)`` reads ``len(buf)`` bytes;
* ``writeblocks(block, buf, offset)`` *programs*: NOR flash only clears bits, so
  the result is the AND of what was there and ``buf``; without ``offset`` the
  block is erased first, as the ESP32 port does;
* ``ioctl(4)`` block count, ``ioctl(5)`` block size, ``ioctl(6, block)`` erase
  (all 0xFF), counted per block in ``erases`` for wear tests.

Power cuts: ``Partition.cut_after(n)`` arms a cut after ``n`` more units of
work, counted over every partition: one unit per programmed byte, two per erase.
The write that crosses the limit programs only the bytes before it (byte
granularity) and raises :class:`PowerCut`; an erase cut after its first unit has
erased only the first half of its block (an interrupted erase leaves the sector
neither old nor blank), one cut before it has done nothing. ``Partition.spent``
counts units since the last ``cut_after`` or ``reset_count`` call, so a test can
learn how long a scenario is and then cut it at every unit.
"""

import binascii

import host

TYPE_APP = 0
TYPE_DATA = 1
DISK = "flash"


class PowerCut(Exception):
    """The power went away in the middle of a flash operation."""


def _block_size():
    text = host.env("FLASH_BLOCK_SIZE")
    return int(text) if text else 4096


class Partition:
    BOOT = 0
    RUNNING = 1
    TYPE_APP = TYPE_APP
    TYPE_DATA = TYPE_DATA

    _left = -1  # units of work until the power cut; -1: none armed
    spent = 0  # units of work done since the last cut_after/reset_count

    def __init__(self, label=DISK, block_size=None, _ram=None, _blocks=0):
        self.label = label
        self.block_size = block_size or _block_size()
        self._ram = _ram
        if _ram is not None:
            self.blocks = _blocks
        else:
            size = host.disk_size(label)
            if size < 0:
                raise OSError(2, "no flash image %r (pass disks={%r: path})" % (label, label))
            self.blocks = size // self.block_size
        self.erases = [0] * self.blocks

    # --- finding ---------------------------------------------------------------

    @staticmethod
    def find(type=TYPE_APP, subtype=0xFF, label=None):
        if type != TYPE_DATA or host.disk_size(DISK) < 0:
            return []
        return [Partition(DISK)]

    @staticmethod
    def ram(blocks, block_size=4096):
        """A blank partition held in RAM (fast; gone with the process)."""
        return Partition("ram", block_size, bytearray(b"\xff" * (blocks * block_size)), blocks)

    # --- power cuts ----------------------------------------------------------

    @staticmethod
    def cut_after(n):
        """Cut the power after ``n`` more units of work (see the module docstring)."""
        Partition._left = n
        Partition.spent = 0

    @staticmethod
    def disarm():
        Partition._left = -1

    @staticmethod
    def reset_count():
        Partition.spent = 0

    @staticmethod
    def _take(units):
        """How many of ``units`` happen before the cut (all of them if none is armed)."""
        Partition.spent += units
        if Partition._left < 0:
            return units
        if units <= Partition._left:
            Partition._left -= units
            return units
        done = Partition._left
        Partition._left = -1  # fires once: the next boot runs on good power
        return done

    # --- raw access ------------------------------------------------------------

    def _check(self, block, offset, n):
        if block < 0 or block >= self.blocks or offset < 0:
            raise OSError(22, "block %d offset %d out of range" % (block, offset))
        if block * self.block_size + offset + n > self.blocks * self.block_size:
            raise OSError(22, "access past the end of the partition")

    def _get(self, addr, n):
        if self._ram is not None:
            return bytes(self._ram[addr : addr + n])
        return binascii.unhexlify(host.disk_read(self.label, addr, n))

    def _put(self, addr, data):
        if self._ram is not None:
            self._ram[addr : addr + len(data)] = data
        else:
            host.disk_write(self.label, addr, binascii.hexlify(data).decode())

    # --- the block-device protocol ---------------------------------------------

    def readblocks(self, block, buf, offset=0):
        n = len(buf)
        self._check(block, offset, n)
        buf[:] = self._get(block * self.block_size + offset, n)

    def writeblocks(self, block, buf, offset=None):
        if offset is None:
            self.ioctl(6, block)
            offset = 0
        data = bytes(buf)
        n = len(data)
        self._check(block, offset, n)
        addr = block * self.block_size + offset
        done = Partition._take(n)
        if done:
            old = self._get(addr, done)
            self._put(addr, bytes(old[i] & data[i] for i in range(done)))
        if done < n:
            raise PowerCut("power cut after %d of %d bytes at %d" % (done, n, addr))

    def ioctl(self, op, arg=0):
        if op in (1, 2, 3):  # init, deinit, sync
            return 0
        if op == 4:
            return self.blocks
        if op == 5:
            return self.block_size
        if op == 6:
            self._check(arg, 0, self.block_size)
            done = Partition._take(2)
            addr = arg * self.block_size
            if done == 0:
                raise PowerCut("power cut before erasing block %d" % arg)
            if done == 1:
                self._put(addr, b"\xff" * (self.block_size // 2))
                raise PowerCut("power cut while erasing block %d" % arg)
            self._put(addr, b"\xff" * self.block_size)
            self.erases[arg] += 1
            return 0
        return None

    def info(self):
        return (TYPE_DATA, 0x81, 0, self.blocks * self.block_size, self.label, False)
