/**
 * What every workload shares: the measurement record, the context a
 * workload runs in, and small helpers for timing and bounded concurrency.
 *
 * @module
 */

import type { BenchServer, BenchTmp } from "./bench_server.ts";

/** Whether a larger or a smaller figure is the better one, or one nearest to 1 (a ratio to a target). */
export type Better = "higher" | "lower" | "one";

/** The samples of one figure for one subject (a server, a client or the loopback ceiling). */
export interface Measurement {
  /** The workload's name (as for --only). */
  workload: string;
  /** What was measured, e.g. "RETR 1 GiB". */
  metric: string;
  /** The unit of the samples, e.g. "MiB/s". */
  unit: string;
  better: Better;
  /** A server name, a client name or "loopback". */
  subject: string;
  /** One figure per run; empty when the subject cannot do it (then `note` says why). */
  samples: number[];
  /** Anything the reader needs to read the figure right ("n/a: no MLSD", "capped at 2,000"). */
  note?: string;
}

/** What a workload is given to run. */
export interface WorkloadContext {
  /** The servers to measure, already running. */
  servers: readonly BenchServer[];
  /** How many measured runs (each run measures every server once, in turn). */
  runs: number;
  /** Smaller sizes, for use while optimising. */
  quick: boolean;
  /** Where local files for client-side tools may go. */
  tmp: BenchTmp;
  /** Adds samples to the figure (workload, metric, subject), creating it on first use. */
  record(measurement: Omit<Measurement, "samples">, sample?: number): void;
  /** Prints a progress line. */
  log(text: string): void;
}

/** One workload. */
export interface Workload {
  /** The name --only takes. */
  name: string;
  /** A one-line description for --help. */
  title: string;
  /** Runs the workload against every server in the context. */
  run(context: WorkloadContext): Promise<void>;
  /** The servers are started afresh after this workload (it leaves them worn: thousands of sessions). */
  restartAfter?: boolean;
}

/**
 * The servers in the order run `run` measures them: rotated by one each run,
 * so that no server always goes first (or right after another's transfer).
 */
export function inTurn<T>(servers: readonly T[], run: number): T[] {
  const shift = servers.length === 0 ? 0 : run % servers.length;
  return [...servers.slice(shift), ...servers.slice(0, shift)];
}

/** MiB in bytes. */
export const MiB = 1024 * 1024;

/** Milliseconds `action` took, and what it returned. */
export async function timed<T>(action: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const started = performance.now();
  const value = await action();
  return { ms: performance.now() - started, value };
}

/** A size as people write it: "512 MiB", "1 GiB". */
export function formatSize(bytes: number): string {
  if (bytes >= 1024 * MiB && bytes % (1024 * MiB) === 0) return `${bytes / (1024 * MiB)} GiB`;
  if (bytes >= MiB && bytes % MiB === 0) return `${bytes / MiB} MiB`;
  return `${bytes / 1024} KiB`;
}

/** A count with thousands separators ("10,000"). */
export function formatCount(count: number): string {
  return count.toLocaleString("en-US");
}

/**
 * Runs `task(i)` for i in 0…total-1 with at most `concurrency` running at
 * once; a task that throws is counted, not rethrown.
 *
 * @returns How many tasks threw, and the first error (for the log).
 */
export async function pool(
  concurrency: number,
  total: number,
  task: (index: number) => Promise<void>,
): Promise<{ errors: number; firstError?: unknown }> {
  let next = 0;
  let errors = 0;
  let firstError: unknown;
  const worker = async () => {
    while (next < total) {
      const index = next++;
      try {
        await task(index);
      } catch (error) {
        errors++;
        firstError ??= error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, total) }, worker));
  return errors > 0 ? { errors, firstError } : { errors };
}

/** A short description of an error for the log. */
export function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
