/**
 * The sequencing rules of RFC 959 §5.4 and §6, shared by server and client:
 * which commands a session accepts in which state (login, RNFR → RNTO, REST →
 * transfer), and how the replies to one command follow each other
 * (1xx preliminary → 2xx/3xx/4xx/5xx final).
 *
 * @module
 */

import { type Reply, ReplyCode, replyKind } from "./reply.ts";

/** Where a session is in the login sequence. */
export type LoginState = "awaiting-user" | "awaiting-password" | "logged-in";

/** Commands a client may send before logging in. */
export const PRE_LOGIN_VERBS: ReadonlySet<string> = new Set([
  "USER",
  "PASS",
  "ACCT",
  "QUIT",
  "NOOP",
  "FEAT",
  "OPTS",
  "HELP",
  "SYST",
  "AUTH",
  "PBSZ",
  "PROT",
  "CCC",
  "STAT",
]);

/** Commands that open a data connection and consume a pending REST offset. */
export const TRANSFER_VERBS: ReadonlySet<string> = new Set([
  "RETR",
  "STOR",
  "STOU",
  "APPE",
  "LIST",
  "NLST",
  "MLSD",
]);

/** Verbs whose transfer honours a REST offset. */
const RESTARTABLE_VERBS: ReadonlySet<string> = new Set(["RETR", "STOR", "APPE"]);

/** A refusal from {@linkcode SessionSequence.check}: the reply to send instead of running the command. */
export interface SequenceRefusal {
  code: number;
  text: string;
}

/**
 * The server side of the sequencing rules for one control connection. The
 * dispatcher asks {@linkcode SessionSequence.check} before running a command
 * and reports the outcome with {@linkcode SessionSequence.complete}.
 *
 * @example
 * ```ts
 * const seq = new SessionSequence();
 * seq.check("RNTO"); // { code: 530, ... } — not logged in
 * ```
 */
export class SessionSequence {
  /** The login state. */
  login: LoginState = "awaiting-user";
  /** The name given with USER, while awaiting PASS or after login. */
  user: string | undefined;
  /** The path named by a successful RNFR, until the next command. */
  renameFrom: string | undefined;
  /** The offset given by REST, until a transfer uses it. */
  restartOffset = 0;

  /** Returns a refusal if `verb` is out of sequence now, or undefined if it may run. */
  check(verb: string): SequenceRefusal | undefined {
    if (verb === "PASS" && this.login === "awaiting-user") {
      return { code: ReplyCode.BadSequence, text: "Login with USER first." };
    }
    if (verb === "PASS" && this.login === "logged-in") {
      return { code: ReplyCode.BadSequence, text: "Already logged in." };
    }
    if (this.login !== "logged-in" && !PRE_LOGIN_VERBS.has(verb)) {
      return { code: ReplyCode.NotLoggedIn, text: "Please login with USER and PASS." };
    }
    if (verb === "RNTO" && this.renameFrom === undefined) {
      return { code: ReplyCode.BadSequence, text: "RNFR required first." };
    }
    return undefined;
  }

  /**
   * Records that `verb` finished with reply `code`, updating the login
   * state and the pending RNFR and REST state. `detail` carries the RNFR
   * path, the REST offset or the USER name.
   */
  complete(verb: string, code: number, detail?: string | number): void {
    if (verb !== "RNFR") this.renameFrom = undefined;
    if (TRANSFER_VERBS.has(verb)) this.restartOffset = 0;
    switch (verb) {
      case "USER":
        if (code === ReplyCode.NeedPassword) {
          this.login = "awaiting-password";
          this.user = String(detail ?? "");
        } else if (code === ReplyCode.LoggedIn) {
          this.login = "logged-in";
          this.user = String(detail ?? "");
        } else if (code === ReplyCode.NotLoggedIn) {
          this.login = "awaiting-user";
          this.user = undefined;
        }
        // A syntax error (500/501) leaves the login state as it was.
        break;
      case "PASS":
        if (code === ReplyCode.LoggedIn) this.login = "logged-in";
        else {
          this.login = "awaiting-user";
          this.user = undefined;
        }
        break;
      case "REIN":
        // Only a REIN that was carried out (2xx) resets the login; a refused one changes nothing.
        if (code >= 200 && code < 300) {
          this.login = "awaiting-user";
          this.user = undefined;
          this.restartOffset = 0;
        }
        break;
      case "RNFR":
        this.renameFrom = code === ReplyCode.PendingFurtherInfo ? String(detail) : undefined;
        break;
      case "REST":
        if (code === ReplyCode.PendingFurtherInfo) this.restartOffset = Number(detail);
        break;
    }
  }

  /** The REST offset that applies to `verb` (0 if none or if the verb does not restart). */
  offsetFor(verb: string): number {
    return RESTARTABLE_VERBS.has(verb) ? this.restartOffset : 0;
  }
}

/** Thrown when replies arrive out of the order RFC 959 allows. */
export class ReplySequenceError extends Error {
  /** Creates the error naming the reply that broke the sequence. */
  constructor(message: string) {
    super(message);
    this.name = "ReplySequenceError";
  }
}

/**
 * The replies to one command: any number of 1xx preliminaries (only for
 * commands that may send them), then exactly one final 2xx/3xx/4xx/5xx.
 * The client feeds every reply it reads; the server feeds every reply it
 * sends, so neither side can get the order wrong unnoticed.
 *
 * @example
 * ```ts
 * const exchange = new ReplyExchange("RETR");
 * exchange.accept({ code: 150, lines: ["Opening"] }); // "preliminary"
 * exchange.accept({ code: 226, lines: ["Done"] }); // "final"
 * ```
 */
export class ReplyExchange {
  /** The verb this exchange belongs to (upper case), or "" for the greeting. */
  readonly verb: string;
  /** The preliminary replies seen so far. */
  readonly preliminaries: Reply[] = [];
  /** The final reply, once seen. */
  final: Reply | undefined;

  /** Starts the exchange for one command (or "" for the connection greeting). */
  constructor(verb: string) {
    this.verb = verb.toUpperCase();
  }

  /** Takes the next reply; says whether more replies are to come. */
  accept(reply: Reply): "preliminary" | "final" {
    if (this.final) {
      throw new ReplySequenceError(
        `Unexpected reply ${reply.code} after final reply ${this.final.code} to ${
          this.verb || "greeting"
        }`,
      );
    }
    if (replyKind(reply.code) === "preliminary") {
      if (!mayBePreliminary(this.verb)) {
        throw new ReplySequenceError(
          `Unexpected preliminary reply ${reply.code} to ${this.verb || "greeting"}`,
        );
      }
      this.preliminaries.push(reply);
      return "preliminary";
    }
    this.final = reply;
    return "final";
  }
}

/** True if RFC 959 §5.4 lets `verb` be answered with a 1xx reply first ("" is the greeting, 120 then 220). */
export function mayBePreliminary(verb: string): boolean {
  return verb === "" || verb === "REIN" || TRANSFER_VERBS.has(verb);
}
