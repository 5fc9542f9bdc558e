/**
 * The one peer check for data connections, clear and TLS, passive and
 * active: a data connection is accepted from, or made to, only the address
 * of the control connection's peer (against port stealing and FTP bounce).
 *
 * @module
 */

import { comparableAddress } from "../../protocol/address.ts";

/**
 * The control connection's peer address, compared in one normalized form
 * (IPv4-mapped IPv6 and IPv4 are the same host).
 *
 * @example
 * ```ts
 * const peer = new ControlPeer("::ffff:127.0.0.1");
 * peer.matches("127.0.0.1"); // true
 * peer.matches("127.0.0.2"); // false
 * ```
 */
export class ControlPeer {
  /** The address as the control socket gave it. */
  readonly raw: string;
  /** The address in compared form. */
  readonly comparable: string;

  /** @param address The control connection's remote address. */
  constructor(address: string) {
    this.raw = address;
    this.comparable = comparableAddress(address);
  }

  /**
   * Tells whether an address is the control connection's peer. The same
   * string as the control socket's is a match without normalizing.
   *
   * @param address A data connection's remote address, or a PORT/EPRT target.
   * @returns True for the same host.
   */
  matches(address: string): boolean {
    return address === this.raw || comparableAddress(address) === this.comparable;
  }
}
