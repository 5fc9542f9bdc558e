/**
 * A bounded pool of transfer buffers in a few sizes. A transfer takes a
 * small buffer whenever it asks; larger ones only while the bytes handed
 * out stay within the pool's limit. Buffers handed back are kept for the
 * next transfer up to a small amount; the rest are freed at once
 * (`ArrayBuffer.prototype.transfer(0)` detaches a buffer and returns its
 * memory to the system there and then, where a dropped buffer would wait for
 * a garbage collection that a quiet server may never run).
 *
 * @module
 */

/** The sizes a pool hands out, smallest first: 16 KiB, 64 KiB, 256 KiB, 1 MiB. */
export const BUFFER_SIZES: readonly number[] = [16 << 10, 64 << 10, 256 << 10, 1 << 20];

/** Options for {@linkcode BufferPool}. */
export interface BufferPoolOptions {
  /**
   * The buffer sizes, smallest first; the smallest is always granted.
   * @default {BUFFER_SIZES}
   */
  sizes?: readonly number[];
  /**
   * Most bytes handed out at once before larger buffers are refused (the
   * smallest size is granted past it, so no transfer ever waits).
   * @default {33554432}
   */
  limitBytes?: number;
  /**
   * Most bytes of returned buffers kept for reuse; past it they are freed.
   * @default {8388608}
   */
  keepBytes?: number;
}

/** How many bytes a pool has handed out and holds. */
export interface BufferPoolStats {
  /** Buffers handed out and not yet returned. */
  outCount: number;
  /** Their bytes. */
  outBytes: number;
  /** Bytes of returned buffers kept for reuse. */
  idleBytes: number;
  /** The most bytes handed out at once so far. */
  peakOutBytes: number;
}

/**
 * Transfer buffers shared by every transfer of a server.
 *
 * @example
 * ```ts
 * const pool = new BufferPool({ limitBytes: 4 << 20 });
 * const buffer = pool.take(1 << 20) ?? pool.take(pool.smallest)!;
 * // … use it …
 * pool.release(buffer);
 * ```
 */
export class BufferPool {
  /** The sizes handed out, smallest first. */
  readonly sizes: readonly number[];
  readonly #limit: number;
  readonly #keep: number;
  readonly #idle = new Map<number, Uint8Array[]>();
  readonly #out = new Set<Uint8Array>();
  #outBytes = 0;
  #idleBytes = 0;
  #peakOutBytes = 0;

  /** Creates an empty pool; buffers are made on first use. */
  constructor(options: BufferPoolOptions = {}) {
    const sizes = options.sizes ?? BUFFER_SIZES;
    if (sizes.length === 0 || sizes.some((size, i) => size <= 0 || size <= (sizes[i - 1] ?? 0))) {
      throw new RangeError("Cannot use buffer sizes that are not positive and increasing");
    }
    this.sizes = sizes;
    this.#limit = options.limitBytes ?? 32 << 20;
    this.#keep = options.keepBytes ?? 8 << 20;
    for (const size of sizes) this.#idle.set(size, []);
  }

  /** The smallest size, always granted. */
  get smallest(): number {
    return this.sizes[0]!;
  }

  /** The largest size. */
  get largest(): number {
    return this.sizes.at(-1)!;
  }

  /** What the pool has handed out and holds now. */
  get stats(): BufferPoolStats {
    return {
      outCount: this.#out.size,
      outBytes: this.#outBytes,
      idleBytes: this.#idleBytes,
      peakOutBytes: this.#peakOutBytes,
    };
  }

  /**
   * A buffer of exactly `size` bytes (one of {@linkcode BufferPool.sizes}),
   * or undefined if handing it out would pass the limit. The smallest size
   * is always granted.
   *
   * @throws {RangeError} If `size` is not one of the pool's sizes.
   */
  take(size: number): Uint8Array | undefined {
    const idle = this.#idle.get(size);
    if (!idle) throw new RangeError(`Cannot take a buffer of ${size} bytes from this pool`);
    if (size !== this.smallest && this.#outBytes + size > this.#limit) return undefined;
    let buffer = idle.pop();
    if (buffer) this.#idleBytes -= size;
    else buffer = new Uint8Array(size);
    this.#out.add(buffer);
    this.#outBytes += size;
    if (this.#outBytes > this.#peakOutBytes) this.#peakOutBytes = this.#outBytes;
    return buffer;
  }

  /**
   * Takes a buffer back. It is kept for reuse while the pool holds less than
   * its keep size, else freed at once. A buffer already returned, or not
   * from this pool, is ignored.
   */
  release(buffer: Uint8Array): void {
    if (!this.#out.delete(buffer)) return;
    this.#outBytes -= buffer.length;
    if (this.#idleBytes + buffer.length <= this.#keep) {
      this.#idle.get(buffer.length)!.push(buffer);
      this.#idleBytes += buffer.length;
    } else {
      _free(buffer);
    }
  }

  /** Frees every buffer kept for reuse. */
  trim(): void {
    for (const idle of this.#idle.values()) {
      for (const buffer of idle) _free(buffer);
      idle.length = 0;
    }
    this.#idleBytes = 0;
  }
}

/** Returns a buffer's memory to the system now (the buffer is left detached, empty). */
function _free(buffer: Uint8Array): void {
  (buffer.buffer as ArrayBuffer).transfer(0);
}
