/**
 * FTP URLs (`ftp://[user[:password]@]host[:port]/path`, IPv6 literals in
 * brackets) and where the credentials come from when the URL has none:
 * `--user`, `FERRY_PASSWORD`, `~/.netrc`, a hidden prompt on a TTY, or
 * anonymous.
 *
 * @module
 */

import { ClientError, ExitCode } from "./errors.ts";

/** A parsed FTP URL. */
export interface FtpUrl {
  /** The host name or address, without brackets. */
  host: string;
  port: number;
  /** The user from the URL, decoded. */
  user?: string;
  /** The password from the URL, decoded. */
  password?: string;
  /** The path, decoded, always starting with "/" ("/" if none was given). */
  path: string;
  /** True if the URL's path ended with "/" (names a directory). */
  directory: boolean;
  /** "ftp" or "ftps" (implicit TLS). */
  scheme: "ftp" | "ftps";
}

/**
 * Parses an FTP URL. Percent-escapes in the user, password and path are
 * decoded; a path that is relative to the login directory in RFC 1738 is
 * taken as absolute, as curl and lftp do.
 *
 * @example
 * ```ts
 * parseFtpUrl("ftp://bob:pw@[::1]:2121/dir/a%20b.txt");
 * // { host: "::1", port: 2121, user: "bob", password: "pw", path: "/dir/a b.txt", directory: false, scheme: "ftp" }
 * ```
 */
export function parseFtpUrl(text: string): FtpUrl {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ClientError(`Invalid URL "${text}"`, ExitCode.Usage);
  }
  const scheme = url.protocol.slice(0, -1);
  if (scheme !== "ftp" && scheme !== "ftps") {
    throw new ClientError(
      `Unsupported URL scheme "${scheme}:" (use ftp:// or ftps://)`,
      ExitCode.Usage,
    );
  }
  if (url.hostname === "") throw new ClientError(`URL "${text}" has no host`, ExitCode.Usage);
  const decode = (value: string) => {
    try {
      return decodeURIComponent(value);
    } catch {
      throw new ClientError(`Invalid percent-escape in URL "${text}"`, ExitCode.Usage);
    }
  };
  const rawPath = url.pathname === "" ? "/" : url.pathname;
  // Strip curl's ";type=a" suffix convention if present.
  const path = decode(rawPath.replace(/;type=[aid]$/i, ""));
  if (/[\r\n\0]/.test(path)) {
    throw new ClientError("URL path contains CR, LF or NUL", ExitCode.Usage);
  }
  const parsed: FtpUrl = {
    host: url.hostname.replace(/^\[(.*)\]$/, "$1"),
    port: url.port === "" ? (scheme === "ftps" ? 990 : 21) : Number(url.port),
    path: path.startsWith("/") ? path : `/${path}`,
    directory: path.endsWith("/"),
    scheme,
  };
  if (url.username !== "") parsed.user = decode(url.username);
  if (url.password !== "") parsed.password = decode(url.password);
  return parsed;
}

/** One machine entry of a `.netrc` file. */
export interface NetrcEntry {
  login?: string;
  password?: string;
}

/**
 * Parses `.netrc` text (the format ftp, curl and lftp share): `machine`,
 * `default`, `login`, `password`, `account` and `macdef` tokens.
 *
 * @example
 * ```ts
 * parseNetrc("machine h login u password p").get("h"); // { login: "u", password: "p" }
 * ```
 */
export function parseNetrc(text: string): Map<string, NetrcEntry> {
  const tokens = text.split(/\s+/).filter(Boolean);
  const machines = new Map<string, NetrcEntry>();
  let current: NetrcEntry | undefined;
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    switch (token) {
      case "machine": {
        current = {};
        machines.set(tokens[++i] ?? "", current);
        break;
      }
      case "default":
        current = {};
        machines.set("", current);
        break;
      case "login":
        if (current) current.login = tokens[++i] ?? "";
        break;
      case "password":
        if (current) current.password = tokens[++i] ?? "";
        break;
      case "account":
        i++;
        break;
      case "macdef": {
        // A macro runs to the next blank line; skipping its tokens is enough here.
        current = undefined;
        break;
      }
    }
  }
  return machines;
}

/** Where {@linkcode resolveCredentials} may look. */
export interface CredentialSources {
  /** `--user NAME` or `--user NAME:PASSWORD`. */
  userOption?: string;
  /** The process environment (FERRY_PASSWORD, HOME). */
  env?: Record<string, string | undefined>;
  /** Reads a file, or undefined if it is missing (for ~/.netrc). */
  readFile?: (path: string) => Promise<string | undefined>;
  /** Asks for a password on a TTY, or undefined when there is none. */
  prompt?: (message: string) => Promise<string | undefined>;
}

/** The user and password to log in with. */
export interface Credentials {
  user: string;
  password: string;
}

/**
 * Decides the login for a URL, in order: the URL's own user and password,
 * `--user`, `FERRY_PASSWORD` for the password, the `~/.netrc` entry for the
 * host, a hidden prompt on a TTY when a user is known but no password, and
 * finally anonymous.
 */
export async function resolveCredentials(
  url: FtpUrl,
  sources: CredentialSources = {},
): Promise<Credentials> {
  let user = url.user;
  let password = url.password;
  if (sources.userOption !== undefined) {
    const colon = sources.userOption.indexOf(":");
    user ??= colon < 0 ? sources.userOption : sources.userOption.slice(0, colon);
    if (colon >= 0) password ??= sources.userOption.slice(colon + 1);
  }
  password ??= sources.env?.FERRY_PASSWORD;
  if (user === undefined || password === undefined) {
    const home = sources.env?.HOME;
    const text = home && sources.readFile ? await sources.readFile(`${home}/.netrc`) : undefined;
    if (text !== undefined) {
      const machines = parseNetrc(text);
      const entry = machines.get(url.host) ?? machines.get("");
      if (entry && (user === undefined || entry.login === user)) {
        user ??= entry.login;
        password ??= entry.password;
      }
    }
  }
  if (user !== undefined && password === undefined && sources.prompt) {
    password = await sources.prompt(`Password for ${user}@${url.host}: `);
  }
  if (user === undefined) return { user: "anonymous", password: password ?? "anonymous@" };
  if (password === undefined) {
    throw new ClientError(
      `No password for ${user}@${url.host}: use FERRY_PASSWORD, ~/.netrc or a terminal`,
      ExitCode.Login,
    );
  }
  return { user, password };
}

/**
 * The environment variables credential resolution reads, HOME and
 * FERRY_PASSWORD (an empty one counts as unset). A variable the process may
 * not read is left out, so `--allow-env=HOME,FERRY_PASSWORD` is enough.
 */
export function credentialEnvironment(): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = {};
  for (const name of ["HOME", "FERRY_PASSWORD"]) {
    try {
      const value = Deno.env.get(name);
      if (value) env[name] = value;
    } catch {
      // not permitted: as if unset
    }
  }
  return env;
}
