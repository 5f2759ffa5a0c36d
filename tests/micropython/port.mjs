// What the Node runners of the MicroPython WebAssembly port share: loading the
// pinned port, copying module folders into its in-memory filesystem, and the
// synchronous `host` module through which shims reach descriptors and files.
// Used by tests/micropython/run.mjs, tests/micropython/firmware.mjs and
// bench/firmware_memory.mjs.
//
// Bytes cross as hex strings and big numbers as decimal strings: the port's JS
// bridge turns a JS integer into a 32-bit int and a Python bytes into a proxy.
import { readFileSync, readSync, readdirSync, statSync, writeSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const pkg = join(
  dirname(fileURLToPath(import.meta.url)),
  "node_modules/@micropython/micropython-webassembly-pyscript/micropython.mjs",
);

/** The port with a first heap area of `heap` bytes; exits 3 when the package is missing. */
export async function loadPort(heap, who) {
  let loadMicroPython;
  try {
    ({ loadMicroPython } = await import(pathToFileURL(pkg).href));
  } catch (err) {
    process.stderr.write(
      `${who}: the MicroPython WebAssembly package is not installed; run\n` +
        "    npm ci --prefix tests/micropython\n" +
        `(${err.message})\n`,
    );
    process.exit(3);
  }
  return loadMicroPython({
    heapsize: heap,
    stdout: (line) => process.stdout.write(line + "\n"),
    stderr: (line) => process.stderr.write(line + "\n"),
  });
}

/** Copy each [dir, dest]'s *.py and *.mpy files (not subfolders) to dest in the port's FS. */
export function copyLibs(mp, libs) {
  for (const [dir, dest] of libs) {
    let at = "";
    for (const part of dest.split("/").filter(Boolean)) {
      at += "/" + part;
      try {
        mp.FS.mkdir(at);
      } catch {
        // already there
      }
    }
    for (const name of readdirSync(dir)) {
      if ((name.endsWith(".py") || name.endsWith(".mpy")) && statSync(join(dir, name)).isFile()) {
        mp.FS.writeFile(`${dest}/${name}`, readFileSync(join(dir, name)));
      }
    }
  }
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));
const WOULD_BLOCK = new Set(["EAGAIN", "EWOULDBLOCK"]);

/**
 * The `host` module: `fds` maps names to inherited descriptors, `disks` names to open
 * host files.
 *
 *   fd(name) -> int             descriptor given by name, or -1
 *   write(fd, hex) -> int       bytes written; 0 if it would block; -1 on error
 *   read(fd, n) -> str | None   hex of up to n bytes; "" if none waiting; None at EOF/error
 *   sleep_ms(ms)                really sleeps (Atomics.wait)
 *   now_ms() -> str             wall clock, ms since 1970 (decimal string)
 *   disk_size(name) -> int      size of a disk file, -1 if unknown
 *   disk_read(name, off, n) -> str      hex
 *   disk_write(name, off, hex) -> int   bytes written (synchronously, no cache)
 *   env(name) -> str | None     an environment variable of this process
 */
export function hostModule(fds, disks) {
  return {
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
  };
}
