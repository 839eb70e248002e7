/**
 * The bundled proc child: a bootstrap program that runs only procs (`Proc`
 * mode, and warm children of a warm pool), with a v1 proc agent and the demo
 * `Greeter` actor type registered (`demo_actor.ts`). It ships as one
 * generated JavaScript file, `proc_child.bundle.js` (this module and its
 * whole static graph, built by `deno bundle`); `procChildCommand()`
 * (`proc_child_command.ts`, exported by `./main`) runs that file:
 *
 * ```text
 * deno run --no-config --allow-read --allow-write --allow-net --allow-env \
 *   --allow-sys --allow-ffi <package>/cli/proc_child.bundle.js
 * ```
 *
 * ## Why a bundle (issue 16, memory per proc)
 * Measured with `bench/memory_bench.ts` (medians of 5 rounds, against a bare
 * idle Deno child in the same run; Rss): an idle proc started from the
 * TypeScript entry (`deno run --config deno.json … bootstrap.ts`) holds
 * 48.8 MB, 1.45x the bare child's 33.7 MB; the same proc from this bundle
 * 43.2 MB, 1.28x (USS 18.6 → 13.3 MB). The ~5.6 MB saved is the module graph
 * (~4 MB: Deno keeps source, emit and code-cache records per module, for ~75
 * TypeScript modules; one JavaScript file has one set) and `--config`
 * (~1.5 MB: reading `deno.json` and its lock file's npm snapshot, which the
 * child never uses: its graph has no bare specifiers). Loading one file is
 * also faster: cold spawn → Ready 1.58x the bare child instead of 2.19x
 * (1 proc), 1.43x instead of 1.78x (8 at once), `bench/spawn_bench.ts`.
 *
 * The alternatives, measured: the child's graph is already trimmed to the
 * `Proc` path (host, CLI, v0 and systemd graphs load lazily, see
 * `bootstrap.ts`), and what remains still pays per module. V8 flags on the
 * bundled child (`--max-semi-space-size=1`, `--single-threaded`,
 * `--lite-mode`, `--max-lazy --no-opt --no-maglev --no-sparkplug`) moved its
 * Rss by at most 0.5 MB (within the noise of 5 rounds) and made spawn →
 * Ready no faster, some slower: none is used (the V8 heap is ~2 MB of the
 * gap). What the bundle cannot remove
 * is the pages of the `deno` binary a proc runs and a bare child does not
 * (sockets, crypto, timers, and FFI for the parent-death `prctl`: ~3 MB of
 * Rss, the row "proc, watchdog guard" is 1.19x). They are shared by all procs
 * (Pss/USS do not charge them per proc), but Rss counts them in full.
 *
 * ## Limits
 * - **Procs only.** Any other mode (`Host`, v0) exits 1 with a message:
 *   give hosts the TypeScript entry (`bootstrap.ts`) or your own program.
 * - **No user actor types.** A program that registers its own actor types
 *   must be its own child (`BootstrapCommand.current()`); it may bundle
 *   itself the same way (`deno bundle`, then run the file with
 *   `--no-config`).
 * - **Generated file.** `deno task bundle` regenerates
 *   `proc_child.bundle.js`; `cli/proc_child_test.ts` fails while the
 *   checked-in file differs from a fresh build (PC-1).
 *
 * ## Invariants (PC-*)
 * - **PC-1 (bundle is current).** `proc_child.bundle.js` is byte for byte
 *   what `deno task bundle` produces from this module's graph.
 * - **PC-2 (procs only, explicit permissions).** The bundled child runs a
 *   `Proc`-mode or warm child exactly as `bootstrap.ts` does (same
 *   `bootstrapOrDie` path: config, parent-death guard, proc agent), and
 *   refuses every other mode with exit code 1. `procChildCommand()`
 *   starts it with explicit permission flags (never `-A`) and `--no-config`,
 *   by path for a local package and by URL for a remote (JSR) one.
 *
 * @example Run a proc from the bundle (the command is `proc_child_command.ts`)
 * ```ts ignore
 * await using manager = new BootstrapProcManager(procChildCommand());
 * ```
 * @module
 */

import { bootstrapModeOf, bootstrapOrDie } from "../bootstrap/bootstrap.ts";
import { processEnv, WARM_ENV } from "../bootstrap/mode.ts";
import { ProcAgent } from "../mesh/proc_agent/proc_agent.ts";
import "./demo_actor.ts";

/**
 * Runs this process as a bundled proc child (PC-2): `Proc` mode or a warm
 * child through `bootstrapOrDie`; any other mode exits 1.
 * @returns Never.
 * @tags allow-env, allow-net, allow-read, allow-write, allow-ffi, allow-sys
 */
export async function runProcChild(): Promise<never> {
  const env = processEnv();
  let kind: string | undefined;
  try {
    kind = env.get(WARM_ENV) === "1" ? "Proc" : bootstrapModeOf(env)?.kind;
  } catch {
    kind = "Proc"; // a malformed mode: bootstrapOrDie reports it and exits 1
  }
  if (kind !== "Proc") {
    console.error(
      `hypermesh: cannot run the bundled proc child: it runs Proc mode only, got ${
        kind ?? "no bootstrap mode"
      }`,
    );
    Deno.exit(1);
  }
  return await bootstrapOrDie({
    bootProcAgent: (proc, onStopAll) => ProcAgent.bootV1(proc, { onStopAll }),
  });
}

if (import.meta.main) await runProcChild();
