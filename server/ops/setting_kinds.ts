/**
 * The value kinds of the settings table: how a setting's value is read from
 * a flag or environment text and from a TOML value, what a bad value is told
 * it should have been, and how the value is written back as TOML.
 *
 * A kind throws {@linkcode InvalidSettingValue} for a bad value; the caller
 * adds where the value came from (file, environment variable or flag) and
 * the key.
 *
 * @module
 */

import { isIP, isIPv4 } from "node:net";
import { parseCidr } from "../../protocol/cidr.ts";
import { formatSize, parseSize } from "../../protocol/size.ts";

/** A TOML value as ferry writes it: scalars, arrays and inline tables. */
export type TomlValue = string | number | boolean | TomlValue[] | { [key: string]: TomlValue };

/** Thrown by a kind for a value it does not accept; `expected` says what it wants. */
export class InvalidSettingValue extends Error {
  /** What the value should have been, e.g. "an integer 1-65535". */
  readonly expected: string;

  /** Creates the error. */
  constructor(expected: string) {
    super(`Expected ${expected}`);
    this.name = "InvalidSettingValue";
    this.expected = expected;
  }
}

/** How one kind of value is read and written. */
export interface Kind<T> {
  /** What a value must look like, for error messages ("an integer 1-65535"). */
  readonly expected: string;
  /** The commander argument placeholder (`<port>`); undefined for a flag without argument. */
  readonly argName: string | undefined;
  /** True when a flag may be given several times, each adding a value. */
  readonly repeatable?: boolean;
  /** Reads a flag's or an environment variable's text. */
  fromText(text: string): T;
  /** Reads a value from the TOML file. */
  fromToml(value: unknown): T;
  /** The value as TOML, for `--print-config` and the example file. */
  toToml(value: T): TomlValue;
  /** The value with its secret parts hidden, for `--print-config`; the whole value when absent. */
  redact?(value: T): T;
}

function fail(expected: string): never {
  throw new InvalidSettingValue(expected);
}

/**
 * A whole number within `min`–`max`.
 *
 * @example
 * ```ts
 * integer(0, 65535).fromText("2121"); // 2121
 * ```
 */
export function integer(
  min: number,
  max: number,
  argName = "<n>",
  expected = `an integer ${min}-${max}`,
): Kind<number> {
  const check = (value: number) =>
    Number.isSafeInteger(value) && value >= min && value <= max ? value : fail(expected);
  return {
    expected,
    argName,
    fromText: (text) => /^\d+$/.test(text.trim()) ? check(Number(text.trim())) : fail(expected),
    fromToml: (value) => typeof value === "number" ? check(value) : fail(expected),
    toToml: (value) => value,
  };
}

/**
 * A duration in whole seconds within `min`–`max` (the value is in seconds).
 *
 * @example
 * ```ts
 * seconds(1, 86400).fromText("300"); // 300
 * ```
 */
export function seconds(min: number, max: number): Kind<number> {
  return integer(min, max, "<seconds>", `a number of seconds ${min}-${max}`);
}

/**
 * A size in bytes, written as a whole number with an optional K, M, G or T
 * suffix (powers of 1024): `512`, `64K`, `10G` (see `protocol/size.ts`).
 *
 * @example
 * ```ts
 * size().fromText("64K"); // 65536
 * ```
 */
export function size(max: number = Number.MAX_SAFE_INTEGER): Kind<number> {
  const expected = "a size in bytes, optionally with K, M, G or T (e.g. 64K, 10G)";
  const parse = (text: string) => {
    const bytes = parseSize(text);
    return bytes !== undefined && bytes <= max ? bytes : fail(expected);
  };
  return {
    expected,
    argName: "<size>",
    fromText: parse,
    fromToml: (value) =>
      typeof value === "string"
        ? parse(value)
        : typeof value === "number"
        ? parse(String(value))
        : fail(expected),
    toToml: (value) => {
      const text = formatSize(value);
      return text === String(value) ? value : text;
    },
  };
}

/**
 * On or off. A flag turns it on (or off, for a `--no-` flag); the
 * environment takes true/false, 1/0, yes/no, on/off.
 *
 * @example
 * ```ts
 * boolean().fromText("yes"); // true
 * ```
 */
export function boolean(): Kind<boolean> {
  const expected = "true or false";
  return {
    expected,
    argName: undefined,
    fromText: (text) => {
      const word = text.trim().toLowerCase();
      if (["true", "1", "yes", "on"].includes(word)) return true;
      if (["false", "0", "no", "off"].includes(word)) return false;
      return fail(expected);
    },
    fromToml: (value) => typeof value === "boolean" ? value : fail(expected),
    toToml: (value) => value,
  };
}

/**
 * A text, optionally checked by `check` (which returns false for a bad one).
 *
 * @example
 * ```ts
 * text("a path", "<file>").fromText("./srv"); // "./srv"
 * ```
 */
export function text(
  expected = "a non-empty string",
  argName = "<text>",
  check: (value: string) => boolean = (value) => value.length > 0,
): Kind<string> {
  const parse = (value: string) => check(value) ? value : fail(expected);
  return {
    expected,
    argName,
    fromText: parse,
    fromToml: (value) => typeof value === "string" ? parse(value) : fail(expected),
    toToml: (value) => value,
  };
}

/**
 * A file or directory path.
 *
 * @example
 * ```ts
 * path("<dir>").fromText("./srv"); // "./srv"
 * ```
 */
export function path(argName = "<file>"): Kind<string> {
  return text("a path", argName, (value) => value.length > 0 && !value.includes("\0"));
}

/**
 * One of a fixed set of words.
 *
 * @example
 * ```ts
 * choice(["text", "json"]).fromText("json"); // "json"
 * ```
 */
export function choice<const T extends string>(words: readonly T[]): Kind<T> {
  const expected = `one of ${words.join(", ")}`;
  return text(
    expected,
    `<${words.join("|")}>`,
    (value) => (words as readonly string[]).includes(value),
  ) as Kind<T>;
}

/**
 * A port range `LOW-HIGH` within 1-65535, as a pair.
 *
 * @example
 * ```ts
 * portRange().fromText("50000-50999"); // [50000, 50999]
 * ```
 */
export function portRange(): Kind<[number, number]> {
  const expected = 'a port range "LOW-HIGH" within 1-65535';
  const parse = (value: string): [number, number] => {
    const match = /^(\d{1,5})-(\d{1,5})$/.exec(value.trim());
    const low = Number(match?.[1]);
    const high = Number(match?.[2]);
    return match && low >= 1 && high <= 65535 && low <= high ? [low, high] : fail(expected);
  };
  return {
    expected,
    argName: "<low-high>",
    fromText: parse,
    fromToml: (value) => typeof value === "string" ? parse(value) : fail(expected),
    toToml: ([low, high]) => `${low}-${high}`,
  };
}

/**
 * An IPv4 address.
 *
 * @example
 * ```ts
 * ipv4().fromText("203.0.113.5"); // "203.0.113.5"
 * ```
 */
export function ipv4(): Kind<string> {
  return text("an IPv4 address", "<ipv4>", (value) => isIPv4(value));
}

/**
 * An IP address (v4 or v6).
 *
 * @example
 * ```ts
 * ipAddress().fromText("::1"); // "::1"
 * ```
 */
export function ipAddress(): Kind<string> {
  return text("an IP address", "<addr>", (value) => isIP(value) !== 0);
}

/**
 * A network in CIDR notation (`10.0.0.0/8`, `::1/128`); a bare address
 * means that one address.
 *
 * @example
 * ```ts
 * cidr().fromText("127.0.0.1"); // "127.0.0.1/32"
 * ```
 */
export function cidr(): Kind<string> {
  const expected = "an address or network in CIDR notation, host bits clear (e.g. 10.0.0.0/8)";
  const parse = (value: string) => {
    try {
      return parseCidr(value).text;
    } catch {
      return fail(expected);
    }
  };
  return {
    expected,
    argName: "<cidr>",
    fromText: parse,
    fromToml: (value) => typeof value === "string" ? parse(value) : fail(expected),
    toToml: (value) => value,
  };
}

/**
 * `HOST:PORT` (IPv6 hosts in brackets: `[::1]:9100`), as a pair.
 *
 * @example
 * ```ts
 * hostPort().fromText("127.0.0.1:9100"); // { host: "127.0.0.1", port: 9100 }
 * ```
 */
export function hostPort(): Kind<{ host: string; port: number }> {
  const expected = 'an address "HOST:PORT" (IPv6 as "[::1]:PORT")';
  const parse = (value: string) => {
    const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\[\]]+)):(\d{1,5})$/.exec(value.trim());
    const host = match?.[1] ?? match?.[2];
    const port = Number(match?.[3]);
    if (!host || port > 65535 || (match?.[1] !== undefined && isIP(host) !== 6)) {
      return fail(expected);
    }
    return { host, port };
  };
  return {
    expected,
    argName: "<addr:port>",
    fromText: parse,
    fromToml: (value) => typeof value === "string" ? parse(value) : fail(expected),
    toToml: ({ host, port }) => `${host.includes(":") ? `[${host}]` : host}:${port}`,
  };
}

/**
 * A URL (e.g. `postgres://user:secret@db/ferry`); its password is hidden by
 * `--print-config`.
 *
 * @example
 * ```ts
 * url(["postgres:"]).redact!("postgres://u:pw@db/x"); // "postgres://u:***@db/x"
 * ```
 */
export function url(protocols: readonly string[]): Kind<string> {
  const expected = `a URL (${protocols.map((protocol) => `${protocol}//…`).join(", ")})`;
  const parse = (value: string) => {
    try {
      return protocols.includes(new URL(value).protocol) ? value : fail(expected);
    } catch {
      return fail(expected);
    }
  };
  return {
    expected,
    argName: "<url>",
    fromText: parse,
    fromToml: (value) => typeof value === "string" ? parse(value) : fail(expected),
    toToml: (value) => value,
    redact: (value) => {
      const parsed = new URL(value);
      if (parsed.password === "") return value;
      parsed.password = "***";
      return parsed.href;
    },
  };
}

/**
 * A list of `item` values: a repeatable flag, a comma-separated environment
 * value, and a TOML array (or a single value).
 *
 * @example
 * ```ts
 * list(ipAddress()).fromText("127.0.0.1,::1"); // ["127.0.0.1", "::1"]
 * ```
 */
export function list<T>(item: Kind<T>, min = 0): Kind<T[]> {
  const what = `${item.expected.replace(/^an? /, "")} values`;
  const expected = min > 0 ? `a list of at least ${min} ${what}` : `a list of ${what}`;
  const each = <V>(values: V[], read: (value: V) => T) => {
    if (values.length < min) return fail(expected);
    try {
      return values.map(read);
    } catch (error) {
      if (error instanceof InvalidSettingValue) return fail(`${expected} (${error.expected})`);
      throw error;
    }
  };
  return {
    expected,
    argName: item.argName,
    repeatable: true,
    fromText: (value) =>
      each(
        value.split(",").map((part) => part.trim()).filter((part) => part !== ""),
        item.fromText,
      ),
    fromToml: (value) =>
      Array.isArray(value) ? each(value, item.fromToml) : each([value], item.fromToml),
    toToml: (values) => values.map((value) => item.toToml(value)),
  };
}

/**
 * Named values: `name=value` pairs (a repeatable flag, a comma-separated
 * environment value) or a TOML table.
 *
 * @example
 * ```ts
 * map(integer(0, 100)).fromText("a=1,b=2"); // { a: 1, b: 2 }
 * ```
 */
export function map<T>(item: Kind<T>): Kind<Record<string, T>> {
  const expected = `name=value pairs with ${item.expected} values`;
  const entries = (pairs: [string, unknown][], read: (value: never) => T) => {
    const result: Record<string, T> = {};
    for (const [name, value] of pairs) {
      if (name === "") return fail(expected);
      try {
        result[name] = read(value as never);
      } catch (error) {
        if (error instanceof InvalidSettingValue) {
          return fail(`${expected} (${name}: ${error.expected})`);
        }
        throw error;
      }
    }
    return result;
  };
  return {
    expected,
    argName: "<name=value>",
    repeatable: true,
    fromText: (value) =>
      entries(
        value.split(",").filter((part) => part.trim() !== "").map((part) => {
          const at = part.indexOf("=");
          return at < 0 ? fail(expected) : [part.slice(0, at).trim(), part.slice(at + 1).trim()];
        }),
        item.fromText,
      ),
    fromToml: (value) =>
      typeof value === "object" && value !== null && !Array.isArray(value)
        ? entries(Object.entries(value), item.fromToml)
        : fail(expected),
    toToml: (value) =>
      Object.fromEntries(Object.entries(value).map(([name, item_]) => [name, item.toToml(item_)])),
  };
}
