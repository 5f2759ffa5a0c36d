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
// The host module's functions are listed in port.mjs (hostModule).
//
// Exit status: 0, or 1 with the traceback on stderr when the script raised.
import { closeSync, openSync, readFileSync } from "node:fs";
import { resolve } from "node:path";

import { copyLibs, hostModule, loadPort } from "./port.mjs";

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

const mp = await loadPort(heap, "firmware.mjs");
copyLibs(mp, libs);
mp.registerJsModule("host", hostModule(fds, disks));

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
