/**
 * The C allocator's own accounts, where Deno cannot see them: how much
 * memory glibc's `malloc` holds free, and handing it back to the system
 * (`malloc_trim`). A burst of TLS connections leaves holes in the heap that
 * glibc keeps until told; V8's array buffers and OpenSSL allocate there.
 *
 * The functions are reached through libssl's handle: a symbol looked up in
 * a loaded library is also looked up in the libraries it depends on (libssl
 * needs libcrypto, which needs the C library), so the one `--allow-ffi` the
 * server runs with (for libssl, see `openssl.ts`) is enough. Both symbols
 * are optional: on another C library (musl, macOS) there is nothing to do.
 *
 * @module
 */

import { openSslOrigin } from "./tls/openssl.ts";

const SYMBOLS = {
  malloc_trim: { parameters: ["usize"], result: "i32", optional: true },
  madvise: { parameters: ["buffer", "usize", "i32"], result: "i32", optional: true },
  /** `struct mallinfo2`: ten `size_t` counters (`uordblks` and `fordblks` are the eighth and ninth). */
  mallinfo2: {
    parameters: [],
    result: {
      struct: [
        "usize",
        "usize",
        "usize",
        "usize",
        "usize",
        "usize",
        "usize",
        "usize",
        "usize",
        "usize",
      ],
    },
    optional: true,
  },
} as const satisfies Deno.ForeignLibraryInterface;

/** Index of `uordblks` (bytes in use) in `struct mallinfo2`. */
const USED_BYTES_FIELD = 7;
/** Index of `fordblks` (bytes in free chunks) in `struct mallinfo2`. */
const FREE_BYTES_FIELD = 8;

/** `MADV_DONTNEED`: the pages go; the range reads as zeros when next touched. */
const MADV_DONTNEED = 4;
/** The page size assumed when looking for a buffer's first page boundary. */
const PAGE_BYTES = 4096;
/** Offsets tried for that boundary: addresses of `malloc`'s blocks are multiples of 16. */
const ADDRESS_STEP = 16;

/** What `malloc`'s heaps hold. */
export interface HeapUsage {
  /** Bytes handed out and not freed. */
  used: number;
  /** Bytes in free chunks, resident or not (a trim does not change it). */
  free: number;
}

/** The C allocator's free memory, seen and given back. */
export interface NativeMemory {
  /** What the heaps hold now. */
  usage(): HeapUsage;
  /** Gives the free pages of every heap back to the system; true if any were. */
  trim(): boolean;
  /**
   * Gives back the whole pages inside `view`, whose bytes the caller no
   * longer needs (they read as zeros afterwards); false if it could not.
   */
  dropPages(view: Uint8Array): boolean;
}

let loaded: NativeMemory | null | undefined;

/**
 * glibc's allocator, or undefined where it cannot be reached (no FFI
 * permission for libssl, no libssl, another C library). Loaded once.
 *
 * @example
 * ```ts ignore
 * const memory = nativeMemory();
 * if (memory && memory.usage().free > 4 << 20) memory.trim();
 * ```
 */
export function nativeMemory(): NativeMemory | undefined {
  if (loaded === undefined) loaded = load() ?? null;
  return loaded ?? undefined;
}

function load(): NativeMemory | undefined {
  if (Deno.build.os !== "linux") return undefined;
  const { path } = openSslOrigin();
  if (path === undefined) return undefined;
  let symbols;
  try {
    symbols = Deno.dlopen(path, SYMBOLS).symbols;
  } catch {
    return undefined;
  }
  const { malloc_trim: mallocTrim, mallinfo2, madvise } = symbols;
  if (mallocTrim === null || mallinfo2 === null) return undefined;
  /** Where each buffer's first page starts (its address is not visible from JS), or -1: none found. */
  const firstPage = new WeakMap<ArrayBufferLike, number>();
  /**
   * Finds `buffer`'s first page boundary by asking for one page at each
   * possible offset: only an aligned address is accepted (the page then
   * dropped is in a free block the caller gave).
   */
  const pageStart = (view: Uint8Array): number => {
    const known = firstPage.get(view.buffer);
    if (known !== undefined) return known;
    let found = -1;
    for (let at = 0; at < PAGE_BYTES && found === -1; at += ADDRESS_STEP) {
      const offset = view.byteOffset + at;
      if (offset + PAGE_BYTES > view.byteOffset + view.length) break;
      const probe = new Uint8Array(view.buffer, offset, PAGE_BYTES);
      if (madvise!(probe, BigInt(PAGE_BYTES), MADV_DONTNEED) === 0) found = offset % PAGE_BYTES;
    }
    firstPage.set(view.buffer, found);
    return found;
  };
  return {
    usage(): HeapUsage {
      const info = mallinfo2();
      const fields = new BigUint64Array(info.buffer, info.byteOffset, 10);
      return { used: Number(fields[USED_BYTES_FIELD]), free: Number(fields[FREE_BYTES_FIELD]) };
    },
    trim(): boolean {
      return mallocTrim(0n) === 1;
    },
    dropPages(view: Uint8Array): boolean {
      if (madvise === null) return false;
      const boundary = pageStart(view);
      if (boundary === -1) return false;
      const start = view.byteOffset +
        ((boundary - view.byteOffset % PAGE_BYTES + PAGE_BYTES) % PAGE_BYTES);
      const end = start +
        Math.floor((view.byteOffset + view.length - start) / PAGE_BYTES) * PAGE_BYTES;
      if (end <= start) return false;
      const pages = new Uint8Array(view.buffer, start, end - start);
      return madvise(pages, BigInt(pages.length), MADV_DONTNEED) === 0;
    },
  };
}
