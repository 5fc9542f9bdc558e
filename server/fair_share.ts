/**
 * Fairness between sessions in one event loop. Deno settles a socket write
 * that completes at once without an event-loop turn, and the server reads
 * small files and directories with synchronous calls, so a transfer to a
 * fast client (a big RETR, a long listing) could run for a second without
 * letting any other session's command, accept or timer through (measured:
 * a NOOP waited 430 ms behind a 1 GiB RETR, 1 s behind a 100,000-entry LIST).
 *
 * Transfer loops call {@linkcode fairShare} once per chunk; every
 * {@linkcode SLICE_MS} it waits for an operation that runs off the main
 * thread, during which Deno polls every socket. A loop whose own next
 * operation can run off the main thread (a file read) does that instead,
 * when {@linkcode sliceExpired} says so. `setImmediate` is not
 * enough (it runs again before the sockets are polled) and a zero-delay
 * timer takes 2 ms; the cheapest such operation is a one-byte SHA-256
 * digest, about 25 µs, so the slices cost under 1 % of a transfer.
 *
 * @module
 */

/** How long a loop may run before other sessions get their turn, in milliseconds. */
export const SLICE_MS = 4;

const ONE_BYTE = new Uint8Array(1);
let sliceStarted = performance.now();

/** True once the current slice is used up: the caller's next operation should let others run. */
export function sliceExpired(): boolean {
  return performance.now() - sliceStarted >= SLICE_MS;
}

/**
 * Starts a new slice. Call it when an operation that ran off the main
 * thread has completed (the sockets were polled meanwhile), as
 * {@linkcode fairShare} does after its own.
 */
export function startSlice(): void {
  sliceStarted = performance.now();
}

/**
 * Resolves at once while the current slice lasts; else after the event loop
 * has polled the sockets, and a new slice begins.
 *
 * @example
 * ```ts
 * for (const chunk of chunks) {
 *   await conn.write(chunk);
 *   await fairShare();
 * }
 * ```
 */
export function fairShare(): Promise<void> | void {
  if (!sliceExpired()) return;
  return crypto.subtle.digest("SHA-256", ONE_BYTE).then(startSlice, startSlice);
}
