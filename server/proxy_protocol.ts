/**
 * The PROXY protocol on the server side: which peers are trusted load
 * balancers, reading a header from a new connection within a bound on size
 * and time (never a byte past it, so what follows, a TLS handshake or an
 * upload, stays in the socket), and the address a session or data
 * connection then belongs to.
 *
 * @module
 */

import { InvalidSettingValue, type Kind } from "./ops/setting_kinds.ts";

import type { Socket } from "node:net";
import { type Cidr, cidrContains, CidrList, parseCidr } from "../protocol/cidr.ts";
import {
  parseProxyHeader,
  type ProxyEndpoint,
  type ProxyHeader,
  ProxyHeaderError,
} from "../protocol/proxy_header.ts";
import type { ServerConfig } from "./config.ts";

/** Reads up to `max` bytes (at least one), or null at the end of the stream. */
export type ExactReader = (max: number) => Promise<Uint8Array | null>;

/** Why a PROXY header could not be read: malformed, cut short, too slow. */
export class ProxyReadError extends Error {
  /** Creates the error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ProxyReadError";
  }
}

/**
 * Reads one PROXY header, asking `read` for no more than the header still
 * needs; rejects with {@linkcode ProxyReadError} if it is malformed, the
 * stream ends first, or it takes longer than `timeoutMs`.
 *
 * @example
 * ```ts ignore
 * const header = await readProxyHeader(connReader(conn), 5000);
 * ```
 */
export async function readProxyHeader(read: ExactReader, timeoutMs: number): Promise<ProxyHeader> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new ProxyReadError(`No complete PROXY header within ${timeoutMs} ms`)),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([readAll(read), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function readAll(read: ExactReader): Promise<ProxyHeader> {
  let bytes = new Uint8Array(0);
  for (;;) {
    let result;
    try {
      result = parseProxyHeader(bytes);
    } catch (error) {
      if (error instanceof ProxyHeaderError) throw new ProxyReadError(error.message);
      throw error;
    }
    if (result.done) return result.header;
    const chunk = await read(result.need);
    if (chunk === null || chunk.length === 0) {
      throw new ProxyReadError("Connection closed before a complete PROXY header");
    }
    const joined = new Uint8Array(bytes.length + chunk.length);
    joined.set(bytes);
    joined.set(chunk, bytes.length);
    bytes = joined;
  }
}

/** An {@linkcode ExactReader} over a `Deno.Conn` (reads into a buffer of exactly `max` bytes). */
export function connReader(conn: Deno.Conn): ExactReader {
  return async (max) => {
    const buffer = new Uint8Array(max);
    const n = await conn.read(buffer);
    return n === null ? null : buffer.subarray(0, n);
  };
}

/**
 * An {@linkcode ExactReader} over a paused `node:net` socket (paused mode:
 * `read(n)`), for the control connection and PROT P data connections. Call
 * {@linkcode SocketReader.release} after the header: the socket is left
 * paused, with no listener of its own, and whatever follows unread.
 */
export class SocketReader {
  readonly #socket: Socket;
  #ended = false;
  readonly #onEnd = () => {
    this.#ended = true;
    this.#wake?.();
  };
  #wake: (() => void) | undefined;
  readonly #onReadable = () => this.#wake?.();

  /** Starts reading `socket` in paused mode. */
  constructor(socket: Socket) {
    this.#socket = socket;
    socket.on("readable", this.#onReadable);
    socket.on("end", this.#onEnd);
    socket.on("close", this.#onEnd);
    socket.on("error", this.#onEnd);
  }

  /** Reads up to `max` bytes: as many as are buffered, at least one. */
  readonly read: ExactReader = (max) =>
    new Promise((resolve) => {
      const attempt = () => {
        const available = this.#socket.readableLength;
        const chunk = available > 0
          ? this.#socket.read(Math.min(max, available)) as Uint8Array | null
          : null;
        if (chunk !== null) {
          this.#wake = undefined;
          resolve(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
        } else if (this.#ended || this.#socket.destroyed) {
          this.#wake = undefined;
          resolve(null);
        } else {
          this.#wake = attempt;
          if (available === 0) this.#socket.read(0); // ask the stream to fill its buffer
        }
      };
      attempt();
    });

  /** Stops reading; the socket goes back to the caller, paused. */
  release(): void {
    this.#wake = undefined;
    this.#socket.off("readable", this.#onReadable);
    this.#socket.off("end", this.#onEnd);
    this.#socket.off("close", this.#onEnd);
    this.#socket.off("error", this.#onEnd);
    this.#socket.pause();
  }
}

/** One `--pasv-address-for` rule: clients in `network` are told `address` in PASV replies. */
export interface PasvAddressRule {
  /** The client network, CIDR text. */
  network: string;
  /** The IPv4 address to announce to those clients. */
  address: string;
}

/**
 * The PROXY protocol settings in force, parsed once at start-up from the
 * server config.
 */
export class ProxyPolicy {
  /** Peers that must begin every connection with a PROXY header. */
  readonly trusted: CidrList;
  /** Refuse control connections from anyone else. */
  readonly required: boolean;
  /** The bound on the time a header may take to arrive, in milliseconds. */
  readonly timeoutMs: number;
  /** True when `--proxy-protocol` is on. */
  readonly enabled: boolean;

  /** Builds the policy; use {@linkcode ProxyPolicy.fromConfig}. */
  constructor(
    options: { trusted: CidrList; required: boolean; timeoutMs: number; enabled: boolean },
  ) {
    this.trusted = options.trusted;
    this.required = options.required;
    this.timeoutMs = options.timeoutMs;
    this.enabled = options.enabled;
  }

  /**
   * Reads the policy from the config.
   *
   * @throws {SyntaxError} If a trusted network does not parse.
   */
  static fromConfig(config: ServerConfig): ProxyPolicy {
    return new ProxyPolicy({
      trusted: CidrList.parse(config.proxyTrusted ?? []),
      required: config.proxyProtocol === "required",
      timeoutMs: config.proxyHeaderTimeoutMs ?? 5000,
      enabled: config.proxyProtocol !== undefined,
    });
  }

  /** True if a connection from `address` must start with a PROXY header. */
  expectsHeader(address: string): boolean {
    return this.enabled && this.trusted.has(address);
  }
}

/** Who a connection is for, once its PROXY header (if any) was read. */
export interface ConnectionOrigin {
  /** The client: from the header, or the connection's own peer. */
  client: ProxyEndpoint;
  /** The balancer the connection came through, when it did. */
  via?: ProxyEndpoint;
  /** The address the client connected to (the balancer's frontend), from the header. */
  destination?: ProxyEndpoint;
}

/**
 * The peer of an accepted `node:net` socket, read once when it is accepted,
 * or undefined when there is none to read: a connection reset before the
 * server looked at it (a client that gave up, passed on by its balancer as a
 * reset) has no address left to ask the kernel for. Such a connection has
 * no one to serve, trust or log; the caller drops it.
 */
export function socketPeer(socket: Socket): ProxyEndpoint | undefined {
  const address = socket.remoteAddress;
  const port = socket.remotePort;
  return address && port !== undefined ? { address, port } : undefined;
}

/**
 * The origin of a connection from `peer` that sent `header`: the header's
 * source for a PROXY header, the peer itself for LOCAL/UNKNOWN.
 */
export function originFrom(peer: ProxyEndpoint, header: ProxyHeader | undefined): ConnectionOrigin {
  if (!header || header.command === "local" || !header.source) return { client: peer };
  return {
    client: header.source,
    via: peer,
    ...(header.destination ? { destination: header.destination } : {}),
  };
}

/**
 * Checks a passive data connection from `peer`: a trusted balancer must
 * send a PROXY header naming the session's client; anyone else must be the
 * client itself. Returns why it is refused, or undefined to accept it.
 */
export async function checkDataPeer(
  peer: string,
  isClient: (address: string) => boolean,
  policy: ProxyPolicy | undefined,
  read: () => ExactReader,
): Promise<string | undefined> {
  if (policy?.expectsHeader(peer)) {
    let header: ProxyHeader;
    try {
      header = await readProxyHeader(read(), policy.timeoutMs);
    } catch (error) {
      return (error as Error).message;
    }
    if (header.command !== "proxy" || !header.source) return "PROXY header names no client";
    return isClient(header.source.address)
      ? undefined
      : `PROXY header names ${header.source.address}, not the session's client`;
  }
  return isClient(peer) ? undefined : `${peer} is not the session's client`;
}

/**
 * Parses a `--pasv-address-for NETWORK=ADDRESS` value.
 *
 * @example
 * ```ts
 * parsePasvAddressFor("10.0.0.0/8=10.1.2.3"); // { network: "10.0.0.0/8", address: "10.1.2.3" }
 * ```
 * @throws {RangeError} If it is not a network, "=", and an IPv4 address.
 */
export function parsePasvAddressFor(text: string): PasvAddressRule {
  const at = text.lastIndexOf("=");
  const networkText = at < 0 ? "" : text.slice(0, at).trim();
  const address = at < 0 ? "" : text.slice(at + 1).trim();
  let network: Cidr;
  try {
    network = parseCidr(networkText);
  } catch {
    throw new RangeError(`Invalid --pasv-address-for "${text}", expected NETWORK=IPV4`);
  }
  if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(address) || address.split(".").some((p) => Number(p) > 255)) {
    throw new RangeError(`Invalid --pasv-address-for "${text}": "${address}" is not IPv4`);
  }
  return { network: network.text, address };
}

/** Picks the PASV address for a client from `--pasv-address-for` rules (first match wins). */
export class PasvAddressMap {
  readonly #rules: { network: Cidr; address: string }[];

  /** Parses the rules. */
  constructor(rules: readonly PasvAddressRule[]) {
    this.#rules = rules.map((rule) => ({
      network: parseCidr(rule.network),
      address: rule.address,
    }));
  }

  /** The address to announce to `client`, or undefined when no rule matches. */
  addressFor(client: string): string | undefined {
    for (const rule of this.#rules) {
      if (cidrContains(rule.network, client)) return rule.address;
    }
    return undefined;
  }
}

/**
 * The kind of the `pasv_address_for` setting: `NETWORK=IPV4` rules (a
 * repeatable flag), or a TOML table `{ "10.0.0.0/8" = "10.1.2.3" }`.
 *
 * @example
 * ```ts
 * pasvAddressRules().fromText("10.0.0.0/8=10.1.2.3"); // [{ network: "10.0.0.0/8", address: "10.1.2.3" }]
 * ```
 */
export function pasvAddressRules(): Kind<PasvAddressRule[]> {
  const expected = "NETWORK=IPV4 rules, e.g. 10.0.0.0/8=10.1.2.3";
  const rule = (text: string): PasvAddressRule => {
    try {
      return parsePasvAddressFor(text);
    } catch {
      throw new InvalidSettingValue(expected);
    }
  };
  return {
    expected,
    argName: "<network=ipv4>",
    repeatable: true,
    fromText: (text) => [rule(text)],
    fromToml: (value) => {
      if (Array.isArray(value)) return value.map((item) => rule(String(item)));
      if (value !== null && typeof value === "object") {
        return Object.entries(value).map(([network, address]) => rule(`${network}=${address}`));
      }
      throw new InvalidSettingValue(expected);
    },
    toToml: (rules) => Object.fromEntries(rules.map((r) => [r.network, r.address])),
  };
}
