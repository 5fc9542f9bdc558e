/**
 * One upload's share of the quota ledger: what opening the file changed
 * (a new file, a truncated one), each chunk's growth reserved before it is
 * written, and on a quota stop, the file put back: a new (or truncated)
 * file removed, an appended or resumed one cut back to its old length.
 *
 * @module
 */

import * as posix from "node:path/posix";
import { ReplyCode } from "../../protocol/reply.ts";
import { ReplyError } from "../../protocol/reply_error.ts";
import type { UserSettings } from "../auth/user_settings.ts";
import type { StorageFile } from "../storage/storage.ts";
import type { UsageLedger } from "./quota_ledger.ts";

/**
 * An upload would take its user past a quota: 552, RFC 959's "exceeded
 * storage allocation".
 *
 * @example
 * ```ts
 * import { QuotaExceededError } from "./upload_quota.ts";
 * new QuotaExceededError("size").code; // 552
 * ```
 */
export class QuotaExceededError extends ReplyError {
  /** Which quota: "size" (bytes) or "files". */
  readonly quota: "size" | "files";

  /** Creates the error for the quota that was reached. */
  constructor(quota: "size" | "files") {
    super(
      ReplyCode.ExceededStorage,
      quota === "files"
        ? "Quota exceeded: file limit reached."
        : "Quota exceeded: storage allocation used up.",
    );
    this.name = "QuotaExceededError";
    this.quota = quota;
  }
}

/** The account an upload is charged to. */
export interface QuotaAccount {
  /** The ledger. */
  readonly ledger: UsageLedger;
  /** The user's home, a virtual path from the served root. */
  readonly home: string;
  /** The user's effective settings (quotas). */
  readonly settings: UserSettings;
}

/** True when the settings limit bytes or files. */
export function hasQuota(settings: UserSettings): boolean {
  return settings.quotaSize !== undefined || settings.quotaFiles !== undefined;
}

/** Reserve at least this much at a time from a ledger that answers with a promise (shared). */
const SHARED_BLOCK = 4 * 1024 * 1024;

/**
 * The quota side of one upload. Create it with {@linkcode UploadQuota.begin}
 * before any data moves; call {@linkcode charge} before each write, then
 * {@linkcode settle} once the upload ends (whatever the outcome).
 */
export class UploadQuota {
  readonly #ledger: UsageLedger;
  /** The file being written, as a virtual path from the served root. */
  readonly path: string;
  /** Bytes of the old file that stay (an append, a resumed upload); 0 for a new or replaced one. */
  readonly keep: number;
  /** The file's size now. */
  #size: number;
  /** Bytes reserved from a shared ledger but not yet written. */
  #reserved = 0;
  /** Set once the ledger answered with a promise: it is shared, so reserve in blocks. */
  #shared = false;
  /** What opening the file changed in the ledger: a new file, bytes a truncation drops. */
  readonly #opening: { readonly bytes: number; readonly files: number };

  private constructor(
    ledger: UsageLedger,
    path: string,
    keep: number,
    opening: { bytes: number; files: number },
  ) {
    this.#ledger = ledger;
    this.path = path;
    this.keep = keep;
    this.#size = keep;
    this.#opening = opening;
    this.#replacing = -opening.bytes > 0 && opening.files === 1 ? -opening.bytes : 0;
  }

  /** The bytes of the file an atomic upload replaces, counted as gone from the start. */
  readonly #replacing: number;
  /** An atomic upload replaces an empty file (no bytes, one file). */
  #replacedFile = false;

  /** Marks an atomic upload as replacing an existing file (even an empty one). */
  replacesFile(): this {
    this.#replacedFile = true;
    return this;
  }

  /**
   * Records the opening of an upload at `path` (relative to the home):
   * a new file takes one of the file quota (or 552 before any data moves),
   * a truncated one gives back the bytes it loses.
   *
   * @param account The user's ledger, home and settings.
   * @param path The file, a virtual path inside the home.
   * @param existing The size of the file there now, if one is there.
   * @param keep The bytes of it the upload keeps (its size for APPE, the REST offset).
   * @param replacing For an atomic upload (to a temporary name), the size of
   * the file it will replace: counted as gone from the start, so an overwrite
   * counts only the difference.
   */
  static async begin(
    account: QuotaAccount,
    path: string,
    existing: number | undefined,
    keep: number,
    replacing?: number,
  ): Promise<UploadQuota> {
    const { ledger, home, settings } = account;
    const full = posix.join(home, path);
    if (hasQuota(settings)) await ledger.usage(home);
    const kept = existing === undefined ? 0 : Math.min(keep, existing);
    const opening = { bytes: 0, files: 0 };
    if (replacing !== undefined && replacing > 0) {
      ledger.apply(full, -replacing, 0);
      opening.bytes = -replacing;
    }
    if (existing === undefined) {
      let added = ledger.reserve(full, 0, 1);
      if (typeof added !== "boolean") added = await added;
      if (!added) {
        if (opening.bytes !== 0) ledger.apply(full, -opening.bytes, 0);
        throw new QuotaExceededError("files");
      }
      opening.files = 1;
    } else if (existing > kept) {
      ledger.apply(full, kept - existing, 0);
      opening.bytes = kept - existing;
    }
    return new UploadQuota(ledger, full, kept, opening);
  }

  /** The file's size as written so far. */
  get size(): number {
    return this.#size;
  }

  /**
   * Reserves the growth of writing `bytes` more at the end of the file;
   * throws {@linkcode QuotaExceededError} (nothing reserved) when that would
   * pass a quota. Returns a promise only for a shared ledger that must ask.
   */
  charge(bytes: number): void | Promise<void> {
    if (bytes <= 0) return;
    if (this.#reserved >= bytes) {
      this.#reserved -= bytes;
      this.#size += bytes;
      return;
    }
    const need = bytes - this.#reserved;
    if (this.#shared) return this.#chargeShared(bytes, need);
    const added = this.#ledger.reserve(this.path, need, 0);
    if (typeof added !== "boolean") {
      this.#shared = true;
      return added.then((ok) => this.#charged(ok, bytes, need));
    }
    this.#charged(added, bytes, need);
  }

  #charged(ok: boolean, bytes: number, taken: number): void {
    if (!ok) throw new QuotaExceededError("size");
    this.#reserved += taken - bytes;
    this.#size += bytes;
  }

  async #chargeShared(bytes: number, need: number): Promise<void> {
    const block = Math.max(need, SHARED_BLOCK);
    if (await this.#ledger.reserve(this.path, block, 0)) return this.#charged(true, bytes, block);
    this.#charged(await this.#ledger.reserve(this.path, need, 0), bytes, need);
  }

  /** Gives back a charge whose write failed. */
  refund(bytes: number): void {
    this.#size -= bytes;
    this.#ledger.apply(this.path, -bytes, 0);
  }

  /**
   * Records that the file was put back to `keep` bytes, or removed when it
   * kept nothing (for an atomic upload: the temporary file removed, the file
   * it was to replace left as it was).
   */
  undone(): void {
    if (this.keep > 0) this.#ledger.apply(this.path, this.keep - this.#size, 0);
    else this.#ledger.apply(this.path, -this.#size, -1);
    if (this.#replacing > 0) this.#ledger.apply(this.path, this.#replacing, 0);
    this.#size = this.keep;
    this.settle();
  }

  /** Takes back what opening recorded, for an upload that never opened its file. */
  cancel(): void {
    this.#ledger.apply(this.path, -this.#opening.bytes, -this.#opening.files);
    this.settle();
  }

  /** Returns any reservation not written (call once the upload is over). */
  settle(): void {
    if (this.#reserved > 0) this.#ledger.apply(this.path, -this.#reserved, 0);
    this.#reserved = 0;
  }

  /**
   * Records that a finished atomic upload's temporary file replaced a file
   * (its bytes were counted as gone from the start): one file fewer.
   */
  replaced(): void {
    if (this.#replacing > 0 || this.#replacedFile) this.#ledger.apply(this.path, 0, -1);
  }
}

/**
 * The file of an upload with every write charged to its quota first: a
 * write that would pass the quota throws {@linkcode QuotaExceededError}
 * and writes nothing; a write that fails gives its charge back.
 */
export function chargedFile(file: StorageFile, quota: UploadQuota): StorageFile {
  const write = async (data: Uint8Array): Promise<void> => {
    const charged = quota.charge(data.length);
    if (charged) await charged;
    try {
      await file.write(data);
    } catch (error) {
      quota.refund(data.length);
      throw error;
    }
  };
  return { read: (buffer) => file.read(buffer), write, close: () => file.close() };
}
