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

import type { HeapUsage, NativeMemory } from "../../transport/native_memory.ts";

/** How often the free memory is looked at, in milliseconds. */
export const RETURN_INTERVAL_MS = 2_000;

/** Free bytes in the heap worth a trim, and change since the last one (less is left to be reused). */
export const RETURN_FREE_BYTES = 4 << 20;

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
  readonly #threshold: number;
  readonly #timer: ReturnType<typeof setInterval>;
  #trims = 0;
  /** The heap as the last trim left it. */
  #after: HeapUsage = { used: 0, free: 0 };

  private constructor(memory: NativeMemory, intervalMs: number, threshold: number) {
    this.#memory = memory;
    this.#threshold = threshold;
    this.#timer = setInterval(() => this.check(), intervalMs);
    Deno.unrefTimer(this.#timer);
  }

  /**
   * Starts looking at `memory` every `intervalMs`; undefined without one
   * (the allocator cannot be reached, see `transport/native_memory.ts`).
   */
  static start(
    memory: NativeMemory | undefined,
    intervalMs = RETURN_INTERVAL_MS,
    threshold = RETURN_FREE_BYTES,
  ): MemoryReturn | undefined {
    return memory ? new MemoryReturn(memory, intervalMs, threshold) : undefined;
  }

  /** How many times memory was given back so far. */
  get trims(): number {
    return this.#trims;
  }

  /** Looks once: collects and trims if the heap holds and has moved more than the threshold. */
  check(): void {
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
