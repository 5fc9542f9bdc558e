/**
 * Sizes in bytes as people write them: whole numbers with an optional binary
 * unit (K, M, G, T = 1024^n; `KiB`, `MB` also read), for settings, the
 * credentials file and the CLI; and byte counts in human units for display.
 *
 * @module
 */

const UNITS: readonly [string, number][] = [["T", 2 ** 40], ["G", 2 ** 30], ["M", 2 ** 20], [
  "K",
  2 ** 10,
]];

/**
 * Reads `512`, `64K`, `10 GiB`, `2MB`; undefined for anything else (or a
 * value past the safe integers).
 *
 * @example
 * ```ts
 * parseSize("64K"); // 65536
 * parseSize("lots"); // undefined
 * ```
 */
export function parseSize(text: string): number | undefined {
  const match = /^([0-9]{1,15})\s*([KMGT]?)i?B?$/i.exec(text.trim());
  if (match === null) return undefined;
  const unit = match[2]!.toUpperCase();
  const value = Number(match[1]) * (UNITS.find(([name]) => name === unit)?.[1] ?? 1);
  return Number.isSafeInteger(value) ? value : undefined;
}

/**
 * Writes a size with the largest unit that divides it exactly: `10G`, `512K`, `1000`.
 *
 * @example
 * ```ts
 * formatSize(10 * 2 ** 30); // "10G"
 * ```
 */
export function formatSize(value: number): string {
  for (const [unit, size] of UNITS) {
    if (value >= size && value % size === 0) return `${value / size}${unit}`;
  }
  return String(value);
}

const HUMAN_UNITS = ["B", "KiB", "MiB", "GiB", "TiB"] as const;

/**
 * A byte count in binary units, one decimal ("1.5 KiB").
 *
 * @example
 * ```ts
 * formatBytes(1536); // "1.5 KiB"
 * ```
 */
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < HUMAN_UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${HUMAN_UNITS[unit]}`;
}
