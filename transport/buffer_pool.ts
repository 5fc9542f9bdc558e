/**
 * A bounded pool of transfer buffers in a few sizes. A transfer takes a
 * small buffer whenever it asks; larger ones only while the bytes handed
 * out stay within the pool's limit. The buffers are parts of large slabs
 * that the pool frees itself once they are unused
 * (`ArrayBuffer.prototype.transfer(0)` detaches a buffer and returns its
 * memory to the system there and then; a dropped buffer would wait for a
 * garbage collection that a quiet server may never run, and a freed buffer
 * of a MiB or less stays in glibc's heap as a hole the process keeps).
 *
 * @module
 */

/** The sizes a pool hands out, smallest first: 16 KiB, 64 KiB, 256 KiB, 1 MiB. */
export const BUFFER_SIZES: readonly number[] = [16 << 10, 64 << 10, 256 << 10, 1 << 20];

/**
 * Bytes a pool hands out at once in buffers larger than the smallest: 4 MiB.
 * Enough for the two 1 MiB buffers of two fast transfers; 200 transfers at
 * once mostly get the smallest, and the slab's resident part stays small.
 */
export const DEFAULT_LIMIT_BYTES = 4 << 20;

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
   * @default {4194304}
   */
  limitBytes?: number;
  /**
   * How long a slab with nothing in use is kept before it is freed, in milliseconds.
   * @default {5000}
   */
  lingerMs?: number;
}

/** How many bytes a pool has handed out and holds. */
export interface BufferPoolStats {
  /** Buffers handed out and not yet returned. */
  outCount: number;
  /** Their bytes. */
  outBytes: number;
  /** Slabs held (each {@linkcode SLAB_BYTES}, resident only where used). */
  slabs: number;
  /** The most bytes handed out at once so far. */
  peakOutBytes: number;
}

/**
 * One slab of memory carved into pool buffers: blocks of the largest size,
 * each split into smaller ones as needed and joined again when all its parts
 * are back (every size is a whole fraction of the next).
 */
class _Slab {
  readonly memory: ArrayBuffer;
  readonly #sizes: readonly number[];
  /** Free block offsets for each size. */
  readonly #free: Set<number>[];
  /** Free blocks of the largest size whose pages may still be resident (not given back since). */
  readonly #undropped = new Set<number>();
  /** Views handed out before, by size index and offset (a view is made once). */
  readonly #views = new Map<number, Uint8Array>();
  /** Bytes handed out from this slab. */
  used = 0;
  /** When the slab was last found empty (for freeing it after a while). */
  emptySince = 0;

  constructor(bytes: number, sizes: readonly number[]) {
    this.memory = new ArrayBuffer(bytes);
    this.#sizes = sizes;
    this.#free = sizes.map(() => new Set<number>());
    const largest = sizes.at(-1)!;
    for (let offset = 0; offset + largest <= bytes; offset += largest) {
      this.#free.at(-1)!.add(offset);
      this.#undropped.add(offset);
    }
  }

  /** A block of size index `level`, or undefined if the slab has none left. */
  take(level: number): Uint8Array | undefined {
    const offset = this.#takeOffset(level);
    if (offset === undefined) return undefined;
    this.used += this.#sizes[level]!;
    return this.#view(offset, level);
  }

  #view(offset: number, level: number): Uint8Array {
    const key = offset * this.#sizes.length + level;
    let view = this.#views.get(key);
    if (!view) {
      view = new Uint8Array(this.memory, offset, this.#sizes[level]!);
      this.#views.set(key, view);
    }
    return view;
  }

  /**
   * The blocks of the largest size that are wholly free now and not handed
   * out since the last call: each free block is reported once per use.
   */
  takeUndroppedBlocks(): Uint8Array[] {
    const top = this.#sizes.length - 1;
    const free = this.#free[top]!;
    const blocks = [...this.#undropped].filter((offset) => free.has(offset))
      .map((offset) => this.#view(offset, top));
    this.#undropped.clear();
    return blocks;
  }

  #takeOffset(level: number): number | undefined {
    const free = this.#free[level]!;
    if (free.size > 0) {
      // The lowest free block: the pages in use stay few and together (only they are resident).
      let lowest = Infinity;
      for (const offset of free) if (offset < lowest) lowest = offset;
      free.delete(lowest);
      return lowest;
    }
    if (level + 1 >= this.#sizes.length) return undefined;
    const parent = this.#takeOffset(level + 1);
    if (parent === undefined) return undefined;
    const size = this.#sizes[level]!;
    const parts = this.#sizes[level + 1]! / size;
    for (let i = 1; i < parts; i++) free.add(parent + i * size);
    return parent;
  }

  /** Takes a block back, joining it with its free siblings. */
  give(view: Uint8Array): void {
    const level = this.#sizes.indexOf(view.length);
    this.used -= view.length;
    this.#giveOffset(view.byteOffset, level);
  }

  #giveOffset(offset: number, level: number): void {
    if (level + 1 < this.#sizes.length) {
      const size = this.#sizes[level]!;
      const parentSize = this.#sizes[level + 1]!;
      const parent = offset - (offset % parentSize);
      const free = this.#free[level]!;
      let siblingsFree = true;
      for (let at = parent; at < parent + parentSize && siblingsFree; at += size) {
        if (at !== offset && !free.has(at)) siblingsFree = false;
      }
      if (siblingsFree) {
        for (let at = parent; at < parent + parentSize; at += size) free.delete(at);
        this.#giveOffset(parent, level + 1);
        return;
      }
    }
    this.#free[level]!.add(offset);
    if (level === this.#sizes.length - 1) this.#undropped.add(offset);
  }
}

/**
 * Transfer buffers shared by every transfer of a server. Buffers are parts
 * of slabs of {@linkcode SLAB_BYTES} (large enough that the C allocator maps
 * them on their own, so freeing one gives its memory back to the system); a
 * slab is freed once nothing in it has been in use for
 * {@linkcode BufferPoolOptions.lingerMs}. Only the pages of buffers in use
 * (or used recently) are resident.
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
  readonly #linger: number;
  readonly #slabs: _Slab[] = [];
  readonly #owner = new Map<Uint8Array, _Slab>();
  #outBytes = 0;
  #peakOutBytes = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;

  /** Creates an empty pool; slabs are made on first use. */
  constructor(options: BufferPoolOptions = {}) {
    const sizes = options.sizes ?? BUFFER_SIZES;
    if (
      sizes.length === 0 ||
      sizes.some((size, i) =>
        size <= 0 || (i > 0 && size % sizes[i - 1]! !== 0) || size <= (sizes[i - 1] ?? 0)
      ) ||
      SLAB_BYTES % sizes.at(-1)! !== 0
    ) {
      throw new RangeError("Cannot use buffer sizes that do not each divide the next and the slab");
    }
    this.sizes = sizes;
    this.#limit = options.limitBytes ?? DEFAULT_LIMIT_BYTES;
    this.#linger = options.lingerMs ?? 5_000;
  }

  /** The smallest size, always granted. */
  get smallest(): number {
    return this.sizes[0]!;
  }

  /** What the pool has handed out and holds now. */
  get stats(): BufferPoolStats {
    return {
      outCount: this.#owner.size,
      outBytes: this.#outBytes,
      slabs: this.#slabs.length,
      peakOutBytes: this.#peakOutBytes,
    };
  }

  /**
   * A buffer of exactly `size` bytes (one of {@linkcode BufferPool.sizes}),
   * or undefined if handing it out would pass the limit. The smallest size
   * is always granted (in a new slab if need be).
   *
   * @throws {RangeError} If `size` is not one of the pool's sizes.
   */
  take(size: number): Uint8Array | undefined {
    const level = this.sizes.indexOf(size);
    if (level === -1) throw new RangeError(`Cannot take a buffer of ${size} bytes from this pool`);
    if (level !== 0 && this.#outBytes + size > this.#limit) return undefined;
    let buffer: Uint8Array | undefined;
    let slab: _Slab | undefined;
    for (slab of this.#slabs) {
      buffer = slab.take(level);
      if (buffer) break;
    }
    if (!buffer) {
      if (level !== 0 && this.#slabs.length > 0) return undefined;
      slab = new _Slab(SLAB_BYTES, this.sizes);
      this.#slabs.push(slab);
      buffer = slab.take(level)!;
    }
    this.#owner.set(buffer, slab!);
    this.#outBytes += size;
    if (this.#outBytes > this.#peakOutBytes) this.#peakOutBytes = this.#outBytes;
    return buffer;
  }

  /**
   * Takes a buffer back for the next transfer. A buffer already returned,
   * or not from this pool, is ignored.
   */
  release(buffer: Uint8Array): void {
    const slab = this.#owner.get(buffer);
    if (!slab) return;
    this.#owner.delete(buffer);
    this.#outBytes -= buffer.length;
    slab.give(buffer);
    if (slab.used === 0) {
      slab.emptySince = performance.now();
      this.#scheduleTrim();
    }
  }

  #scheduleTrim(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      const now = performance.now();
      this.#trimWhere((slab) => now - slab.emptySince >= this.#linger);
      if (this.#slabs.some((slab) => slab.used === 0)) this.#scheduleTrim();
    }, this.#linger);
    (this.#timer as { unref?: () => void }).unref?.();
  }

  #trimWhere(free: (slab: _Slab) => boolean): void {
    for (let i = this.#slabs.length - 1; i >= 0; i--) {
      const slab = this.#slabs[i]!;
      if (slab.used !== 0 || !free(slab)) continue;
      this.#slabs.splice(i, 1);
      slab.memory.transfer(0);
    }
  }

  /**
   * The blocks of the largest size that no buffer uses now, in the slabs
   * held: their pages may be given back (`drop`, such as `madvise`) without
   * freeing the slab; a block taken again reads as zeros. A block already
   * given to `drop` is not given again until a buffer has used it.
   */
  dropFreePages(drop: (block: Uint8Array) => void): void {
    for (const slab of this.#slabs) for (const block of slab.takeUndroppedBlocks()) drop(block);
  }

  /** Frees every slab with nothing in use now. */
  trim(): void {
    this.#trimWhere(() => true);
  }
}

/**
 * The bytes of one slab: 32 MiB, the size from which glibc's allocator
 * always maps memory on its own (its mmap threshold grows up to this), so a
 * freed slab leaves the process at once instead of a hole in its heap.
 */
export const SLAB_BYTES = 32 << 20;
