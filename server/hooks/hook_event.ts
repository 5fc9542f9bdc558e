/**
 * Hook events, derived from the server's logged events
 * ({@linkcode ServerEvent}): `login` with ok=false is `login-failed`, a
 * `transfer` is a `download` (RETR) or an `upload` (STOR, APPE, STOU), a
 * `disconnect` after a login is `logout`; and how an event reaches a hook:
 * as `FERRY_*` environment variables or as one JSON object.
 *
 * @module
 */

import * as path from "node:path";
import type { ServerEvent } from "../events.ts";
import type { HookEventName, PostEventName } from "./hook_config.ts";

/** One event as hooks see it. Fields that do not apply are empty strings or 0. */
export interface HookEvent {
  /** The event's name. */
  readonly event: HookEventName;
  /** When it happened. */
  readonly time: Date;
  /** The session's number (as in the log). */
  readonly session: number;
  /** The user name. */
  readonly user: string;
  /** The client's address. */
  readonly peer: string;
  /** The client's port. */
  readonly peerPort: number;
  /** The FTP command behind it (RETR, STOR, APPE, STOU, DELE, RMD, RNTO, MKD, PASS, QUIT). */
  readonly verb: string;
  /** The virtual path (the old one for a rename). */
  readonly path: string;
  /** The file's path on the server's disk. */
  readonly localPath: string;
  /** A rename's new virtual path. */
  readonly target: string;
  /** A rename's new path on disk. */
  readonly localTarget: string;
  /** Bytes transferred. */
  readonly bytes: number;
  /** How long it took, in milliseconds (a logout: how long the user was logged in). */
  readonly durationMs: number;
  /** Whether it succeeded. */
  readonly ok: boolean;
}

/** What the translator remembers of a logged-in session. */
interface LoggedIn {
  readonly home: string;
  readonly since: number;
}

const UPLOAD_VERBS = new Set(["STOR", "APPE", "STOU"]);

/** Splits the log's `ADDRESS:PORT` peer (IPv6 addresses hold colons too). */
export function splitPeer(peer: string): { address: string; port: number } {
  const colon = peer.lastIndexOf(":");
  const port = Number(peer.slice(colon + 1));
  if (colon < 0 || !/^\d+$/.test(peer.slice(colon + 1))) return { address: peer, port: 0 };
  return { address: peer.slice(0, colon), port };
}

function text(value: unknown): string {
  return typeof value === "string" ? value : "";
}

function count(value: unknown): number {
  return typeof value === "number" && Number.isFinite(value) ? value : 0;
}

/**
 * Turns the server's logged events into hook events. It remembers each
 * logged-in session's home (for the paths on disk) and login time (for the
 * logout's duration) until the session disconnects.
 *
 * @example
 * ```ts
 * const translator = new HookEventTranslator("/srv/ftp");
 * translator.translate({ name: "login", time: new Date(), fields: { session: 1, user: "ann", peer: "10.0.0.5:40000", ok: true, home: "/ann" } });
 * // { event: "login", user: "ann", peer: "10.0.0.5", … }
 * ```
 */
export class HookEventTranslator {
  readonly #root: string;
  readonly #sessions = new Map<number, LoggedIn>();

  /** Creates a translator for a server serving the real directory `root`. */
  constructor(root: string) {
    this.#root = root;
  }

  /** A virtual path of a session as a path on disk; empty when unknown. */
  localPath(session: number, virtualPath: string): string {
    const loggedIn = this.#sessions.get(session);
    if (!loggedIn || virtualPath === "") return "";
    return path.join(this.#root, loggedIn.home, virtualPath);
  }

  /** The hook event a logged event stands for, if any. */
  translate(logged: ServerEvent): HookEvent | undefined {
    const fields = logged.fields;
    const session = count(fields.session);
    let event: PostEventName;
    let verb = "";
    let durationMs = count(fields.ms);
    let ok = fields.ok !== false;
    switch (logged.name) {
      case "login":
        if (fields.ok === true) {
          this.#sessions.set(session, { home: text(fields.home), since: performance.now() });
          event = "login";
        } else {
          event = "login-failed";
        }
        verb = "PASS";
        break;
      case "disconnect": {
        const loggedIn = this.#sessions.get(session);
        if (!loggedIn) return undefined;
        this.#sessions.delete(session);
        const { address, port } = splitPeer(text(fields.peer));
        return {
          event: "logout",
          time: logged.time,
          session,
          user: text(fields.user),
          peer: address,
          peerPort: port,
          verb: "QUIT",
          path: "",
          localPath: "",
          target: "",
          localTarget: "",
          bytes: 0,
          durationMs: Math.round(performance.now() - loggedIn.since),
          ok: true,
        };
      }
      case "transfer":
        verb = text(fields.verb);
        if (verb === "RETR") event = "download";
        else if (UPLOAD_VERBS.has(verb)) event = "upload";
        else return undefined;
        break;
      case "delete":
        event = "delete";
        verb = "DELE";
        break;
      case "rename":
        event = "rename";
        verb = "RNTO";
        break;
      case "mkdir":
        event = "mkdir";
        verb = "MKD";
        break;
      case "rmdir":
        event = "rmdir";
        verb = "RMD";
        break;
      default:
        return undefined;
    }
    if (event === "login" || event === "login-failed") {
      durationMs = 0;
      ok = event === "login";
    }
    const virtualPath = event === "rename" ? text(fields.from) : text(fields.path);
    const target = event === "rename" ? text(fields.to) : "";
    const { address, port } = splitPeer(text(fields.peer));
    return {
      event,
      time: logged.time,
      session,
      user: text(fields.user),
      peer: address,
      peerPort: port,
      verb,
      path: virtualPath,
      localPath: this.localPath(session, virtualPath),
      target,
      localTarget: this.localPath(session, target),
      bytes: count(fields.bytes),
      durationMs,
      ok,
    };
  }
}

/**
 * The environment a command hook runs with: `FERRY_EVENT`, `FERRY_USER`,
 * `FERRY_PATH`, `FERRY_LOCAL_PATH`, `FERRY_TARGET`, `FERRY_LOCAL_TARGET`,
 * `FERRY_BYTES`, `FERRY_PEER`, `FERRY_PEER_PORT`, `FERRY_STATUS` (`ok` or
 * `failed`), `FERRY_DURATION_MS`, `FERRY_VERB`, `FERRY_SESSION`,
 * `FERRY_TIME` (ISO 8601, UTC). Every variable is always set.
 *
 * @example
 * ```ts
 * hookEnvironment(event).FERRY_PATH; // "/in box/report $(x).pdf", exactly as the client sent it
 * ```
 */
export function hookEnvironment(event: HookEvent): Record<string, string> {
  return {
    FERRY_EVENT: event.event,
    FERRY_USER: event.user,
    FERRY_PATH: event.path,
    FERRY_LOCAL_PATH: event.localPath,
    FERRY_TARGET: event.target,
    FERRY_LOCAL_TARGET: event.localTarget,
    FERRY_BYTES: String(event.bytes),
    FERRY_PEER: event.peer,
    FERRY_PEER_PORT: String(event.peerPort),
    FERRY_STATUS: event.ok ? "ok" : "failed",
    FERRY_DURATION_MS: String(event.durationMs),
    FERRY_VERB: event.verb,
    FERRY_SESSION: String(event.session),
    FERRY_TIME: event.time.toISOString(),
  };
}

/**
 * The JSON object a webhook receives: the same facts as
 * {@linkcode hookEnvironment}, with camelCase keys, numbers as numbers and
 * `status` as well as the boolean `ok`.
 *
 * @example
 * ```ts
 * JSON.stringify(hookPayload(event));
 * // {"event":"upload","time":"2026-…Z","user":"ann","peer":"10.0.0.5","peerPort":40000,…}
 * ```
 */
export function hookPayload(event: HookEvent): Record<string, string | number | boolean> {
  return {
    event: event.event,
    time: event.time.toISOString(),
    user: event.user,
    peer: event.peer,
    peerPort: event.peerPort,
    session: event.session,
    verb: event.verb,
    path: event.path,
    localPath: event.localPath,
    target: event.target,
    localTarget: event.localTarget,
    bytes: event.bytes,
    durationMs: event.durationMs,
    ok: event.ok,
    status: event.ok ? "ok" : "failed",
  };
}
