// Run a Python script on the MicroPython WebAssembly port with protocol/ importable.
//
//   node tests/micropython/run.mjs [--heap BYTES] [--src DIR] SCRIPT.py
//
// DIR (default: the repository's protocol/) is copied to /lib/protocol/ in the
// port's in-memory filesystem, so `import protocol.codec` works exactly as on a
// device that ships those files. The script's stdout and stderr go to ours; an
// uncaught Python exception prints its traceback and exits with status 1.
//
// Needs the pinned package: npm ci --prefix tests/micropython
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

import { copyLibs, loadPort } from "./port.mjs";

const here = dirname(fileURLToPath(import.meta.url));

function usage(message) {
  process.stderr.write(`run.mjs: ${message}\nusage: node run.mjs [--heap BYTES] [--src DIR] SCRIPT.py\n`);
  process.exit(2);
}

let heap = 16 * 1024 * 1024;
let src = resolve(here, "..", "..", "protocol");
let script = null;
const args = process.argv.slice(2);
for (let i = 0; i < args.length; i++) {
  if (args[i] === "--heap") heap = parseInt(args[++i], 10);
  else if (args[i] === "--src") src = resolve(args[++i]);
  else if (script === null) script = args[i];
  else usage(`unexpected argument ${args[i]}`);
}
if (script === null) usage("no script given");
if (!Number.isFinite(heap) || heap < 65536) usage("bad --heap");

const mp = await loadPort(heap, "run.mjs");
copyLibs(mp, [[src, "/lib/protocol"]]);

try {
  mp.runPython(readFileSync(script, "utf8"));
} catch (err) {
  // A Python exception arrives as a JS error whose message is the traceback.
  process.stderr.write(String(err && err.message ? err.message : err) + "\n");
  process.exit(1);
}
