/**
 * Folder-private: what `BootstrapProcManager` does in the background for
 * each child — the exit monitor (drain stdio, publish the terminal status
 * with the stderr tail, remove the socket) and the callback wait (`Ready`).
 *
 * ## Invariants (BS-*)
 * Enforced here, promised by `manager.ts`:
 * - **BS-11 (no stale socket).** When a child exits, its socket file
 *   `<socketDir>/<name>` is removed before its terminal status is published:
 *   whoever sees the exit finds no file. (A proc leaves it: it exits without
 *   waiting for the runtime's own removal, CH-15.)
 * - **BS-14 (forwarded lines reach the forwarder before the exit status).**
 *   With log forwarding on and a `logChannel`, every line a child wrote is
 *   posted on the log channel, and its sender is flushed (bounded by
 *   `HYPERACTOR_FORWARDER_FLUSH_TIMEOUT`, see `_proc_stdio.ts`) before the
 *   proc's terminal status (`Stopped`/`Killed`/`Failed`) is published: once
 *   it is observed, the forwarder's channel has acknowledged every line.
 * @module
 */

import { unlinkSocketFile } from "../internal/socket_file.ts";
import { ChannelAddr } from "../channel/addr.ts";
import type { ChannelServer } from "../channel/types.ts";
import type { ProcId } from "../actor/reference.ts";
import type { LaunchResult } from "../launcher/types.ts";
import { isExit } from "./proc_status.ts";
import type { BootstrapProcHandle } from "./proc_handle.ts";
import type { BootstrapCallback } from "./manager.ts";
import { drainStdio, type StdioForwarder } from "./_proc_stdio.ts";

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Waits for the child's exit, then drains its stdio, records the stderr
 * tail, publishes the terminal status (BS-14: after the flush), closes the
 * callback channel and removes the socket (BS-11).
 * @param procId The proc.
 * @param handle Its handle.
 * @param result The launch result.
 * @param forwarders Its stdio forwarders (stdout, stderr).
 * @param opts The callback channel, the socket directory, and `onExit`
 * (called as soon as the exit is known).
 */
export async function monitorExit(
  procId: ProcId,
  handle: BootstrapProcHandle,
  result: LaunchResult,
  forwarders: StdioForwarder[],
  opts: {
    callback: ChannelServer<BootstrapCallback>;
    socketDir: string;
    onExit: () => void;
  },
): Promise<void> {
  const exit = await result.exit;
  opts.onExit();
  const tails = await drainStdio(forwarders); // BS-14
  let stderrTail = tails[1] ?? [];
  if (stderrTail.length === 0 && exit.stderrTail !== undefined) stderrTail = exit.stderrTail;
  handle.recordStderrTail(stderrTail);
  try {
    // BS-11: before the status is out. SK-3: a proc leaves its file (CH-15), so unlink at once.
    unlinkSocketFile(`${opts.socketDir}/${procId.name}`);
  } catch (error) {
    console.warn(`hypermesh: cannot remove socket of ${procId}:`, error);
  }
  if (stderrTail.length > 0 && exit.kind.kind !== "Exited") {
    console.warn(
      `hypermesh: proc ${procId} ended (${JSON.stringify(exit.kind)}); stderr tail:\n${
        stderrTail.join("\n")
      }`,
    );
  }
  switch (exit.kind.kind) {
    case "Exited":
      handle.markStopped(exit.kind.code, stderrTail);
      break;
    case "Signaled":
      handle.markKilled(exit.kind.signal, exit.kind.coreDumped);
      break;
    case "Failed":
      handle.markFailed(exit.kind.reason);
      break;
  }
  await opts.callback.close(); // ends a callback wait for a child that never called back
}

/**
 * Waits for the child's `{addr, agent}` callback and marks the handle
 * `Ready`; a bad or missing callback marks it `Failed` unless it already
 * exited.
 * @param handle The handle.
 * @param callback The one-shot callback channel (closed on return).
 */
export async function awaitCallback(
  handle: BootstrapProcHandle,
  callback: ChannelServer<BootstrapCallback>,
): Promise<void> {
  let reason: string | undefined;
  try {
    const msg = await callback.recv();
    if (msg === undefined) reason = "callback channel closed";
    else if (typeof msg?.addr !== "string" || typeof msg.agent !== "string") {
      reason = `invalid callback ${JSON.stringify(msg)}`;
    } else {
      handle.markReady(ChannelAddr.parse(msg.addr), msg.agent);
    }
  } catch (error) {
    reason = describe(error);
  }
  // A child that exited first already has its terminal status; do not warn.
  if (reason !== undefined && !isExit(handle.status())) {
    handle.markFailed(`bootstrap callback failed: ${reason}`);
  }
  await callback.close();
}
