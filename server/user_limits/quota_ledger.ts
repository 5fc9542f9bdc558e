/**
 * How much each home holds (bytes and files), for quotas. A home's usage is
 * measured when first needed, then kept current by the server's own writes,
 * deletes, renames and appends: each change is applied, at once, to every
 * measured home that contains it, so users sharing a home share its usage,
 * and a home inside another counts in both. Changes are applied
 * synchronously, before the bytes are written, so two sessions uploading at
 * once can never together pass a quota.
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

/** Counts the bytes and regular files under a directory (a real path). */
export type MeasureUsage = (dir: string) => Promise<Usage>;

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

function contains(dir: string, path: string): boolean {
  return path === dir || path.startsWith(dir.endsWith("/") ? dir : `${dir}/`);
}

/**
 * The usage of every home measured so far, kept current by the server's
 * own changes.
 *
 * @example
 * ```ts
 * import { QuotaLedger } from "./quota_ledger.ts";
 * const ledger = new QuotaLedger(async () => ({ bytes: 0, files: 0 }));
 * await ledger.usage("/srv/alice");
 * ledger.apply("/srv/alice/new.txt", 100, 1);
 * ledger.cached("/srv/alice"); // { bytes: 100, files: 1 }
 * ```
 */
export class QuotaLedger {
  readonly #measure: MeasureUsage;
  readonly #homes = new Map<string, Usage>();
  readonly #measuring = new Map<string, Promise<Usage>>();
  /** Changes applied while a home was being measured, replayed on top of the count. */
  readonly #pendingChanges = new Map<string, Usage>();

  /** Creates a ledger that measures homes with `measure` (the local disk by default). */
  constructor(measure: MeasureUsage = measureDirectory) {
    this.#measure = measure;
  }

  /** The usage of `home` (a real path), measured on first need. */
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

  /** Records a change at `path` (a real path) in every measured home that contains it. */
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
