/**
 * Which addresses count as loopback for `ferry client ui --listen`.
 *
 * @module
 */

import { isIP } from "node:net";

/**
 * True for 127.0.0.0/8 and ::1.
 *
 * @example
 * ```ts
 * isLoopbackAddress("127.0.0.1"); // true
 * isLoopbackAddress("0.0.0.0"); // false
 * ```
 */
export function isLoopbackAddress(hostname: string): boolean {
  if (isIP(hostname) === 4) return hostname.split(".")[0] === "127";
  if (isIP(hostname) === 6) return /^(0{0,4}:){2,7}0{0,3}1$|^::1$/.test(hostname.toLowerCase());
  return false;
}
