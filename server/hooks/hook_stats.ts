/**
 * Counters of hook runs, for the metrics endpoint: runs by event and result
 * (`ferry_hook_runs_total{event,result}`), runs dropped because the queue was
 * full (`ferry_hook_dropped_total`), and the queue's current length and the
 * runs in progress (`ferry_hook_queued`, `ferry_hook_running`).
 *
 * @module
 */

/**
 * How a hook run ended: `ok` (exit 0 / HTTP 2xx), `failed` (another exit
 * status or HTTP status; for a pre-hook, a refusal), `timeout` (killed or
 * aborted at its timeout), `error` (could not start or connect).
 */
export type HookResult = "ok" | "failed" | "timeout" | "error";

/** One counter of {@linkcode HookStatsSnapshot.runs}. */
export interface HookRunCount {
  /** The hook event (`upload`, `pre-upload`, …). */
  readonly event: string;
  /** How the runs ended. */
  readonly result: HookResult;
  /** How many runs ended so. */
  readonly count: number;
}

/** The counters at one moment. */
export interface HookStatsSnapshot {
  /** Runs by event and result, in the order first seen. */
  readonly runs: readonly HookRunCount[];
  /** Runs dropped because the queue was full. */
  readonly dropped: number;
  /** Runs waiting for a turn now. */
  readonly queued: number;
  /** Runs in progress now. */
  readonly running: number;
}

/**
 * The hook counters of one server.
 *
 * @example
 * ```ts
 * const stats = new HookStats();
 * stats.record("upload", "ok");
 * stats.snapshot().runs; // [{ event: "upload", result: "ok", count: 1 }]
 * ```
 */
export class HookStats {
  readonly #runs = new Map<string, { event: string; result: HookResult; count: number }>();
  #dropped = 0;
  /** Runs waiting for a turn (kept by the runner). */
  queued = 0;
  /** Runs in progress (kept by the runner). */
  running = 0;

  /** Counts a finished run. */
  record(event: string, result: HookResult): void {
    const key = `${event} ${result}`;
    const counter = this.#runs.get(key);
    if (counter) counter.count++;
    else this.#runs.set(key, { event, result, count: 1 });
  }

  /** Counts a dropped run. */
  drop(): void {
    this.#dropped++;
  }

  /** The number of finished runs of `event` that ended with `result`. */
  runs(event: string, result: HookResult): number {
    return this.#runs.get(`${event} ${result}`)?.count ?? 0;
  }

  /** The runs dropped so far. */
  get dropped(): number {
    return this.#dropped;
  }

  /** A copy of every counter. */
  snapshot(): HookStatsSnapshot {
    return {
      runs: [...this.#runs.values()].map((counter) => ({ ...counter })),
      dropped: this.#dropped,
      queued: this.queued,
      running: this.running,
    };
  }
}
