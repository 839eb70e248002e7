/**
 * Orphan safety for bootstrapped children: die when the parent dies, even
 * when the parent is SIGKILLed (port of the seed's `install_pdeathsig_kill`).
 *
 * ## Mechanisms
 * - **`exec`** (the launcher armed it, {@linkcode PDEATHSIG_ARMED_ENV} is
 *   `SIGKILL`): the native launcher started the child through util-linux
 *   `setpriv --pdeathsig KILL` from its main thread, so
 *   `PR_SET_PDEATHSIG(SIGKILL)` was set before the program ran (it survives
 *   `exec`). The child loads no FFI for it: `Deno.dlopen` and one
 *   synchronous call cost 3–3.5 MB of RSS per process (measured: an idle
 *   proc 45.4 → 42 MB).
 * - **`prctl`** (FFI permitted, spawned by the parent's main thread):
 *   `prctl(PR_SET_PDEATHSIG, SIGKILL)` through `Deno.dlopen("libc.so.6")`.
 *   The kernel kills the child the moment its parent dies; nothing in the
 *   child needs to run.
 * - **`prctl-checked`** (FFI permitted, spawned by another parent thread, or
 *   the thread is unknown, or a non-SIGKILL `deathSignal` was asked for):
 *   `prctl(PR_SET_PDEATHSIG, SIGUSR2)` plus a `Deno.addSignalListener`
 *   handler that exits only when the parent *process* is really gone (our
 *   parent pid changed). A signal while the parent lives is ignored; the
 *   setting stays armed, so nothing needs re-arming.
 * - **`watchdog`** (no FFI): an unref'd interval (default 250 ms) compares
 *   `Deno.ppid` (live `getppid()`, no permission needed) with the expected
 *   parent pid and exits when it changed.
 * - **`pid-watch`** (FFI permitted, a watched pid given: option `watchPid`,
 *   else {@linkcode WATCH_PID_ENV}): for children whose parent is not the
 *   process they serve — a `systemd --user` unit's parent is the user
 *   manager, so the parent-death signal would watch the manager. An unref'd
 *   interval (default 250 ms) probes the watched pid with libc `kill(pid, 0)`
 *   (`ESRCH` → gone; `EPERM` → alive under another user) and with
 *   `/proc/<pid>/stat` (read through libc, no Deno permission): state `Z`/`X`
 *   (killed but not yet reaped) or a changed start time (pid reused) also
 *   count as gone. The guard then exits the way the others do. No parent
 *   pid is watched in this mode. Without FFI there is no permission-free
 *   probe (`Deno.kill` needs `run` and has no signal 0; other processes'
 *   `/proc` needs `--allow-all`), so the watched pid is **ignored** and the
 *   guard falls back to `watchdog` on the parent (the child then outlives a
 *   SIGKILLed host until the unit is stopped some other way).
 *
 * The parent mechanisms close the start-up race as the seed does: after arming, the
 * parent pid is compared with the expected one (option, else
 * {@linkcode PARENT_PID_ENV} set by the parent, else our parent pid at
 * install time); if it already changed the parent died before we armed, and
 * the child exits (code 0) at once. `ppid == 1` is never taken as "dead" by
 * itself (containers legitimately run parents as pid 1).
 *
 * ## Findings: which thread does `Deno.Command` fork from?
 * The kernel sends the parent-death signal when the *thread* that forked the
 * child exits (the child is reparented to a sibling thread, and the signal
 * still fires). Measured on Deno 2.9.6 / Linux 6.18 with
 * `strace -f -e clone3,execve`: `spawn()`, `output()`, `outputSync()` and
 * piped spawns all issue `clone3(CLONE_VM|CLONE_VFORK)` from the **main
 * thread** (tid == pid), not from a tokio blocking-pool thread, so an idle
 * parent never loses the forking thread (proved by
 * `tests/pdeathsig_idle_test.ts`: a SIGKILL-pdeathsig child survives 65 s of
 * its parent idling). A `Deno.Command` run inside a **Web Worker** forks from
 * the worker's thread; terminating the worker then kills a SIGKILL-pdeathsig
 * child of a perfectly healthy parent (reproduced with an `unref()`'d child:
 * Deno itself kills a terminated worker's still-ref'd children). The guard therefore finds
 * whether the parent's main thread forked it (`/proc/<ppid>/task/<ppid>/children`,
 * read through libc since Deno wants `--allow-all` for other processes'
 * `/proc`) and uses SIGKILL only then; otherwise it uses the checked
 * SIGUSR2 variant (`tests/pdeathsig_test.ts` proves a worker-spawned child
 * survives its worker and still dies with the parent).
 *
 * ## Invariants (BS-*)
 * - **BS-3 (orphan safety).** A guarded child does not outlive its parent
 *   process (death by SIGKILL included) by more than the detection latency
 *   (kernel-immediate for `prctl`, one signal delivery for `prctl-checked`,
 *   one interval for `watchdog`), and is not killed while its parent process
 *   lives.
 * - **BS-51 (armed at exec).** A child started with
 *   {@linkcode PDEATHSIG_ARMED_ENV}=`SIGKILL` (and no pid to watch, and an
 *   `auto` or `SIGKILL` death signal) trusts its launcher: its guard is
 *   `exec`, loads no FFI, and still closes the start-up race (a parent
 *   already gone exits the child at once). The variable is removed from the
 *   child's environment at install, whatever its value, so nothing the child
 *   starts inherits the claim. Orphan safety (BS-3) is the kernel's, as with
 *   `prctl`.
 * - **BS-36 (watched pid).** A child given a pid to watch
 *   ({@linkcode WATCH_PID_ENV}, set by the bootstrap manager for systemd
 *   launches instead of {@linkcode PARENT_PID_ENV}) does not outlive that
 *   process (SIGKILL included) by more than one poll interval when FFI is
 *   permitted, and is not killed while it lives; a pid already gone at
 *   install exits the child at once (race close, as BS-3).
 *
 * @module
 */

import { PARENT_PID_ENV, PDEATHSIG_ARMED_ENV, WATCH_PID_ENV } from "./mode.ts";

export { PARENT_PID_ENV, PDEATHSIG_ARMED_ENV, WATCH_PID_ENV };

/** How the guard watches the parent (or the watched pid, `pid-watch`). */
export type ParentDeathMechanism = "exec" | "prctl" | "prctl-checked" | "watchdog" | "pid-watch";

/** Signals usable as a parent-death signal. */
export type ParentDeathSignal =
  | "SIGKILL"
  | "SIGTERM"
  | "SIGUSR1"
  | "SIGUSR2"
  | "SIGHUP"
  | "SIGINT"
  | "SIGQUIT";

const SIGNAL_NUMBERS: Readonly<Record<ParentDeathSignal, number>> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGKILL: 9,
  SIGUSR1: 10,
  SIGUSR2: 12,
  SIGTERM: 15,
};

const PR_SET_PDEATHSIG = 1;

/** Options of {@linkcode installParentDeathGuard}. */
export interface ParentDeathGuardOptions {
  /**
   * `"auto"` (default): SIGKILL when the parent's main thread forked us, else
   * checked SIGUSR2. A given signal is used as is (non-SIGKILL ones checked).
   */
  deathSignal?: "auto" | ParentDeathSignal;
  /** The parent pid to compare with (default: {@linkcode PARENT_PID_ENV}, else `Deno.ppid`). */
  expectedParentPid?: number;
  /**
   * A pid to watch instead of the parent (default: {@linkcode WATCH_PID_ENV});
   * used with FFI only (BS-36).
   */
  watchPid?: number;
  /** Use FFI (`prctl`) (default: on Linux when the `ffi` permission is granted). */
  useFfi?: boolean;
  /** Watchdog / pid-watch poll period in ms (default 250). */
  intervalMs?: number;
  /** What to do when the parent is gone (default: `Deno.exit(0)`). */
  onParentDeath?: () => void;
  /** Called when a checked death signal arrives while the parent lives. */
  onIgnoredSignal?: (signal: ParentDeathSignal) => void;
}

/** An installed guard: what it uses, and how to remove it. */
export interface ParentDeathGuard extends Disposable {
  /** The mechanism in use. */
  readonly mechanism: ParentDeathMechanism;
  /** For `prctl*`: the signal the kernel sends. */
  readonly deathSignal?: ParentDeathSignal;
  /** The parent pid watched (for `pid-watch`: our parent at install, not watched). */
  readonly parentPid: number;
  /** For `pid-watch`: the pid watched instead of the parent (BS-36). */
  readonly watchedPid?: number;
  /** For `prctl*`: whether the parent's main thread forked us (`undefined`: unknown). */
  readonly forkedByMainThread?: boolean;
  /** For `watchdog` and `pid-watch`: the poll period. */
  readonly intervalMs?: number;
  /** Whether the parent (or watched pid) was already gone at install (`onParentDeath` ran). */
  readonly parentGone: boolean;
  /** Disarms the guard (resets PDEATHSIG, removes listener and timer). Idempotent. */
  uninstall(): void;
}

/**
 * Arms orphan safety for this process (BS-3). See the module doc for the
 * mechanism chosen.
 * @param options Signal, expected parent, FFI use, callbacks.
 * @returns The installed guard.
 * @throws {RangeError} For an unsupported `deathSignal` or `intervalMs`.
 * @throws {Deno.errors.NotSupported} When `prctl` fails (FFI path).
 * @tags allow-ffi, allow-env
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { installParentDeathGuard } from "./pdeathsig.ts";
 * using guard = installParentDeathGuard({ useFfi: false });
 * assertEquals(guard.mechanism, "watchdog");
 * assertEquals(guard.parentPid, Deno.ppid);
 * ```
 * @example Watching a pid that is not the parent (BS-36; Linux, FFI permitted)
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { installParentDeathGuard } from "./pdeathsig.ts";
 * if (Deno.build.os === "linux") {
 *   using guard = installParentDeathGuard({ watchPid: Deno.pid, useFfi: true });
 *   assertEquals([guard.mechanism, guard.watchedPid], ["pid-watch", Deno.pid]);
 * }
 * ```
 */
export function installParentDeathGuard(options: ParentDeathGuardOptions = {}): ParentDeathGuard {
  const requested = options.deathSignal ?? "auto";
  if (requested !== "auto" && !(requested in SIGNAL_NUMBERS)) {
    throw new RangeError(`Invalid parent-death signal: ${requested}`);
  }
  const intervalMs = options.intervalMs ?? 250;
  if (!Number.isFinite(intervalMs) || intervalMs <= 0) {
    throw new RangeError(`Invalid watchdog interval: ${intervalMs}`);
  }
  const parentPid = options.expectedParentPid ?? pidFromEnv(PARENT_PID_ENV) ?? Deno.ppid;
  const onParentDeath = options.onParentDeath ?? (() => Deno.exit(0));
  const useFfi = options.useFfi ?? (Deno.build.os === "linux" && granted({ name: "ffi" }));
  const watchPid = options.watchPid ?? pidFromEnv(WATCH_PID_ENV);
  if (watchPid !== undefined && (!Number.isSafeInteger(watchPid) || watchPid <= 0)) {
    throw new RangeError(`Invalid watched pid: ${watchPid}`);
  }
  // BS-36: without FFI there is no permission-free probe; fall back to the parent.
  if (useFfi && watchPid !== undefined) {
    return armPidWatch(intervalMs, watchPid, onParentDeath);
  }
  // BS-51: the launcher armed SIGKILL before we ran; nothing to load.
  if (
    takeArmedClaim() && watchPid === undefined && (requested === "auto" || requested === "SIGKILL")
  ) {
    return armedAtExec(parentPid, onParentDeath, useFfi);
  }
  return useFfi
    ? armPrctl(requested, parentPid, onParentDeath, options.onIgnoredSignal)
    : armWatchdog(intervalMs, parentPid, onParentDeath);
}

function granted(descriptor: Deno.PermissionDescriptor): boolean {
  try {
    return Deno.permissions.querySync(descriptor).state === "granted";
  } catch {
    return false;
  }
}

/**
 * Whether the launcher armed our parent-death signal before we ran
 * ({@linkcode PDEATHSIG_ARMED_ENV} is `SIGKILL`). The variable is removed
 * from our environment either way: it is true of this process only, and a
 * child we start must not inherit the claim.
 */
function takeArmedClaim(): boolean {
  if (!granted({ name: "env", variable: PDEATHSIG_ARMED_ENV })) return false;
  const claim = Deno.env.get(PDEATHSIG_ARMED_ENV);
  if (claim !== undefined) Deno.env.delete(PDEATHSIG_ARMED_ENV);
  return claim === "SIGKILL";
}

/**
 * For a process that will not arm a guard (its config turns it off): undoes
 * a parent-death signal its launcher armed before it ran (BS-51) — through
 * libc when FFI is permitted; without FFI the kernel setting stays — and
 * drops the claim from the environment. A no-op when the launcher armed
 * nothing.
 * @param options `useFfi` (default: on Linux when the `ffi` permission is granted).
 * @returns Whether the launcher had armed one.
 * @tags allow-ffi, allow-env
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { PDEATHSIG_ARMED_ENV, releaseParentDeathClaim } from "./pdeathsig.ts";
 * Deno.env.set(PDEATHSIG_ARMED_ENV, "");
 * assertEquals(releaseParentDeathClaim(), false); // the launcher armed nothing
 * assertEquals(Deno.env.get(PDEATHSIG_ARMED_ENV), undefined);
 * ```
 */
export function releaseParentDeathClaim(options: { useFfi?: boolean } = {}): boolean {
  if (!takeArmedClaim()) return false;
  const useFfi = options.useFfi ?? (Deno.build.os === "linux" && granted({ name: "ffi" }));
  if (useFfi) disarmPrctl();
  return true;
}

/** `prctl(PR_SET_PDEATHSIG, 0)` through libc. */
function disarmPrctl(): void {
  const lib = Deno.dlopen("libc.so.6", { prctl: LIBC.prctl });
  try {
    lib.symbols.prctl(PR_SET_PDEATHSIG, 0n, 0n, 0n, 0n);
  } finally {
    lib.close();
  }
}

/**
 * The guard of a child whose launcher armed `PR_SET_PDEATHSIG` (SIGKILL)
 * before exec (BS-51): only the race close runs here. Uninstalling disarms
 * it through libc when FFI is permitted (BS-30: a proc whose config turns
 * the guard off); without FFI the kernel setting stays.
 */
function armedAtExec(
  parentPid: number,
  onParentDeath: () => void,
  useFfi: boolean,
): ParentDeathGuard {
  let installed = true;
  const guard: ParentDeathGuard = {
    mechanism: "exec",
    deathSignal: "SIGKILL",
    parentPid,
    parentGone: false,
    uninstall() {
      if (!installed) return;
      installed = false;
      if (useFfi) disarmPrctl();
    },
    [Symbol.dispose]() {
      this.uninstall();
    },
  };
  // BS-3: race close. The parent may have died before the launcher armed it.
  if (Deno.ppid !== parentPid) return gone(guard, onParentDeath);
  return guard;
}

function pidFromEnv(variable: string): number | undefined {
  if (!granted({ name: "env", variable })) return undefined;
  const text = Deno.env.get(variable);
  if (text === undefined || !/^[1-9]\d*$/.test(text)) return undefined;
  return Number(text);
}

const LIBC = {
  prctl: { parameters: ["i32", "u64", "u64", "u64", "u64"], result: "i32" },
  getppid: { parameters: [], result: "i32" },
  open: { parameters: ["buffer", "i32"], result: "i32" },
  read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  close: { parameters: ["i32"], result: "i32" },
  kill: { parameters: ["i32", "i32"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
} as const;

type Libc = Deno.DynamicLibrary<typeof LIBC>;

/**
 * Whether thread `tid` of process `pid` lists us in
 * `/proc/<pid>/task/<tid>/children`; read through libc because Deno demands
 * `--allow-all` for other processes' `/proc` entries. `undefined` when the
 * file cannot be read (no CONFIG_PROC_CHILDREN, other user, non-Linux).
 */
function listedAsChild(lib: Libc, pid: number, tid: number): boolean | undefined {
  const text = readProcFile(lib, `/proc/${pid}/task/${tid}/children`);
  return text?.split(/\s+/).includes(String(Deno.pid));
}

/** A `/proc` file's text through libc, or `undefined` when it cannot be read. */
function readProcFile(lib: Libc, file: string): string | undefined {
  const path = new TextEncoder().encode(`${file}\0`);
  const fd = lib.symbols.open(path, 0 /* O_RDONLY */);
  if (fd < 0) return undefined;
  try {
    const chunks: Uint8Array[] = [];
    while (true) {
      const buf = new Uint8Array(4096);
      const n = Number(lib.symbols.read(fd, buf, 4096n));
      if (n < 0) return undefined;
      if (n === 0) break;
      chunks.push(buf.subarray(0, n));
    }
    return new TextDecoder().decode(concat(chunks));
  } finally {
    lib.symbols.close(fd);
  }
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

function armPrctl(
  requested: "auto" | ParentDeathSignal,
  parentPid: number,
  onParentDeath: () => void,
  onIgnoredSignal: ((signal: ParentDeathSignal) => void) | undefined,
): ParentDeathGuard {
  const lib = Deno.dlopen("libc.so.6", LIBC);
  const forkedByMainThread = listedAsChild(lib, parentPid, parentPid);
  let deathSignal: ParentDeathSignal;
  if (requested !== "auto") deathSignal = requested;
  // The main thread (tid == pid) lives as long as the parent process does.
  else deathSignal = forkedByMainThread === true ? "SIGKILL" : "SIGUSR2";
  let listener: (() => void) | undefined;
  const checked = deathSignal !== "SIGKILL";
  if (checked) {
    // Listen before arming: the default action of these signals is to terminate.
    listener = () => {
      if (Deno.ppid !== parentPid) onParentDeath(); // BS-3: the parent process is gone
      else onIgnoredSignal?.(deathSignal); // a parent thread exited; still armed
    };
    Deno.addSignalListener(deathSignal, listener);
  }
  const rc = lib.symbols.prctl(PR_SET_PDEATHSIG, BigInt(SIGNAL_NUMBERS[deathSignal]), 0n, 0n, 0n);
  if (rc !== 0) {
    if (listener) Deno.removeSignalListener(deathSignal, listener);
    lib.close();
    throw new Deno.errors.NotSupported(
      `Cannot arm parent-death signal: prctl(PR_SET_PDEATHSIG) returned ${rc}`,
    );
  }
  let installed = true;
  const guard: ParentDeathGuard = {
    mechanism: checked ? "prctl-checked" : "prctl",
    deathSignal,
    parentPid,
    parentGone: false,
    uninstall() {
      if (!installed) return;
      installed = false;
      lib.symbols.prctl(PR_SET_PDEATHSIG, 0n, 0n, 0n, 0n);
      lib.close();
      if (listener) Deno.removeSignalListener(deathSignal, listener);
    },
    [Symbol.dispose]() {
      this.uninstall();
    },
  };
  if (forkedByMainThread !== undefined) Object.assign(guard, { forkedByMainThread });
  // BS-3: race close. The parent may have died before prctl(); no signal would come.
  if (lib.symbols.getppid() !== parentPid) return gone(guard, onParentDeath);
  return guard;
}

function armWatchdog(
  intervalMs: number,
  parentPid: number,
  onParentDeath: () => void,
): ParentDeathGuard {
  let timer: ReturnType<typeof setInterval> | undefined = setInterval(() => {
    if (Deno.ppid === parentPid) return;
    guard.uninstall();
    onParentDeath(); // BS-3: reparented, the parent process is gone
  }, intervalMs);
  Deno.unrefTimer(timer!); // never keeps the child alive by itself
  const guard: ParentDeathGuard = {
    mechanism: "watchdog",
    parentPid,
    intervalMs,
    parentGone: false,
    uninstall() {
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
    },
    [Symbol.dispose]() {
      this.uninstall();
    },
  };
  if (Deno.ppid !== parentPid) return gone(guard, onParentDeath); // BS-3: race close
  return guard;
}

const ESRCH = 3;

/**
 * `/proc/<pid>/stat` state and start time, or `undefined` when unreadable.
 * The comm field may hold spaces and parentheses: fields follow its last `)`.
 */
function procStat(lib: Libc, pid: number): { state: string; start: string } | undefined {
  const text = readProcFile(lib, `/proc/${pid}/stat`);
  if (text === undefined) return undefined;
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  return { state: fields[0], start: fields[19] }; // fields 3 and 22 of proc(5)
}

/** Whether `pid` (started at `start`, when known) is still a live process. */
function pidAlive(lib: Libc, pid: number, start: string | undefined): boolean {
  if (lib.symbols.kill(pid, 0) !== 0) {
    const errno = new Deno.UnsafePointerView(lib.symbols.__errno_location()!).getInt32();
    if (errno === ESRCH) return false; // BS-36: gone (EPERM: alive, another user's)
  }
  const stat = procStat(lib, pid);
  if (stat === undefined) return true; // no /proc: trust kill()
  if (stat.state === "Z" || stat.state === "X") return false; // dead, not yet reaped
  return start === undefined || stat.start === start; // a new start time: pid reused
}

function armPidWatch(
  intervalMs: number,
  watchedPid: number,
  onParentDeath: () => void,
): ParentDeathGuard {
  const lib = Deno.dlopen("libc.so.6", LIBC);
  const start = procStat(lib, watchedPid)?.start;
  let timer: ReturnType<typeof setInterval> | undefined = setInterval(() => {
    if (pidAlive(lib, watchedPid, start)) return;
    guard.uninstall();
    onParentDeath(); // BS-36: the watched process is gone
  }, intervalMs);
  Deno.unrefTimer(timer!); // never keeps the child alive by itself
  const guard: ParentDeathGuard = {
    mechanism: "pid-watch",
    parentPid: Deno.ppid,
    watchedPid,
    intervalMs,
    parentGone: false,
    uninstall() {
      if (timer === undefined) return;
      clearInterval(timer);
      timer = undefined;
      lib.close();
    },
    [Symbol.dispose]() {
      this.uninstall();
    },
  };
  if (!pidAlive(lib, watchedPid, start)) return gone(guard, onParentDeath); // BS-36: race close
  return guard;
}

function gone(guard: ParentDeathGuard, onParentDeath: () => void): ParentDeathGuard {
  guard.uninstall();
  onParentDeath();
  return { ...guard, parentGone: true };
}
