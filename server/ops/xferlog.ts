/**
 * The transfer log in the wu-ftpd xferlog(5) format, one line per finished
 * or failed file transfer, as log analysers (webalizer, AWStats, xferstats)
 * read it:
 *
 * ```text
 * current-time transfer-time remote-host file-size filename transfer-type
 * special-action-flag direction access-mode username service-name
 * authentication-method authenticated-user-id completion-status
 * ```
 *
 * It observes the server's `transfer` events (see `../events.ts`); it is
 * not an emission point of its own. The file is reopened on SIGHUP, so
 * logrotate can move it away.
 *
 * @module
 */

import { comparableAddress } from "../../protocol/address.ts";
import type { ServerEvent } from "../events.ts";
import { AppendFile } from "./append_file.ts";

const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const DIRECTIONS: Record<string, "i" | "o"> = { RETR: "o", STOR: "i", APPE: "i", STOU: "i" };

const pad = (value: number, width = 2, fill = "0") => String(value).padStart(width, fill);

/**
 * A time as ctime(3) writes it, in local time: `Thu Dec  3 15:40:45 2026`.
 *
 * @example
 * ```ts
 * ctime(new Date(2026, 11, 3, 15, 40, 45)); // "Thu Dec  3 15:40:45 2026"
 * ```
 */
export function ctime(time: Date): string {
  return `${DAYS[time.getDay()]} ${MONTHS[time.getMonth()]} ${pad(time.getDate(), 2, " ")} ${
    pad(time.getHours())
  }:${pad(time.getMinutes())}:${pad(time.getSeconds())} ${time.getFullYear()}`;
}

/** A field without blanks: xferlog separates fields by spaces, so blanks become `_`. */
function field(text: string): string {
  // deno-lint-ignore no-control-regex -- control characters are what is replaced
  const cleaned = text.replace(/[\s\x00-\x1f\x7f]/g, "_");
  return cleaned === "" ? "_" : cleaned;
}

/** The host part of a session's `peer` field (`address:port`). */
function remoteHost(peer: string): string {
  const at = peer.lastIndexOf(":");
  return comparableAddress(at < 0 ? peer : peer.slice(0, at));
}

/**
 * The xferlog line for a `transfer` event, or undefined for one that is not
 * a file transfer (directory listings).
 *
 * @example
 * ```ts
 * xferlogLine({ name: "transfer", time: new Date(), fields: {
 *   peer: "127.0.0.1:5000", user: "alice", verb: "RETR", path: "/a.txt",
 *   bytes: 5, ms: 20, type: "I", ok: true } });
 * // "Thu Dec  3 15:40:45 2026 1 127.0.0.1 5 /a.txt b _ o r alice ftp 0 * c"
 * ```
 */
export function xferlogLine(event: ServerEvent): string | undefined {
  const { verb, path, bytes, ms, type, ok, peer, user, anonymous } = event.fields;
  const direction = DIRECTIONS[String(verb)];
  if (event.name !== "transfer" || direction === undefined) return undefined;
  const seconds = Math.max(1, Math.round(Number(ms ?? 0) / 1000));
  return [
    ctime(event.time),
    seconds,
    field(remoteHost(String(peer ?? ""))),
    Number(bytes ?? 0),
    field(String(path ?? "")),
    type === "A" ? "a" : "b",
    "_",
    direction,
    anonymous === true ? "a" : "r",
    field(String(user ?? "")),
    "ftp",
    "0",
    "*",
    ok === true ? "c" : "i",
  ].join(" ");
}

/**
 * An xferlog file: appends a line per transfer event, reopens on request.
 *
 * @example
 * ```ts
 * const xferlog = await XferLog.open("/var/log/ferry/xferlog");
 * const stop = server.events.on(xferlog.listener);
 * ```
 */
export class XferLog {
  readonly #file: AppendFile;

  private constructor(file: AppendFile) {
    this.#file = file;
  }

  /** Opens (creating, mode 0640) the file for appending. */
  static async open(path: string): Promise<XferLog> {
    return new XferLog(await AppendFile.open(path));
  }

  /** The file's path. */
  get path(): string {
    return this.#file.path;
  }

  /** The event listener: writes the line of each file transfer. */
  readonly listener = (event: ServerEvent): void => {
    if (event.name !== "transfer") return;
    const line = xferlogLine(event);
    if (line !== undefined) this.#file.writeLine(line);
  };

  /** Opens the path again (after logrotate moved the file away). */
  reopen(): Promise<void> {
    return this.#file.reopen();
  }

  /** Closes the file. */
  close(): void {
    this.#file.close();
  }
}
