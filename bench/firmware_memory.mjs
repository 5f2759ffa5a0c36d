// Runner of bench/firmware_memory.py: the firmware's hot path on the MicroPython
// WebAssembly port, one poll cycle per top-level call.
//
//   node bench/firmware_memory.mjs --heap BYTES --cycles N [--measure] [--free BYTES]
//        [--lib DIR:DEST]... [--disk NAME=PATH]... [--import MODULE]... SCRIPT.py
//
// Why not tests/micropython/firmware.mjs: that port (the npm "pyscript" variant)
// is built with MICROPY_GC_SPLIT_HEAP_AUTO. There gc.collect() only marks a
// collection as pending; it runs when control returns to JavaScript (ports/
// webassembly/main.c: gc_collect_top_level), and an allocation that does not fit
// grows the heap by a new area instead of collecting. Inside one long runPython
// nothing is ever freed and no MemoryError ever comes. So this runner returns to
// the top level between every step: each import, the set-up, each poll cycle and
// each collection is its own runPython call, and the heap areas are watched for
// growth. --free: after the set-up, ballast fills the heap until only BYTES are
// free, so that the poll cycles run in what behaves as a fixed heap of the live set
// plus BYTES (growth then is the MemoryError the bisection looks for).
//
// SCRIPT.py defines setup(), cycle(i), settle() and report(); the host module
// is tests/micropython/port.mjs's (the disks given by --disk).
import { closeSync, openSync, readFileSync } from "node:fs";
import { resolve } from "node:path";

import { copyLibs, hostModule, loadPort } from "../tests/micropython/port.mjs";

function usage(message) {
  process.stderr.write(`firmware_memory.mjs: ${message}\n`);
  process.exit(2);
}

let heap = 0;
let cycles = -1;
let measure = false;
let free = -1;
const libs = [];
const disks = new Map();
const imports = [];
let script = null;
const args = process.argv.slice(2);
for (let i = 0; i < args.length; i++) {
  const arg = args[i];
  if (arg === "--heap") heap = parseInt(args[++i], 10);
  else if (arg === "--cycles") cycles = parseInt(args[++i], 10);
  else if (arg === "--measure") measure = true;
  else if (arg === "--free") free = parseInt(args[++i], 10);
  else if (arg === "--import") imports.push(args[++i]);
  else if (arg === "--lib") {
    const [dir, dest] = (args[++i] || "").split(":");
    if (!dir || !dest) usage(`bad --lib ${args[i]}`);
    libs.push([resolve(dir), dest]);
  } else if (arg === "--disk") {
    const [name, path] = (args[++i] || "").split("=");
    if (!name || !path) usage(`bad --disk ${args[i]}`);
    disks.set(name, openSync(resolve(path), "r+"));
  } else if (script === null) script = arg;
  else usage(`unexpected argument ${arg}`);
}
if (script === null || !(heap >= 16384) || !(cycles >= 0)) usage("need --heap, --cycles and SCRIPT.py");

const mp = await loadPort(heap, "firmware_memory.mjs");
copyLibs(mp, libs);
mp.registerJsModule("host", hostModule(new Map(), disks));

let status = 0;
try {
  // Each call returns to the top level, where the pending collection runs.
  mp.runPython(readFileSync(script, "utf8"));
  mp.runPython("gc.collect()");
  mp.runPython("mark('empty')");
  for (const name of imports) {
    mp.runPython(`import ${name}`);
    mp.runPython("gc.collect()");
  }
  mp.runPython("mark('imports')");
  mp.runPython(`setup(${measure ? "True" : "False"})`);
  mp.runPython("gc.collect()");
  mp.runPython("settle()");
  if (free >= 0) {
    mp.runPython(`ballast(${free})`);
    mp.runPython("gc.collect()");
  }
  for (let i = 0; i < cycles; i++) {
    mp.runPython(`cycle(${i})`);
    if (measure) {
      mp.runPython("gc.collect()");
      mp.runPython("settle()");
    }
  }
  mp.runPython("report()");
} catch (err) {
  process.stderr.write(String(err && err.message ? err.message : err) + "\n");
  status = 1;
}
for (const fd of disks.values()) closeSync(fd);
process.exit(status);
