/**
 * Per-user settings: quotas, transfer rates, a session limit and address
 * lists. This module only defines, validates, reads and writes them; the
 * server enforces them elsewhere. A setting that is absent means unlimited
 * (or, for the address lists, no restriction).
 *
 * @module
 */

import { parseCidr as parseNetwork } from "../../protocol/cidr.ts";
import { formatSize, parseSize } from "../../protocol/size.ts";

/** Settings of one user; every field is optional and absent means unlimited. */
export interface UserSettings {
  /** Most bytes the user's files may take, in bytes. */
  readonly quotaSize?: number;
  /** Most files the user may have. */
  readonly quotaFiles?: number;
  /** Upload rate cap, in bytes per second. */
  readonly uploadRate?: number;
  /** Download rate cap, in bytes per second. */
  readonly downloadRate?: number;
  /** Most simultaneous sessions logged in as this user. */
  readonly maxSessions?: number;
  /** Client networks the user may log in from, as CIDR blocks ("10.0.0.0/8", "2001:db8::/32"). */
  readonly allowFrom?: readonly string[];
  /** Client networks the user may not log in from, as CIDR blocks; checked before `allowFrom`. */
  readonly denyFrom?: readonly string[];
}

type _Kind = "size" | "count" | "cidrs";

/**
 * The settings as written in a credentials file: the file's key, the
 * {@linkcode UserSettings} field, and the kind of value.
 *
 * @example
 * ```ts
 * USER_SETTING_KEYS.map((setting) => setting.key); // ["quota_size", "quota_files", …]
 * ```
 */
export const USER_SETTING_KEYS: readonly {
  readonly key: string;
  readonly field: keyof UserSettings;
  readonly kind: _Kind;
}[] = [
  { key: "quota_size", field: "quotaSize", kind: "size" },
  { key: "quota_files", field: "quotaFiles", kind: "count" },
  { key: "upload_rate", field: "uploadRate", kind: "size" },
  { key: "download_rate", field: "downloadRate", kind: "size" },
  { key: "max_sessions", field: "maxSessions", kind: "count" },
  { key: "allow_from", field: "allowFrom", kind: "cidrs" },
  { key: "deny_from", field: "denyFrom", kind: "cidrs" },
];

/**
 * Checks a CIDR block and returns it normalized (lower case; a bare address
 * gets /32 or /128).
 *
 * @param text The block, such as "10.0.0.0/8" or "2001:DB8::/32".
 * @returns The normalized block.
 * @throws {RangeError} If the address or the prefix length is invalid.
 *
 * @example
 * ```ts
 * parseCidr("192.168.1.7"); // "192.168.1.7/32"
 * ```
 */
export function parseCidr(text: string): string {
  try {
    return parseNetwork(text.trim().toLowerCase()).text;
  } catch (error) {
    throw new RangeError(`Invalid CIDR block "${text}": ${(error as Error).message}`);
  }
}

function _parseNumber(key: string, text: string, kind: _Kind): number {
  const value = parseSize(text);
  if (value === undefined && /^[0-9]{1,15}\s*[KMGT]?i?B?$/i.test(text.trim())) {
    throw new RangeError(`Value "${text}" for ${key} is too big`);
  }
  if (value === undefined || (kind === "count" && /[KMGT]/i.test(text))) {
    throw new RangeError(
      `Invalid value "${text}" for ${key}: expected ${
        kind === "count" ? "a whole number" : "a number of bytes, optionally with K, M, G or T"
      }`,
    );
  }
  return value;
}

/**
 * Parses one `key = value` setting of a credentials file into `settings`.
 * Sizes and rates take an optional binary unit (K, M, G, T = 1024^n bytes);
 * address lists are CIDR blocks separated by commas.
 *
 * @param settings The settings read so far; returned with this one added.
 * @param key The key, such as "quota_size".
 * @param value The value, such as "10G".
 * @returns The settings with this one set.
 * @throws {RangeError} If the key is unknown, repeated or the value invalid.
 *
 * @example
 * ```ts
 * parseUserSetting({}, "upload_rate", "1M"); // { uploadRate: 1048576 }
 * ```
 */
export function parseUserSetting(settings: UserSettings, key: string, value: string): UserSettings {
  const setting = USER_SETTING_KEYS.find((entry) => entry.key === key);
  if (setting === undefined) {
    throw new RangeError(
      `Unknown setting "${key}" (expected one of ${
        USER_SETTING_KEYS.map((s) => s.key).join(", ")
      })`,
    );
  }
  if (settings[setting.field] !== undefined) throw new RangeError(`Setting "${key}" repeated`);
  const parsed = setting.kind === "cidrs"
    ? value.split(",").map((block) => block.trim()).filter((block) => block !== "").map(parseCidr)
    : _parseNumber(key, value, setting.kind);
  return { ...settings, [setting.field]: parsed };
}

/**
 * Checks settings made in code (not read from a file) and returns them
 * normalized, without absent fields.
 *
 * @param settings The settings.
 * @returns The same settings, validated, CIDR blocks normalized.
 * @throws {RangeError} If a number is not a non-negative safe integer or a block is invalid.
 *
 * @example
 * ```ts
 * checkUserSettings({ maxSessions: 2 }); // { maxSessions: 2 }
 * ```
 */
export function checkUserSettings(settings: UserSettings): UserSettings {
  const checked: Record<string, unknown> = {};
  for (const { key, field, kind } of USER_SETTING_KEYS) {
    const value = settings[field];
    if (value === undefined) continue;
    if (kind === "cidrs") {
      checked[field] = (value as readonly string[]).map(parseCidr);
    } else if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
      throw new RangeError(`Invalid value ${String(value)} for ${key}`);
    } else {
      checked[field] = value;
    }
  }
  return checked as UserSettings;
}

/**
 * Writes settings as `key = value` pairs in the order of
 * {@linkcode USER_SETTING_KEYS}, sizes with the largest exact unit.
 *
 * @param settings The settings.
 * @returns One `[key, value]` pair per setting that is set.
 *
 * @example
 * ```ts
 * formatUserSettings({ quotaSize: 10 * 2 ** 30 }); // [["quota_size", "10G"]]
 * ```
 */
export function formatUserSettings(settings: UserSettings): [string, string][] {
  const pairs: [string, string][] = [];
  for (const { key, field, kind } of USER_SETTING_KEYS) {
    const value = settings[field];
    if (value === undefined) continue;
    if (kind === "cidrs") pairs.push([key, (value as readonly string[]).join(", ")]);
    else if (kind === "size") pairs.push([key, formatSize(value as number)]);
    else pairs.push([key, String(value)]);
  }
  return pairs;
}
