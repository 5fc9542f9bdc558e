/**
 * A byte-rate cap that several transfers share: a token bucket that lends.
 * A transfer takes the bytes it is about to move; while the bucket holds
 * them it goes on at once, otherwise the bucket goes into debt and the
 * transfer sleeps until the debt is paid back at the configured rate. Every
 * taker pays for the debt of those before it, so transfers sharing a bucket
 * get about equal shares, and the sum holds the rate over any few seconds.
 * Sleeping is a timer: a throttled transfer costs no CPU.
 *
 * @module
 */

/** How many seconds of the rate the bucket may save up (the largest burst). */
const BURST_SECONDS = 0.25;

/**
 * A shared byte-rate cap; the rate can change at any time (a reload), and
 * takes effect from the next take.
 *
 * @example
 * ```ts
 * import { TokenBucket } from "./token_bucket.ts";
 * const bucket = new TokenBucket(1024 * 1024); // 1 MiB/s
 * const wait = bucket.take(64 * 1024); // undefined: the first 256 KiB go at once
 * if (wait) await wait;
 * ```
 */
export class TokenBucket {
  #rate: number;
  #tokens: number;
  #last: number;

  /** Creates a bucket for `rate` bytes per second, full. */
  constructor(rate: number, now: number = performance.now()) {
    if (!(rate > 0)) throw new RangeError(`A rate must be positive (got ${rate})`);
    this.#rate = rate;
    this.#tokens = rate * BURST_SECONDS;
    this.#last = now;
  }

  /** The rate, in bytes per second. */
  get rate(): number {
    return this.#rate;
  }

  /**
   * Changes the rate; the bytes already lent are paid back at the new rate.
   * `Infinity` lifts the cap for the transfers that hold this bucket.
   */
  set rate(rate: number) {
    if (!(rate > 0)) throw new RangeError(`A rate must be positive (got ${rate})`);
    this.#refill(performance.now());
    this.#rate = rate;
    this.#tokens = Math.min(this.#tokens, rate * BURST_SECONDS);
  }

  /**
   * A good chunk size for a transfer under this cap: about 50 ms of the rate
   * (so pacing is smooth and an abort is seen soon), between 4 KiB and `max`.
   */
  chunkSize(max: number): number {
    return Math.max(4096, Math.min(max, Math.floor(this.#rate / 20)));
  }

  /**
   * Takes `bytes` from the bucket. Returns undefined when the transfer may go
   * on at once, else how long it must wait, in milliseconds.
   */
  delayFor(bytes: number, now: number = performance.now()): number | undefined {
    if (this.#rate === Infinity) return undefined; // a cap lifted by a reload
    this.#refill(now);
    this.#tokens -= bytes;
    if (this.#tokens >= 0) return undefined;
    return (-this.#tokens / this.#rate) * 1000;
  }

  /**
   * Takes `bytes` and returns a promise to wait for when the transfer must
   * slow down, or undefined when it may go on at once (the usual case under
   * the rate: no promise, no timer). The wait ends early, rejecting, when
   * `signal` aborts.
   */
  take(bytes: number, signal?: AbortSignal): Promise<void> | undefined {
    const delay = this.delayFor(bytes);
    return delay === undefined ? undefined : sleep(delay, signal);
  }

  #refill(now: number): void {
    if (this.#rate === Infinity) {
      this.#last = now;
      this.#tokens = Infinity;
      return;
    }
    const elapsed = Math.max(0, now - this.#last) / 1000;
    this.#last = now;
    this.#tokens = Math.min(this.#rate * BURST_SECONDS, this.#tokens + elapsed * this.#rate);
  }
}

/** Waits `ms` milliseconds; rejects with the signal's reason when it aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * Takes `bytes` from every bucket that applies (a user's cap and the
 * server's) and waits for the longest debt; undefined when none must wait.
 */
export function takeAll(
  buckets: readonly TokenBucket[],
  bytes: number,
  signal?: AbortSignal,
): Promise<void> | undefined {
  let longest: number | undefined;
  const now = performance.now();
  for (const bucket of buckets) {
    const delay = bucket.delayFor(bytes, now);
    if (delay !== undefined && (longest === undefined || delay > longest)) longest = delay;
  }
  return longest === undefined ? undefined : sleep(longest, signal);
}
