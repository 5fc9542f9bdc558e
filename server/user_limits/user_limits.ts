/**
 * The per-user limits of one server, in one place: each user's effective
 * settings (their own, else the server-wide defaults), the address rules
 * checked after a correct password, the session slots for `max_sessions`,
 * the quota ledger, and the shared rate caps (one bucket per user and
 * direction, shared by all of that user's sessions, plus the server's
 * global caps). A reload hands it new defaults and caps; running
 * transfers take the new rates from their next chunk.
 *
 * @module
 */

import { CidrList } from "../../protocol/cidr.ts";
import type { UserRecord } from "../auth/user_record.ts";
import type { UserSettings } from "../auth/user_settings.ts";
import { QuotaLedger, type UsageLedger } from "./quota_ledger.ts";
import { LocalSessionSlots, type SessionSlots } from "./session_slots.ts";
import { TokenBucket } from "./token_bucket.ts";

/** Server-wide limits: defaults for users without their own, and global rate caps. */
export interface ServerLimits {
  /** Defaults for each per-user setting a user does not set. */
  readonly defaults?: UserSettings;
  /** The whole server's upload rate cap, bytes per second. */
  readonly maxUploadRate?: number;
  /** The whole server's download rate cap, bytes per second. */
  readonly maxDownloadRate?: number;
}

/** The server-wide limits a config sets (the `default_*` keys and the global caps). */
export function serverLimits(config: {
  readonly userDefaults: UserSettings;
  readonly maxUploadRate?: number;
  readonly maxDownloadRate?: number;
}): ServerLimits {
  return {
    defaults: config.userDefaults,
    ...(config.maxUploadRate !== undefined ? { maxUploadRate: config.maxUploadRate } : {}),
    ...(config.maxDownloadRate !== undefined ? { maxDownloadRate: config.maxDownloadRate } : {}),
  };
}

/** The direction of a transfer, as rates see it. */
export type Direction = "upload" | "download";

/** Why a correct password still does not log in; undefined when the address may. */
export type AddressRefusal = "deny_from" | "allow_from" | undefined;

/** A user's settings with the server's defaults filled in. */
export function effectiveSettings(record: UserRecord, defaults: UserSettings = {}): UserSettings {
  return { ...defaults, ...dropUndefined(record.settings ?? {}) };
}

function dropUndefined(settings: UserSettings): UserSettings {
  return Object.fromEntries(
    Object.entries(settings).filter(([, value]) => value !== undefined),
  ) as UserSettings;
}

/** Address lists parsed once per distinct list (users share the same defaults). */
const cidrCache = new WeakMap<readonly string[], CidrList>();
function cidrList(blocks: readonly string[]): CidrList {
  let list = cidrCache.get(blocks);
  if (!list) {
    list = CidrList.parse(blocks);
    cidrCache.set(blocks, list);
  }
  return list;
}

/**
 * Whether a client address may log in as a user: `deny_from` is checked
 * first, then `allow_from` (when set, the address must be in it).
 *
 * @example
 * ```ts
 * addressRefusal({ allowFrom: ["10.0.0.0/8"] }, "192.0.2.1"); // "allow_from"
 * addressRefusal({ denyFrom: ["192.0.2.0/24"] }, "192.0.2.1"); // "deny_from"
 * addressRefusal({}, "192.0.2.1"); // undefined
 * ```
 */
export function addressRefusal(settings: UserSettings, address: string): AddressRefusal {
  if (settings.denyFrom?.length && cidrList(settings.denyFrom).has(address)) return "deny_from";
  if (settings.allowFrom?.length && !cidrList(settings.allowFrom).has(address)) {
    return "allow_from";
  }
  return undefined;
}

/**
 * A server's per-user limits.
 *
 * @example
 * ```ts
 * import { UserLimits } from "./user_limits.ts";
 * const limits = new UserLimits({ maxDownloadRate: 10 * 1024 * 1024 });
 * limits.buckets("alice", { downloadRate: 1024 * 1024 }, "download").length; // 2
 * ```
 */
export class UserLimits {
  #limits: ServerLimits;
  /** The quota ledger (local, or shared by instances). */
  readonly ledger: UsageLedger;
  /** The session slots (local, or shared by instances). */
  readonly slots: SessionSlots;
  readonly #userBuckets = new Map<string, TokenBucket>();
  #globalUpload: TokenBucket | undefined;
  #globalDownload: TokenBucket | undefined;

  /** Creates the limits, with a local ledger and session slots unless given shared ones. */
  constructor(
    limits: ServerLimits = {},
    options: { ledger?: UsageLedger; slots?: SessionSlots } = {},
  ) {
    this.#limits = limits;
    this.ledger = options.ledger ?? new QuotaLedger();
    this.slots = options.slots ?? new LocalSessionSlots();
    this.#applyGlobal();
  }

  /** The server-wide limits in force. */
  get server(): ServerLimits {
    return this.#limits;
  }

  /**
   * Takes new server-wide limits (a reload). Global caps and users' buckets
   * change their rate in place, so running transfers follow from their next
   * chunk; a user's own rate is re-read at that user's next chunk.
   */
  reconfigure(limits: ServerLimits): void {
    this.#limits = limits;
    this.#applyGlobal();
  }

  /** The user's settings with the server's defaults filled in. */
  settingsFor(record: UserRecord): UserSettings {
    return effectiveSettings(record, this.#limits.defaults);
  }

  /**
   * The rate caps a transfer of `user` in `direction` must respect: the
   * user's shared bucket (when they have a rate) and the server's cap (when
   * set). Empty when unlimited: the transfer then runs without pacing.
   */
  buckets(user: string, settings: UserSettings, direction: Direction): TokenBucket[] {
    const buckets: TokenBucket[] = [];
    const rate = direction === "upload" ? settings.uploadRate : settings.downloadRate;
    if (rate !== undefined && rate > 0) {
      const key = `${direction}\0${user}`;
      let bucket = this.#userBuckets.get(key);
      if (!bucket) {
        bucket = new TokenBucket(rate);
        this.#userBuckets.set(key, bucket);
      } else if (bucket.rate !== rate) {
        bucket.rate = rate;
      }
      buckets.push(bucket);
    }
    const global = direction === "upload" ? this.#globalUpload : this.#globalDownload;
    if (global) buckets.push(global);
    return buckets;
  }

  /**
   * Gives `user`'s shared buckets the rates of `settings` (a reload): running
   * transfers follow from their next chunk; a cap that was removed lets them
   * run unpaced.
   */
  retune(user: string, settings: UserSettings): void {
    for (const direction of ["upload", "download"] as const) {
      const bucket = this.#userBuckets.get(`${direction}\0${user}`);
      if (!bucket) continue;
      const rate = direction === "upload" ? settings.uploadRate : settings.downloadRate;
      bucket.rate = rate !== undefined && rate > 0 ? rate : Infinity;
    }
  }

  #applyGlobal(): void {
    this.#globalUpload = retune(this.#globalUpload, this.#limits.maxUploadRate);
    this.#globalDownload = retune(this.#globalDownload, this.#limits.maxDownloadRate);
  }
}

function retune(
  bucket: TokenBucket | undefined,
  rate: number | undefined,
): TokenBucket | undefined {
  if (rate === undefined || rate <= 0) {
    if (bucket) bucket.rate = Infinity; // running transfers that hold it go on unpaced
    return undefined;
  }
  if (!bucket) return new TokenBucket(rate);
  if (bucket.rate !== rate) bucket.rate = rate;
  return bucket;
}
