/**
 * Directory listings: Unix `ls -l` lines for LIST (format and parse, plus the
 * MS-DOS/IIS format for parsing), and the MLSD/MLST facts of RFC 3659. Pure
 * functions, no I/O.
 *
 * @module
 */

/** The kind of a directory entry. */
export type EntryType = "file" | "dir" | "link" | "other";

/** One directory entry, as listed by LIST or MLSD. */
export interface ListingEntry {
  /** The entry's name, without a directory part. */
  name: string;
  /** The kind of entry. */
  type: EntryType;
  /** The size in bytes (0 when unknown). */
  size: number;
  /** The modification time. */
  mtime: Date;
  /** Permission bits, 0o7777. */
  mode?: number;
  /** The number of hard links. */
  nlink?: number;
  /** The owner's name. */
  owner?: string;
  /** The group's name. */
  group?: string;
  /** The target of a symbolic link, shown by `ls -l` as "name -> target". */
  target?: string;
}

const _MONTHS = [
  "Jan",
  "Feb",
  "Mar",
  "Apr",
  "May",
  "Jun",
  "Jul",
  "Aug",
  "Sep",
  "Oct",
  "Nov",
  "Dec",
] as const;
const _DAY_MS = 86_400_000;
const _RECENT_MS = 180 * _DAY_MS;

function _pad(value: number, width = 2): string {
  return String(value).padStart(width, "0");
}

function _defaultMode(type: EntryType): number {
  if (type === "dir") return 0o755;
  if (type === "link") return 0o777;
  return 0o644;
}

function _modeString(mode: number): string {
  const triple = (bits: number, special: boolean, lower: string, upper: string): string =>
    (bits & 4 ? "r" : "-") + (bits & 2 ? "w" : "-") +
    (special ? (bits & 1 ? lower : upper) : bits & 1 ? "x" : "-");
  return triple(mode >> 6, (mode & 0o4000) !== 0, "s", "S") +
    triple(mode >> 3, (mode & 0o2000) !== 0, "s", "S") +
    triple(mode, (mode & 0o1000) !== 0, "t", "T");
}

function _parseMode(text: string): number {
  let mode = 0;
  for (let i = 0; i < 9; i++) {
    const char = text[i];
    const bit = 1 << (8 - i);
    if (char === "r" || char === "w" || char === "x" || char === "s" || char === "t") mode |= bit;
    if (char === "s" || char === "S") mode |= i < 3 ? 0o4000 : 0o2000;
    if (char === "t" || char === "T") mode |= 0o1000;
  }
  return mode;
}

/**
 * Formats an entry like `ls -l`: type and permissions, links, owner, group,
 * size, date (the year instead of the time when the entry is older than 180
 * days or more than a day in the future; UTC, English month names) and name.
 * Returns the line without CRLF.
 *
 * @example Usage
 * ```ts
 * import { formatListLine } from "./listing.ts";
 * formatListLine(
 *   { name: "a b.txt", type: "file", size: 1234, mtime: new Date("2026-11-26T10:15:00Z") },
 *   new Date("2026-12-01T00:00:00Z"),
 * ); // "-rw-r--r-- 1 ftp ftp         1234 Nov 26 10:15 a b.txt"
 * ```
 * @param entry The entry to format.
 * @param now The current time, to choose between time and year. @default {new Date()}
 */
export function formatListLine(entry: ListingEntry, now: Date = new Date()): string {
  const type = entry.type;
  const typeChar = type === "dir" ? "d" : type === "link" ? "l" : type === "file" ? "-" : "?";
  const mode = (entry.mode ?? _defaultMode(type)) & 0o7777;
  const ms = entry.mtime.getTime();
  const age = now.getTime() - ms;
  const recent = age <= _RECENT_MS && age >= -_DAY_MS;
  const name = type === "link" && entry.target !== undefined
    ? `${entry.name} -> ${entry.target}`
    : entry.name;
  const size = String(entry.size);
  return typeChar + (_modeStrings[mode] ??= _modeString(mode)) + " " + (entry.nlink ?? 1) + " " +
    (entry.owner ?? "ftp") + " " + (entry.group ?? "ftp") + " " +
    (size.length < 12 ? _SPACES[12 - size.length] + size : size) + " " +
    _listDate(entry.mtime, ms, recent) + " " + name;
}

/** `ls -l` permission strings by mode (0o7777), filled as they are first needed. */
const _modeStrings: string[] = [];
/** Runs of 0-11 spaces, to right-align sizes in 12 columns. */
const _SPACES = Array.from({ length: 12 }, (_, n) => " ".repeat(n));

/**
 * The date column of an `ls -l` line. Entries of a large directory tend to
 * share their minute, so the last one formatted is kept: the column depends
 * only on the minute (and whether it is recent).
 */
let _lastDateMinute = NaN;
let _lastDateRecent = false;
let _lastDate = "";

function _listDate(mtime: Date, ms: number, recent: boolean): string {
  const minute = Math.floor(ms / 60_000);
  if (minute === _lastDateMinute && recent === _lastDateRecent) return _lastDate;
  const date = `${_MONTHS[mtime.getUTCMonth()]} ${String(mtime.getUTCDate()).padStart(2)} ` +
    (recent
      ? `${_pad(mtime.getUTCHours())}:${_pad(mtime.getUTCMinutes())}`
      : String(mtime.getUTCFullYear()).padStart(5));
  _lastDateMinute = minute;
  _lastDateRecent = recent;
  _lastDate = date;
  return date;
}

const _UNIX_LINE = new RegExp(
  "^([-bcdlpsDn?])([-rwxsStTlL]{9})[+.@]?\\s+(?:(.*?)\\s+)?(\\d+|\\d+,\\s*\\d+)\\s+" +
    "(?:(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\\s+(\\d{1,2})\\s+" +
    "(?:(\\d{1,2}):(\\d{2})|(\\d{4}))" +
    "|(\\d{4})-(\\d{2})-(\\d{2})\\s+(\\d{2}):(\\d{2}))\\s(.*)$",
  "i",
);
const _DOS_LINE =
  /^(\d{2})-(\d{2})-(\d{2}|\d{4})\s+(\d{1,2}):(\d{2})\s*([AP]M)?\s+(<DIR>|[\d,]+)\s+(.+)$/i;

function _utc(
  year: number,
  month: number,
  day: number,
  hours: number,
  minutes: number,
): Date | undefined {
  if (month < 0 || month > 11 || day < 1 || day > 31 || hours > 23 || minutes > 59) {
    return undefined;
  }
  const date = new Date(Date.UTC(year, month, day, hours, minutes));
  return date.getUTCDate() === day ? date : undefined;
}

function _yearlessDate(
  month: number,
  day: number,
  hours: number,
  minutes: number,
  now: Date,
): Date | undefined {
  const limit = now.getTime() + _DAY_MS;
  // Walk back from the current year: the date must exist (Feb 29) and not lie in the future.
  for (let year = now.getUTCFullYear() + 1; year >= now.getUTCFullYear() - 8; year--) {
    const date = _utc(year, month, day, hours, minutes);
    if (date !== undefined && date.getTime() <= limit) return date;
  }
  return undefined;
}

function _unixType(char: string): EntryType {
  if (char === "d" || char === "D") return "dir";
  if (char === "l") return "link";
  if (char === "-") return "file";
  return "other";
}

/**
 * Parses one line of a LIST answer: Unix `ls -l` lines from common servers
 * (vsftpd, pure-ftpd, proftpd, pyftpdlib, ferry), including names with
 * spaces, symlinks ("name -> target") and device files, and the MS-DOS/IIS
 * format. Returns `undefined` for "total N" lines and lines it cannot parse.
 * "." and ".." are parsed; skipping them is the caller's choice. A date
 * without a year is placed at most about a day after `now`.
 *
 * @example Usage
 * ```ts
 * import { parseListLine } from "./listing.ts";
 * parseListLine("drwxr-xr-x    2 1000     1000         4096 Nov 26 10:15 my dir");
 * // { name: "my dir", type: "dir", size: 4096, mtime: ..., mode: 0o755, nlink: 2, owner: "1000", group: "1000" }
 * ```
 * @param line The line, with or without CRLF.
 * @param now The current time, to choose the year of dates without one. @default {new Date()}
 */
export function parseListLine(line: string, now: Date = new Date()): ListingEntry | undefined {
  const text = line.replace(/\r?\n$/, "").replace(/\r$/, "");
  if (/^total\s+\d+/i.test(text)) return undefined;
  const unix = _UNIX_LINE.exec(text);
  if (unix !== null) return _parseUnix(unix, now);
  const dos = _DOS_LINE.exec(text);
  if (dos !== null) return _parseDos(dos);
  return undefined;
}

function _parseUnix(match: RegExpExecArray, now: Date): ListingEntry | undefined {
  const [
    ,
    typeChar = "",
    perms = "",
    middle = "",
    sizeText = "",
    monthName,
    day,
    hours,
    minutes,
    year,
    isoYear,
    isoMonth,
    isoDay,
    isoHours,
    isoMinutes,
    rawName = "",
  ] = match;
  let mtime: Date | undefined;
  if (monthName !== undefined) {
    const month = _MONTHS.findIndex((m) => m.toLowerCase() === monthName.toLowerCase());
    mtime = year !== undefined
      ? _utc(Number(year), month, Number(day), 0, 0)
      : _yearlessDate(month, Number(day), Number(hours), Number(minutes), now);
  } else {
    mtime = _utc(
      Number(isoYear),
      Number(isoMonth) - 1,
      Number(isoDay),
      Number(isoHours),
      Number(isoMinutes),
    );
  }
  if (mtime === undefined) return undefined;
  const type = _unixType(typeChar);
  const entry: ListingEntry = {
    name: rawName,
    type,
    size: sizeText.includes(",") ? 0 : Number(sizeText),
    mtime,
    mode: _parseMode(perms),
  };
  if (type === "link") {
    const arrow = rawName.indexOf(" -> ");
    if (arrow >= 0) {
      entry.name = rawName.slice(0, arrow);
      entry.target = rawName.slice(arrow + 4);
    }
  }
  const tokens = middle.split(/\s+/).filter((t) => t !== "");
  if (tokens.length > 0 && /^\d+$/.test(tokens[0]!)) entry.nlink = Number(tokens.shift());
  if (tokens.length === 1) entry.owner = tokens[0]!;
  if (tokens.length >= 2) {
    entry.group = tokens.pop()!;
    entry.owner = tokens.join(" ");
  }
  return entry;
}

function _parseDos(match: RegExpExecArray): ListingEntry | undefined {
  const [
    ,
    month = "",
    day = "",
    yearText = "",
    hourText = "",
    minutes = "",
    ampm,
    size = "",
    name = "",
  ] = match;
  let year = Number(yearText);
  if (yearText.length === 2) year += year < 70 ? 2000 : 1900;
  let hours = Number(hourText);
  if (ampm !== undefined) {
    if (hours < 1 || hours > 12) return undefined;
    hours = (hours % 12) + (ampm.toUpperCase() === "PM" ? 12 : 0);
  }
  const mtime = _utc(year, Number(month) - 1, Number(day), hours, Number(minutes));
  if (mtime === undefined) return undefined;
  const isDir = size.toUpperCase() === "<DIR>";
  return {
    name,
    type: isDir ? "dir" : "file",
    size: isDir ? 0 : Number(size.replaceAll(",", "")),
    mtime,
  };
}

/** The MLST facts the server supports, in the order they are written. */
export const MLST_FACTS: readonly string[] = Object.freeze([
  "type",
  "size",
  "modify",
  "perm",
  "unix.mode",
  "unique",
]);

/** Options for {@linkcode formatMlsxFacts}. */
export interface MlsxFactsOptions {
  /** The enabled facts, lower-case; others are left out. */
  facts: ReadonlySet<string>;
  /** The value of the perm fact, such as "adfrw"; left out when absent. */
  perm?: string;
  /** Writes "type=cdir" or "type=pdir" instead of the entry's own type. */
  typeOverride?: "cdir" | "pdir";
  /** The value of the unique fact; left out when absent. */
  unique?: string;
}

function _mlsxType(entry: ListingEntry): string {
  if (entry.type === "file" || entry.type === "dir") return entry.type;
  if (entry.type === "link") {
    return entry.target !== undefined && /^[^; \r\n]+$/.test(entry.target)
      ? `OS.unix=slink:${entry.target}`
      : "OS.unix=slink";
  }
  return "OS.unix=other";
}

/**
 * Formats an entry as an MLSD line without CRLF: the enabled facts in
 * {@linkcode MLST_FACTS} order (size only for files), one space, the name.
 * For MLST the caller prefixes a space.
 *
 * @example Usage
 * ```ts
 * import { formatMlsxFacts, MLST_FACTS } from "./listing.ts";
 * formatMlsxFacts(
 *   { name: "a.txt", type: "file", size: 10, mtime: new Date("2026-11-26T10:15:00Z") },
 *   { facts: new Set(MLST_FACTS), perm: "adfrw" },
 * ); // "type=file;size=10;modify=20261126101500;perm=adfrw;unix.mode=0644; a.txt"
 * ```
 */
export function formatMlsxFacts(entry: ListingEntry, options: MlsxFactsOptions): string {
  // The facts in MLST_FACTS order, written out: this runs once per entry of an MLSD.
  const { facts, typeOverride } = options;
  let out = "";
  if (facts.has("type")) out += "type=" + (typeOverride ?? _mlsxType(entry)) + ";";
  if (facts.has("size") && entry.type === "file" && typeOverride === undefined) {
    out += "size=" + entry.size + ";";
  }
  if (facts.has("modify")) out += "modify=" + formatMlsxTime(entry.mtime) + ";";
  if (facts.has("perm") && options.perm !== undefined) out += "perm=" + options.perm + ";";
  if (facts.has("unix.mode")) {
    const mode = (entry.mode ?? _defaultMode(entry.type)) & 0o7777;
    out += "unix.mode=" + (_octalModes[mode] ??= mode.toString(8).padStart(4, "0")) + ";";
  }
  if (facts.has("unique") && options.unique !== undefined) out += "unique=" + options.unique + ";";
  return out + " " + entry.name;
}

/** unix.mode values by mode (0o7777), filled as they are first needed. */
const _octalModes: string[] = [];

/**
 * Formats the body of the FEAT line after "MLST ": every supported fact,
 * followed by "*" when enabled.
 *
 * @example Usage
 * ```ts
 * import { formatFeatMlst } from "./listing.ts";
 * formatFeatMlst(new Set(["type", "size", "modify", "perm"]));
 * // "type*;size*;modify*;perm*;unix.mode;unique;"
 * ```
 */
export function formatFeatMlst(enabled: ReadonlySet<string>): string {
  return MLST_FACTS.map((fact) => `${fact}${enabled.has(fact) ? "*" : ""};`).join("");
}

/**
 * Parses one MLSD line or MLST entry line (a leading space is tolerated).
 * Fact names are lower-cased; types cdir and pdir become "dir", OS.unix=slink
 * becomes "link"; UNIX.mode, UNIX.owner(name) and UNIX.group(name) fill the
 * entry.
 *
 * @example Usage
 * ```ts
 * import { parseMlsxLine } from "./listing.ts";
 * const { facts, entry } = parseMlsxLine("Type=file;Size=10;Modify=20261126101500; a b.txt");
 * facts.get("size"); // "10"
 * entry.name; // "a b.txt"
 * ```
 * @throws {SyntaxError} If there is no "; " between facts and name, or a fact has no "=".
 */
export function parseMlsxLine(
  line: string,
): { facts: Map<string, string>; name: string; entry: ListingEntry } {
  const text = line.replace(/\r?\n$/, "").replace(/^ /, "");
  const separator = text.indexOf("; ");
  if (separator < 0 || /\s/.test(text.slice(0, separator))) {
    throw new SyntaxError(`Cannot parse MLSx line "${line}"`);
  }
  const facts = new Map<string, string>();
  for (const fact of text.slice(0, separator).split(";")) {
    if (fact === "") continue;
    const equals = fact.indexOf("=");
    if (equals <= 0) throw new SyntaxError(`Cannot parse fact "${fact}" in "${line}"`);
    facts.set(fact.slice(0, equals).toLowerCase(), fact.slice(equals + 1));
  }
  const name = text.slice(separator + 2);
  const entry: ListingEntry = { name, type: "file", size: 0, mtime: new Date(0) };
  const type = facts.get("type")?.toLowerCase();
  if (type === "dir" || type === "cdir" || type === "pdir") entry.type = "dir";
  else if (type !== undefined && /^os\.unix=(slink|symlink)/.test(type)) {
    entry.type = "link";
    const raw = facts.get("type")!;
    const colon = raw.indexOf(":");
    if (colon >= 0 && colon < raw.length - 1) entry.target = raw.slice(colon + 1);
  } else if (type !== undefined && type !== "file") entry.type = "other";
  const size = facts.get("size") ?? facts.get("sizd");
  if (size !== undefined && /^\d+$/.test(size)) entry.size = Number(size);
  const modify = facts.get("modify");
  if (modify !== undefined) {
    try {
      entry.mtime = parseMlsxTime(modify);
    } catch {
      // Tolerant: a bad time leaves the epoch.
    }
  }
  const mode = facts.get("unix.mode");
  if (mode !== undefined && /^[0-7]{1,6}$/.test(mode)) entry.mode = parseInt(mode, 8) & 0o7777;
  const owner = facts.get("unix.ownername") ?? facts.get("unix.owner");
  if (owner !== undefined) entry.owner = owner;
  const group = facts.get("unix.groupname") ?? facts.get("unix.group");
  if (group !== undefined) entry.group = group;
  return { facts, name, entry };
}

/**
 * Formats a date as an RFC 3659 time-val, YYYYMMDDHHMMSS in UTC (also the
 * answer to MDTM).
 *
 * @example Usage
 * ```ts
 * import { formatMlsxTime } from "./listing.ts";
 * formatMlsxTime(new Date("2026-11-26T10:15:00Z")); // "20261126101500"
 * ```
 * @throws {RangeError} If the date is invalid or its year is outside 0-9999.
 */
export function formatMlsxTime(date: Date): string {
  // Entries of a large directory tend to share their second: the last one is kept.
  const second = Math.floor(date.getTime() / 1000);
  if (second === _lastTimeSecond) return _lastTimeVal;
  const year = date.getUTCFullYear();
  if (Number.isNaN(year) || year < 0 || year > 9999) {
    throw new RangeError(`Cannot format date ${String(date)} as a time-val`);
  }
  const text = _pad(year, 4) + _pad(date.getUTCMonth() + 1) + _pad(date.getUTCDate()) +
    _pad(date.getUTCHours()) + _pad(date.getUTCMinutes()) + _pad(date.getUTCSeconds());
  _lastTimeSecond = second;
  _lastTimeVal = text;
  return text;
}

let _lastTimeSecond = NaN;
let _lastTimeVal = "";

/**
 * Parses an RFC 3659 time-val, YYYYMMDDHHMMSS[.fraction] in UTC.
 *
 * @example Usage
 * ```ts
 * import { parseMlsxTime } from "./listing.ts";
 * parseMlsxTime("20261126101500.5"); // 2026-11-26T10:15:00.500Z
 * ```
 * @throws {SyntaxError} If the text is not a time-val or a field is out of range.
 */
export function parseMlsxTime(text: string): Date {
  const match = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:\.(\d+))?$/.exec(text);
  if (match === null) throw new SyntaxError(`Cannot parse time-val "${text}"`);
  const [year, month, day, hours, minutes, seconds] = match.slice(1, 7).map(Number) as number[];
  const ms = Number((match[7] ?? "").slice(0, 3).padEnd(3, "0"));
  const date = new Date(0);
  date.setUTCFullYear(year!, month! - 1, day!);
  if (
    month! < 1 || month! > 12 || day! < 1 || date.getUTCDate() !== day ||
    hours! > 23 || minutes! > 59 || seconds! > 60
  ) {
    throw new SyntaxError(`Cannot parse time-val "${text}": field out of range`);
  }
  // A leap second (60) rolls over into the next minute.
  date.setUTCHours(hours!, minutes!, seconds!, ms);
  return date;
}

/**
 * Parses the argument of "OPTS MLST", such as "type;size;", into the subset of
 * {@linkcode MLST_FACTS} requested (case-insensitive, unknown facts dropped).
 *
 * @example Usage
 * ```ts
 * import { parseOptsMlst } from "./listing.ts";
 * parseOptsMlst("Type;Size;X.hidden;"); // Set { "type", "size" }
 * ```
 */
export function parseOptsMlst(arg: string): Set<string> {
  const requested = new Set<string>();
  for (const part of arg.split(";")) {
    const fact = part.trim().toLowerCase();
    if (MLST_FACTS.includes(fact)) requested.add(fact);
  }
  return requested;
}
