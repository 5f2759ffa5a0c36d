// Run a script on the MicroPython WebAssembly port with the firmware, its shims
// and host I/O: what tests/firmware/harness.py drives.
//
//   node tests/micropython/firmware.mjs [--heap BYTES] [--lib DIR:DEST]...
//        [--fd NAME=N]... [--disk NAME=PATH]... SCRIPT.py
//
// --lib DIR:DEST   copy DIR's *.py and *.mpy files (not its subfolders) to DEST in
//                  the port's in-memory filesystem (e.g. firmware/:/lib/firmware)
// --fd NAME=N      an open file descriptor this process inherited (a pty to a
//                  simulated meter, a socket to the network bridge), by name
// --disk NAME=PATH a host file the script reads and writes at offsets (the
//                  flash image, so it survives the process: a power cut)
//
// The port has no sockets, no machine module and no blocking I/O of its own, so
// Python reaches the world through the synchronous functions of module `host`.
// Bytes cross as hex strings and big numbers as decimal strings: the port's JS
// bridge turns a JS integer into a 32-bit int and a Python bytes into a proxy.
//
//   host.fd(name) -> int             descriptor given with --fd, or -1
//   host.write(fd, hex) -> int       bytes written; 0 if it would block; -1 on error
//   host.read(fd, n) -> str | None   hex of up to n bytes; "" if none waiting; None at EOF/error
//   host.sleep_ms(ms)                really sleeps (Atomics.wait)
//   host.now_ms() -> str             wall clock, ms since 1970 (decimal string)
//   host.disk_size(name) -> int      size of a --disk file, -1 if unknown
//   host.disk_read(name, off, n) -> str      hex
//   host.disk_write(name, off, hex) -> int   bytes written (synchronously, no cache)
//   host.env(name) -> str | None     an environment variable of this process
//
// Exit status: 0, or 1 with the traceback on stderr when the script raised.
import { closeSync, openSync, readFileSync, readSync, readdirSync, statSync, writeSync } from "node:fs";
import { join, resolve } from "node:path";

function usage(message) {
  process.stderr.write(
    `firmware.mjs: ${message}\nusage: node firmware.mjs [--heap BYTES] [--lib DIR:DEST]... ` +
      "[--fd NAME=N]... [--disk NAME=PATH]... SCRIPT.py\n",
  );
  process.exit(2);
}

let heap = 512 * 1024;
const libs = [];
const fds = new Map();
const disks = new Map();
let script = null;
const args = process.argv.slice(2);
for (let i = 0; i < args.length; i++) {
  const arg = args[i];
  if (arg === "--heap") heap = parseInt(args[++i], 10);
  else if (arg === "--lib") {
    const [dir, dest] = (args[++i] || "").split(":");
    if (!dir || !dest || !dest.startsWith("/")) usage(`bad --lib ${args[i]}`);
    libs.push([resolve(dir), dest]);
  } else if (arg === "--fd") {
    const [name, num] = (args[++i] || "").split("=");
    if (!name || !/^\d+$/.test(num || "")) usage(`bad --fd ${args[i]}`);
    fds.set(name, parseInt(num, 10));
  } else if (arg === "--disk") {
    const [name, path] = (args[++i] || "").split("=");
    if (!name || !path) usage(`bad --disk ${args[i]}`);
    disks.set(name, openSync(resolve(path), "r+"));
  } else if (script === null) script = arg;
  else usage(`unexpected argument ${arg}`);
}
if (script === null) usage("no script given");
if (!Number.isFinite(heap) || heap < 16384) usage("bad --heap");

let loadMicroPython;
try {
  ({ loadMicroPython } = await import("@micropython/micropython-webassembly-pyscript"));
} catch (err) {
  process.stderr.write(
    "firmware.mjs: the MicroPython WebAssembly package is not installed; run\n" +
      "    npm ci --prefix tests/micropython\n" +
      `(${err.message})\n`,
  );
  process.exit(3);
}

const mp = await loadMicroPython({
  heapsize: heap,
  stdout: (line) => process.stdout.write(line + "\n"),
  stderr: (line) => process.stderr.write(line + "\n"),
});

function mkdirs(path) {
  let at = "";
  for (const part of path.split("/").filter(Boolean)) {
    at += "/" + part;
    try {
      mp.FS.mkdir(at);
    } catch {
      // already there
    }
  }
}

for (const [dir, dest] of libs) {
  mkdirs(dest);
  for (const name of readdirSync(dir)) {
    if ((name.endsWith(".py") || name.endsWith(".mpy")) && statSync(join(dir, name)).isFile()) {
      mp.FS.writeFile(`${dest}/${name}`, readFileSync(join(dir, name)));
    }
  }
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));
const WOULD_BLOCK = new Set(["EAGAIN", "EWOULDBLOCK"]);

mp.registerJsModule("host", {
  fd: (name) => (fds.has(name) ? fds.get(name) : -1),
  write: (fd, hex) => {
    const data = Buffer.from(hex, "hex");
    try {
      return writeSync(fd, data, 0, data.length);
    } catch (err) {
      return WOULD_BLOCK.has(err.code) ? 0 : -1;
    }
  },
  read: (fd, n) => {
    const buf = Buffer.alloc(Math.max(1, n));
    try {
      const got = readSync(fd, buf, 0, buf.length, null);
      return got === 0 ? null : buf.subarray(0, got).toString("hex");
    } catch (err) {
      return WOULD_BLOCK.has(err.code) ? "" : null;
    }
  },
  sleep_ms: (ms) => {
    if (ms > 0) Atomics.wait(sleeper, 0, 0, ms);
  },
  now_ms: () => String(Date.now()),
  disk_size: (name) => (disks.has(name) ? statSync(`/proc/self/fd/${disks.get(name)}`).size : -1),
  disk_read: (name, offset, n) => {
    const buf = Buffer.alloc(n);
    const got = readSync(disks.get(name), buf, 0, n, offset);
    return buf.subarray(0, got).toString("hex");
  },
  disk_write: (name, offset, hex) => {
    const data = Buffer.from(hex, "hex");
    return writeSync(disks.get(name), data, 0, data.length, offset);
  },
  env: (name) => (name in process.env ? process.env[name] : null),
});

let status = 0;
try {
  mp.runPython(readFileSync(script, "utf8"));
} catch (err) {
  // A Python exception arrives as a JS error whose message is the traceback.
  process.stderr.write(String(err && err.message ? err.message : err) + "\n");
  status = 1;
}
for (const fd of disks.values()) closeSync(fd);
process.exit(status);
