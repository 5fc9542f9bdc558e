/**
 * The two buffers of one transfer's {@linkcode pump}, taken from a shared
 * {@linkcode BufferPool}: they start small and grow, a size at a time, only
 * while the other end keeps up (a write that completes at once, a read that
 * fills its buffer), and only while the pool's limit allows; they shrink
 * again when it falls behind. One fast transfer thus gets the pool's largest
 * buffers, and many slow ones cost a small buffer each.
 *
 * @module
 */

import type { BufferPool } from "./buffer_pool.ts";
import type { PumpBuffers } from "./pump.ts";

/** Options for {@linkcode TransferBuffers}. */
export interface TransferBuffersOptions {
  /**
   * The most the transfer will move, if known: buffers never grow past the
   * size that holds it (a small file needs no large buffer).
   */
  expectedBytes?: number;
}

/**
 * A growing pair of pool buffers; give them back with
 * {@linkcode TransferBuffers.release} when the transfer ends, however it ends.
 *
 * @example
 * ```ts ignore
 * const pool = new BufferPool();
 * const buffers = new TransferBuffers(pool);
 * try {
 *   await pump(buffers, read, async (chunk) => {
 *     if ((await conn.write(chunk)) === chunk.length) buffers.keptUp();
 *     else buffers.fellBehind();
 *   });
 * } finally {
 *   buffers.release();
 * }
 * ```
 */
export class TransferBuffers implements PumpBuffers {
  readonly #pool: BufferPool;
  readonly #buffers: [Uint8Array | undefined, Uint8Array | undefined] = [undefined, undefined];
  /** Index into the pool's sizes of the size wanted next. */
  #wanted = 0;
  readonly #most: number;
  #released = false;

  /** Takes nothing yet: each buffer is taken when the transfer first needs it. */
  constructor(pool: BufferPool, options: TransferBuffersOptions = {}) {
    this.#pool = pool;
    const sizes = pool.sizes;
    const expected = options.expectedBytes;
    let most = sizes.length - 1;
    if (expected !== undefined) {
      // The smallest size that holds the whole transfer (plus the end-of-file read).
      const fits = sizes.findIndex((size) => size > expected);
      if (fits !== -1) most = fits;
    }
    this.#most = most;
  }

  /** The size the next buffer swap aims for. */
  get wantedSize(): number {
    return this.#pool.sizes[this.#wanted]!;
  }

  /**
   * The buffer to fill next, at `index` (0 or 1), of the size wanted now if
   * the pool grants it. Only called once the buffer's previous chunk is done.
   */
  get(index: 0 | 1): Uint8Array {
    if (this.#released) throw new Error("Transfer buffers used after release");
    const current = this.#buffers[index];
    const wanted = this.wantedSize;
    if (current?.length === wanted) return current;
    if (current && current.length < wanted) {
      // Growing: only if the pool allows it; else keep what there is.
      const bigger = this.#pool.take(wanted);
      if (!bigger) {
        this.#wanted = this.#pool.sizes.indexOf(current.length);
        return current;
      }
      this.#pool.release(current);
      this.#buffers[index] = bigger;
      return bigger;
    }
    if (current) this.#pool.release(current); // shrinking: the larger one goes back first
    const taken = this.#takeAtMost(this.#wanted);
    this.#buffers[index] = taken;
    return taken;
  }

  /** The largest buffer the pool grants, not above the wanted size (the smallest always is). */
  #takeAtMost(wanted: number): Uint8Array {
    for (let i = wanted; i > 0; i--) {
      const buffer = this.#pool.take(this.#pool.sizes[i]!);
      if (buffer) {
        this.#wanted = i;
        return buffer;
      }
    }
    this.#wanted = 0;
    return this.#pool.take(this.#pool.smallest)!;
  }

  /** The other end kept up (a write completed at once, a read filled the buffer): grow. */
  keptUp(): void {
    if (this.#wanted < this.#most) this.#wanted++;
  }

  /** The other end fell behind (a write had to wait): shrink. */
  fellBehind(): void {
    if (this.#wanted > 0) this.#wanted--;
  }

  /** Gives both buffers back to the pool; safe to call more than once. */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    for (const buffer of this.#buffers) if (buffer) this.#pool.release(buffer);
    this.#buffers[0] = this.#buffers[1] = undefined;
  }
}
