/**
 * Gives the system back what the C allocator holds free after a burst of
 * connections (issue 16). Every {@linkcode RETURN_INTERVAL_MS} the server
 * looks at glibc's heap; when it holds more than {@linkcode RETURN_FREE_BYTES}
 * free and has changed by as much since the last time (so an idle server
 * trims once, not every time), V8 collects (the array buffers it frees go
 * back to the heap; with `--expose-gc`, which the server runs with) and the
 * heap's free pages go back to the system. 400 TLS handshakes leave tens of
 * MiB of holes there, which glibc would otherwise keep for good and carry
 * from one burst into the next.
 *
 * @module
 */

import type { BufferPool } from "../../transport/buffer_pool.ts";
import type { HeapUsage, NativeMemory } from "../../transport/native_memory.ts";

/** How often the free memory is looked at, in milliseconds. */
export const RETURN_INTERVAL_MS = 1_000;

/** Free bytes in the heap worth a trim, and change since the last one (less is left to be reused). */
export const RETURN_FREE_BYTES = 1 << 20;

/**
 * The periodic look; {@linkcode MemoryReturn.stop} ends it. The timer does
 * not keep the process alive.
 *
 * @example
 * ```ts ignore
 * const memoryReturn = MemoryReturn.start(nativeMemory());
 * // … serve …
 * memoryReturn?.stop();
 * ```
 */
export class MemoryReturn {
  readonly #memory: NativeMemory;
  readonly #pool: BufferPool | undefined;
  readonly #threshold: number;
  readonly #timer: ReturnType<typeof setInterval>;
  #trims = 0;
  /** The heap as the last trim left it. */
  #after: HeapUsage = { used: 0, free: 0 };

  private constructor(
    memory: NativeMemory,
    pool: BufferPool | undefined,
    intervalMs: number,
    threshold: number,
  ) {
    this.#memory = memory;
    this.#pool = pool;
    this.#threshold = threshold;
    this.#timer = setInterval(() => this.check(), intervalMs);
    Deno.unrefTimer(this.#timer);
  }

  /**
   * Starts looking at `memory` (and at the free blocks of `pool`, whose
   * pages go back too) every `intervalMs`; undefined without `memory` (the
   * allocator cannot be reached, see `transport/native_memory.ts`).
   */
  static start(
    memory: NativeMemory | undefined,
    options: { pool?: BufferPool; intervalMs?: number; threshold?: number } = {},
  ): MemoryReturn | undefined {
    if (!memory) return undefined;
    return new MemoryReturn(
      memory,
      options.pool,
      options.intervalMs ?? RETURN_INTERVAL_MS,
      options.threshold ?? RETURN_FREE_BYTES,
    );
  }

  /** How many times memory was given back so far. */
  get trims(): number {
    return this.#trims;
  }

  /**
   * Looks once: gives back the pages of the pool's free blocks (a burst that
   * used other blocks than the last one does not add to the last), then
   * collects and trims if the heap holds and has moved more than the threshold.
   */
  check(): void {
    this.#pool?.dropFreePages((block) => this.#memory.dropPages(block));
    const now = this.#memory.usage();
    const moved = Math.abs(now.used - this.#after.used) + Math.abs(now.free - this.#after.free);
    if (now.free <= this.#threshold || moved <= this.#threshold) return;
    (globalThis as { gc?: () => void }).gc?.();
    this.#memory.trim();
    this.#trims++;
    this.#after = this.#memory.usage();
  }

  /** Stops looking. */
  stop(): void {
    clearInterval(this.#timer);
  }
}
