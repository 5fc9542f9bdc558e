/**
 * The credentials file format: one user a line, `name:hash:home:permissions`,
 * optionally followed by indented `key = value` lines with that user's
 * settings; `#` starts a comment line. Files written by earlier versions
 * (without settings) read unchanged.
 *
 * ```
 * alice:scrypt$16384$8$1$<salt>$<key>:/alice:elradfmw
 *     quota_size = 10G
 *     allow_from = 10.0.0.0/8, 2001:db8::/32
 * ```
 *
 * @module
 */

import { checkUser, type UserRecord } from "./user_record.ts";
import { formatUserSettings, parseUserSetting, type UserSettings } from "./user_settings.ts";

/**
 * Parses a credentials file. Each user line is `name:hash:home:permissions`
 * (the home may itself contain ":"; the permissions are the last field).
 * Lines that start with a space or a tab right after a user are that user's
 * settings, `key = value` (see `USER_SETTING_KEYS`). Blank lines and lines
 * starting with "#" are ignored.
 *
 * @param text The file's content.
 * @returns The users, in file order, normalized.
 * @throws {SyntaxError} "Cannot parse credentials line N: ..." on a bad line,
 * setting or a duplicate name.
 *
 * @example
 * ```ts
 * parseCredentials("# no users yet\n"); // []
 * ```
 */
export function parseCredentials(text: string): UserRecord[] {
  const users: UserRecord[] = [];
  const seen = new Set<string>();
  let current: { user: UserRecord; line: number; settings: UserSettings } | undefined;
  const finish = () => {
    if (current === undefined) return;
    const { user, line, settings } = current;
    const record = Object.keys(settings).length > 0 ? { ...user, settings } : user;
    users.push(_checked(record, line));
    current = undefined;
  };
  for (const [index, rawLine] of text.split("\n").entries()) {
    const line = rawLine.endsWith("\r") ? rawLine.slice(0, -1) : rawLine;
    const trimmed = line.trim();
    if (trimmed === "" || trimmed.startsWith("#")) continue;
    const fail = (reason: string): never => {
      throw new SyntaxError(`Cannot parse credentials line ${index + 1}: ${reason}`);
    };
    if (line.startsWith(" ") || line.startsWith("\t")) {
      if (current === undefined) fail("an indented setting must follow a user line");
      const equals = trimmed.indexOf("=");
      if (equals < 0) fail(`expected key = value, got "${trimmed}"`);
      try {
        current!.settings = parseUserSetting(
          current!.settings,
          trimmed.slice(0, equals).trim(),
          trimmed.slice(equals + 1).trim(),
        );
      } catch (error) {
        fail(error instanceof Error ? _lowerFirst(error.message) : String(error));
      }
      continue;
    }
    finish();
    const fields = line.split(":");
    if (fields.length < 4) {
      fail(`expected name:hash:home:permissions, got ${fields.length} fields`);
    }
    const user: UserRecord = {
      name: fields[0] ?? "",
      passwordHash: fields[1] ?? "",
      home: fields.slice(2, -1).join(":"),
      permissions: fields[fields.length - 1] ?? "",
    };
    _checked(user, index + 1);
    if (seen.has(user.name)) fail(`duplicate user "${user.name}"`);
    seen.add(user.name);
    current = { user, line: index + 1, settings: {} };
  }
  finish();
  return users;
}

function _checked(user: UserRecord, line: number): UserRecord {
  try {
    return checkUser(user);
  } catch (error) {
    throw new SyntaxError(
      `Cannot parse credentials line ${line}: ${
        error instanceof Error ? _lowerFirst(error.message) : String(error)
      }`,
    );
  }
}

function _lowerFirst(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1);
}

/** The comment written at the top of a new credentials file. */
const _DEFAULT_HEADER = [
  "ferry credentials file, one user per line:",
  "  name:hash:home:permissions",
  "hash        scrypt$N$r$p$saltBase64$keyBase64 (make it with `ferry user add` or `ferry user passwd`)",
  'home        virtual directory the user starts in, relative to the served root ("/" = all of it)',
  "permissions pyftpdlib letters: e=CWD l=list r=RETR a=APPE d=DELE/RMD f=rename m=MKD",
  "            w=STOR/STOU M=SITE CHMOD T=MFMT (elr = read-only)",
  "Optional settings follow a user on indented `key = value` lines (absent = unlimited):",
  "  quota_size, upload_rate, download_rate (bytes, K/M/G/T = 1024^n), quota_files,",
  "  max_sessions (counts), allow_from, deny_from (CIDR blocks separated by commas)",
  "Lines starting with # are comments.",
].join("\n");

/**
 * Writes users in the format read by {@linkcode parseCredentials}, after a
 * comment header; each user's settings follow it on indented lines.
 *
 * @param users The users to write.
 * @param header Plain text put before the users, each line prefixed with "# ";
 * "" for no header. Defaults to a short description of the format.
 * @returns The file content, ending with a newline.
 * @throws {RangeError} If a record is invalid or two records share a name.
 *
 * @example
 * ```ts
 * formatCredentials([], ""); // ""
 * ```
 */
export function formatCredentials(
  users: readonly UserRecord[],
  header: string = _DEFAULT_HEADER,
): string {
  const seen = new Set<string>();
  const lines = header === ""
    ? []
    : header.replace(/\n$/, "").split("\n").map((line) => line === "" ? "#" : `# ${line}`);
  for (const record of users) {
    const user = checkUser(record);
    if (seen.has(user.name)) throw new RangeError(`Duplicate user "${user.name}"`);
    seen.add(user.name);
    lines.push(`${user.name}:${user.passwordHash}:${user.home}:${user.permissions}`);
    for (const [key, value] of formatUserSettings(user.settings ?? {})) {
      lines.push(`    ${key} = ${value}`);
    }
  }
  return lines.length === 0 ? "" : `${lines.join("\n")}\n`;
}

/**
 * The plain text of the comment lines at the top of a credentials file, so a
 * rewrite keeps them.
 *
 * @param text The file's content.
 * @returns The comment without its "# " prefixes, or undefined if there is none.
 *
 * @example
 * ```ts
 * credentialsHeader("# mine\nalice:…"); // "mine"
 * ```
 */
export function credentialsHeader(text: string): string | undefined {
  const comment: string[] = [];
  for (const line of text.replace(/\r/g, "").split("\n")) {
    if (!line.startsWith("#")) break;
    comment.push(line.replace(/^# ?/, ""));
  }
  return comment.length === 0 ? undefined : comment.join("\n");
}
