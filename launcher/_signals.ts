/**
 * Signal name ↔ number tables (folder-private).
 *
 * `Deno.CommandStatus.signal` is a signal *name*; the launcher contract speaks
 * POSIX signal *numbers* (as the seeds' `ProcExitKind::Signaled { signal }`).
 * @module
 */

const LINUX: Readonly<Record<string, number>> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGILL: 4,
  SIGTRAP: 5,
  SIGABRT: 6,
  SIGIOT: 6,
  SIGBUS: 7,
  SIGFPE: 8,
  SIGKILL: 9,
  SIGUSR1: 10,
  SIGSEGV: 11,
  SIGUSR2: 12,
  SIGPIPE: 13,
  SIGALRM: 14,
  SIGTERM: 15,
  SIGSTKFLT: 16,
  SIGCHLD: 17,
  SIGCONT: 18,
  SIGSTOP: 19,
  SIGTSTP: 20,
  SIGTTIN: 21,
  SIGTTOU: 22,
  SIGURG: 23,
  SIGXCPU: 24,
  SIGXFSZ: 25,
  SIGVTALRM: 26,
  SIGPROF: 27,
  SIGWINCH: 28,
  SIGIO: 29,
  SIGPOLL: 29,
  SIGPWR: 30,
  SIGSYS: 31,
};

/** BSD / macOS numbering, where it differs from Linux. */
const BSD: Readonly<Record<string, number>> = {
  ...LINUX,
  SIGEMT: 7,
  SIGBUS: 10,
  SIGUSR1: 30,
  SIGSEGV: 11,
  SIGUSR2: 31,
  SIGSYS: 12,
  SIGURG: 16,
  SIGSTOP: 17,
  SIGTSTP: 18,
  SIGCONT: 19,
  SIGCHLD: 20,
  SIGIO: 23,
  SIGXCPU: 24,
  SIGXFSZ: 25,
  SIGINFO: 29,
};

/**
 * The POSIX number of a signal name on this OS, or `undefined` when unknown.
 * @param name e.g. `"SIGTERM"`.
 */
export function signalNumber(name: string): number | undefined {
  const table = Deno.build.os === "linux" || Deno.build.os === "android" ? LINUX : BSD;
  return table[name];
}
