/**
 * Runs a file operation and logs it as one event, whether it succeeded or
 * not, with how long it took: `ok` and `ms` join the event's fields.
 *
 * @module
 */

import type { LogValue } from "./log.ts";

/** Something that logs events (a session). */
export interface EventLog {
  /** Logs an event with its fields. */
  log(event: string, fields: Record<string, LogValue>): void;
}

/**
 * Awaits `action`, then logs the event with its fields, `ok` and `ms`; a
 * failure is logged with `ok=false` and rethrown.
 *
 * @example
 * ```ts
 * await loggedAction(session, ["delete", { path: target }], () => session.fs.remove(target));
 * ```
 */
export async function loggedAction(
  log: EventLog,
  [event, fields]: [event: string, fields: Record<string, LogValue>],
  action: () => Promise<void>,
): Promise<void> {
  const started = performance.now();
  try {
    await action();
  } catch (error) {
    log.log(event, { ...fields, ok: false, ms: Math.round(performance.now() - started) });
    throw error;
  }
  log.log(event, { ...fields, ok: true, ms: Math.round(performance.now() - started) });
}
