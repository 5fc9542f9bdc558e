/**
 * Fairness between sessions in one event loop. Deno settles a socket write
 * that completes at once without an event-loop turn, and the server reads
 * small files and directories with synchronous calls, so a transfer to a
 * fast client (a big RETR, a long listing) could run for a second without
 * letting any other session's command, accept or timer through (measured:
 * a NOOP waited 430 ms behind a 1 GiB RETR, 1 s behind a 100,000-entry LIST).
 *
 * So time is cut into slices of {@linkcode SLICE_MS}. When one is used up,
 * the next transfer step takes a turn: it waits for an operation that runs
 * off the main thread, during which Deno polls every socket, and every
 * other transfer that reaches {@linkcode fairShare} meanwhile waits for the
 * same turn. A file read can be that operation ({@linkcode turnDue},
 * {@linkcode takeTurn}); else a one-byte SHA-256 digest is, the cheapest
 * one Deno has (about 25 µs). `setImmediate` is not enough (it runs again
 * before the sockets are polled) and a zero-delay timer takes 2 ms.
 *
 * @module
 */

/** How long transfers may run before other sessions get their turn, in milliseconds. */
export const SLICE_MS = 4;

const ONE_BYTE = new Uint8Array(1);
let sliceStarted = performance.now();
let turn: Promise<void> | undefined;

function endTurn(): void {
  turn = undefined;
  sliceStarted = performance.now();
}

/** True if the slice is used up and no turn is under way: the caller's next step should take one. */
export function turnDue(): boolean {
  return turn === undefined && performance.now() - sliceStarted >= SLICE_MS;
}

/**
 * Makes `operation`, which runs off the main thread, the turn: transfers
 * reaching {@linkcode fairShare} wait for it, and a new slice starts when
 * it settles. Returns `operation`.
 */
export function takeTurn<T>(operation: Promise<T>): Promise<T> {
  turn = operation.then(endTurn, endTurn);
  return operation;
}

/**
 * Resolves at once while the slice lasts; else once a turn (the one under
 * way, or a new one) is over.
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
  if (turn !== undefined) return turn;
  if (!turnDue()) return;
  takeTurn(crypto.subtle.digest("SHA-256", ONE_BYTE));
  return turn;
}
