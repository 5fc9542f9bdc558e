/**
 * How much each home holds (bytes and files), for quotas. Homes and paths
 * are virtual paths from the served root ("/", "/home/alice",
 * "/home/alice/file"), the same on every instance that serves that root.
 * A home's usage is measured when first needed, then kept current by the
 * server's own writes, deletes, renames and appends: each change counts in
 * every measured home that contains it, so users sharing a home share its
 * usage, and a home inside another counts in both.
 *
 * Uploads reserve bytes before writing them ({@linkcode UsageLedger.reserve});
 * a reservation that would take any limited home past its limits is refused,
 * so sessions uploading at once can never together pass a quota. The local
 * ledger answers at once; a ledger shared by several instances (in a
 * database) may answer with a promise.
 *
 * @module
 */

/** Bytes and regular files under a home. */
export interface Usage {
  bytes: number;
  files: number;
}

/** Limits on a home's usage; absent means unlimited. */
export interface QuotaLimits {
  readonly quotaSize?: number;
  readonly quotaFiles?: number;
}

/** Counts the bytes and regular files under a home (a virtual path from the served root). */
export type MeasureUsage = (home: string) => Promise<Usage>;

/** The usage of homes, for quotas: the seam a shared (database) ledger implements. */
export interface UsageLedger {
  /** Sets (or, with an empty object, clears) the limits of a home; done at each login. */
  limit(home: string, limits: QuotaLimits): void;
  /** The usage of `home`, measured (or loaded) on first need. */
  usage(home: string): Promise<Usage>;
  /**
   * Adds `bytes` and `files` at `path` unless that would take a limited home
   * that contains it past its limits; true when added.
   */
  reserve(path: string, bytes: number, files: number): boolean | Promise<boolean>;
  /** Records a change at `path` that needs no check (a delete, a shrink, an unused reservation). */
  apply(path: string, bytes: number, files: number): void;
  /** Forgets measured usage, so the next need measures again (a reload, a quota scan). */
  forget(): void;
}

/**
 * Counts bytes and regular files under `dir` on the local disk, without
 * following symbolic links. A missing directory holds nothing.
 */
export async function measureDirectory(dir: string): Promise<Usage> {
  const usage: Usage = { bytes: 0, files: 0 };
  const pending = [dir];
  while (pending.length > 0) {
    const current = pending.pop()!;
    let entries: AsyncIterable<Deno.DirEntry>;
    try {
      entries = Deno.readDir(current);
      for await (const entry of entries) {
        const child = `${current}/${entry.name}`;
        if (entry.isDirectory) {
          pending.push(child);
        } else if (entry.isFile) {
          try {
            usage.bytes += (await Deno.lstat(child)).size;
            usage.files++;
          } catch {
            // Gone since the listing: not counted.
          }
        }
      }
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }
  return usage;
}

/** True when `path` is `dir` or inside it (virtual or real paths alike). */
export function contains(dir: string, path: string): boolean {
  return path === dir || path.startsWith(dir.endsWith("/") ? dir : `${dir}/`);
}

/**
 * The usage of every home measured so far, in this process, kept current by
 * the server's own changes.
 *
 * @example
 * ```ts
 * import { QuotaLedger } from "./quota_ledger.ts";
 * const ledger = new QuotaLedger(() => Promise.resolve({ bytes: 0, files: 0 }));
 * ledger.limit("/alice", { quotaSize: 150 });
 * await ledger.usage("/alice");
 * ledger.reserve("/alice/new.txt", 100, 1); // true
 * ledger.reserve("/alice/new.txt", 100, 0); // false: 200 bytes > 150
 * ```
 */
export class QuotaLedger implements UsageLedger {
  readonly #measure: MeasureUsage;
  readonly #homes = new Map<string, Usage>();
  readonly #measuring = new Map<string, Promise<Usage>>();
  /** Changes applied while a home was being measured, replayed on top of the count. */
  readonly #pendingChanges = new Map<string, Usage>();
  readonly #limits = new Map<string, QuotaLimits>();

  /** Creates a ledger that measures homes with `measure` (the local disk by default). */
  constructor(measure: MeasureUsage = measureDirectory) {
    this.#measure = measure;
  }

  /** Sets the limits of a home; an empty object clears them. */
  limit(home: string, limits: QuotaLimits): void {
    if (limits.quotaSize === undefined && limits.quotaFiles === undefined) {
      this.#limits.delete(home);
    } else {
      this.#limits.set(home, limits);
    }
  }

  /** The usage of `home`, measured on first need. */
  usage(home: string): Promise<Usage> {
    const known = this.#homes.get(home);
    if (known) return Promise.resolve(known);
    let measuring = this.#measuring.get(home);
    if (!measuring) {
      this.#pendingChanges.set(home, { bytes: 0, files: 0 });
      measuring = this.#measure(home).then((measured) => {
        const changes = this.#pendingChanges.get(home) ?? { bytes: 0, files: 0 };
        const usage = {
          bytes: Math.max(0, measured.bytes + changes.bytes),
          files: Math.max(0, measured.files + changes.files),
        };
        this.#homes.set(home, usage);
        return usage;
      }).finally(() => {
        this.#measuring.delete(home);
        this.#pendingChanges.delete(home);
      });
      this.#measuring.set(home, measuring);
    }
    return measuring;
  }

  /** The usage of `home` if it has been measured, else undefined. */
  cached(home: string): Usage | undefined {
    return this.#homes.get(home);
  }

  /** Adds a change at `path` unless a limited, measured home containing it would pass its limits. */
  reserve(path: string, bytes: number, files: number): boolean {
    for (const [home, limits] of this.#limits) {
      if (contains(home, path) && this.wouldExceed(home, limits, bytes, files)) return false;
    }
    this.apply(path, bytes, files);
    return true;
  }

  /** Records a change at `path` in every measured home that contains it. */
  apply(path: string, bytes: number, files: number): void {
    if (bytes === 0 && files === 0) return;
    for (const [home, usage] of this.#homes) {
      if (!contains(home, path)) continue;
      usage.bytes = Math.max(0, usage.bytes + bytes);
      usage.files = Math.max(0, usage.files + files);
    }
    for (const [home, changes] of this.#pendingChanges) {
      if (!contains(home, path)) continue;
      changes.bytes += bytes;
      changes.files += files;
    }
  }

  /**
   * True when adding `bytes` and `files` at `path` would take `home` past
   * its limits. The home must have been measured (see {@linkcode usage}).
   */
  wouldExceed(home: string, limits: QuotaLimits, bytes: number, files: number): boolean {
    const usage = this.#homes.get(home);
    if (!usage) return false;
    if (limits.quotaSize !== undefined && bytes > 0 && usage.bytes + bytes > limits.quotaSize) {
      return true;
    }
    return limits.quotaFiles !== undefined && files > 0 &&
      usage.files + files > limits.quotaFiles;
  }

  /** Forgets every measured home, so the next need measures again (a reload, a quota scan). */
  forget(): void {
    this.#homes.clear();
  }
}
