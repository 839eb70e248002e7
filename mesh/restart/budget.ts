/**
 * The restart budget of a mesh: for each rank, whether its next failure is
 * restarted under a {@linkcode RestartPolicy}, after which delay, and as
 * which attempt (RS-2, RS-3, RS-4 of `policy.ts`).
 *
 * @module
 */

import type { MeshFailure } from "../supervision/failure.ts";
import { backoffDelay, type RestartPolicy } from "./policy.ts";

/** Why a failure is not restarted. */
export type NoRestartReason =
  | "policy" // the mode does not restart this failure (RS-4)
  | "stop-exit-code" // the exit code is listed in stopExitCodes (RS-4)
  | "host-lost" // no host to restart on (RS-4)
  | "intensity"; // maxRestarts within withinMs reached (RS-2)

/** The budget's answer for one failure. */
export type RestartDecision =
  | {
    /** Restart the rank. */
    restart: true;
    /** The rank's restart number, from 1 over the mesh's lifetime. */
    attempt: number;
    /** Wait this long first, ms (RS-3). */
    delayMs: number;
  }
  | {
    /** Do not restart. */
    restart: false;
    /** Why not. */
    why: NoRestartReason;
  };

/** What the budget remembers of one rank. */
interface RankHistory {
  /** Start times (monotonic ms) of the restarts still inside the window. */
  recent: number[];
  /** Restarts over the mesh's lifetime. */
  total: number;
}

/**
 * Per-rank restart accounting under one policy.
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { restartPolicy } from "./policy.ts";
 * import { RestartBudget } from "./budget.ts";
 * const budget = new RestartBudget(restartPolicy({ restart: "on-failure", maxRestarts: 2 }));
 * const killed = { kind: "ProcExit", rank: 0 } as const;
 * assertEquals(budget.decide(killed, 0), { restart: true, attempt: 1, delayMs: 100 });
 * assertEquals(budget.decide(killed, 10), { restart: true, attempt: 2, delayMs: 200 });
 * assertEquals(budget.decide(killed, 20), { restart: false, why: "intensity" });
 * ```
 */
export class RestartBudget {
  /** The policy. */
  readonly policy: RestartPolicy;
  readonly #ranks = new Map<number, RankHistory>();

  /**
   * Creates a budget.
   * @param policy A validated policy.
   */
  constructor(policy: RestartPolicy) {
    this.policy = policy;
  }

  /**
   * Decides about one failure and, when it restarts, counts the restart.
   * @param failure The failure (its `kind`, `rank`, and `exitCode` when the
   * proc exited).
   * @param now Monotonic time, ms (default `performance.now()`).
   * @returns Whether to restart, after how long, as which attempt.
   */
  decide(
    failure: Pick<MeshFailure, "kind" | "rank" | "exitCode">,
    now: number = performance.now(),
  ): RestartDecision {
    const p = this.policy;
    if (p.restart === "never") return { restart: false, why: "policy" };
    if (failure.kind === "HostLost") return { restart: false, why: "host-lost" };
    const code = failure.exitCode;
    if (code !== undefined && p.stopExitCodes.includes(code)) {
      return { restart: false, why: "stop-exit-code" };
    }
    if (code === 0 && p.restart !== "always") return { restart: false, why: "policy" };
    const history = this.#ranks.get(failure.rank) ?? { recent: [], total: 0 };
    this.#ranks.set(failure.rank, history);
    history.recent = history.recent.filter((t) => now - t < p.withinMs);
    if (history.recent.length >= p.maxRestarts) return { restart: false, why: "intensity" }; // RS-2
    history.recent.push(now);
    history.total++;
    return {
      restart: true,
      attempt: history.total,
      delayMs: backoffDelay(p.backoff, history.recent.length), // RS-3
    };
  }

  /**
   * Restarts of `rank` so far.
   * @param rank A rank.
   * @returns The count over the mesh's lifetime.
   */
  restarts(rank: number): number {
    return this.#ranks.get(rank)?.total ?? 0;
  }
}
