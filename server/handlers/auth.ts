/**
 * Login and logout: USER, PASS, ACCT, QUIT.
 *
 * @module
 */

import { ReplyCode } from "../../protocol/reply.ts";
import type { HandlerReply } from "../commands.ts";
import type { Session } from "../session.ts";
import { comparableAddress } from "../../protocol/address.ts";
import { clearLoginRefused } from "./security.ts";
import { UserStoreUnavailableError } from "../auth/user_store_unavailable.ts";
import { addressRefusal } from "../user_limits/user_limits.ts";

/** USER: starts a login; the reply never tells whether the user exists. */
export function user(session: Session, name: string): Promise<HandlerReply> {
  session.endAccount();
  session.storage = undefined;
  session.anonymous = false;
  session.permissions = "";
  session.cwd = "/";
  if (clearLoginRefused(session, name)) {
    // RFC 959 lists 530 for USER; RFC 4217 §4.2 lets a server refuse commands until TLS.
    return Promise.resolve({
      code: ReplyCode.NotLoggedIn,
      text: "TLS required: use AUTH TLS before logging in.",
    });
  }
  const anonymous = session.context.authenticator.isAnonymousName(name);
  return Promise.resolve({
    code: ReplyCode.NeedPassword,
    text: anonymous
      ? "Anonymous login ok, send your e-mail address as password."
      : "Password required.",
    detail: name,
  });
}

/**
 * PASS: checks the password and opens the user's jailed home. While the
 * user store cannot be reached (a database that is down), answers 421 and
 * closes, with a log line saying why; sessions already logged in go on.
 */
export async function pass(session: Session, password: string): Promise<HandlerReply> {
  try {
    return await checkPass(session, password);
  } catch (error) {
    if (!(error instanceof UserStoreUnavailableError)) throw error;
    session.log("login", { ok: false, reason: "user-store-unavailable", message: error.message });
    return {
      code: ReplyCode.ServiceUnavailable,
      text: "User database unavailable, try again later; closing connection.",
      close: true,
    };
  }
}

async function checkPass(session: Session, password: string): Promise<HandlerReply> {
  const name = session.user ?? "";
  const record = await session.context.authenticator.authenticate(name, password);
  const address = comparableAddress(session.peerAddress);
  const limits = session.context.limits;
  const settings = record ? limits.settingsFor(record) : {};
  // A refused address is answered exactly like a wrong password (same reply, same delay).
  const refusal = record ? addressRefusal(settings, address) : undefined;
  if (!record || refusal) {
    session.loginFailures++;
    const delay = session.context.loginThrottle.failure(address);
    session.log("login", {
      ok: false,
      failures: session.loginFailures,
      delayMs: delay,
      ...(refusal ? { reason: refusal } : {}),
    });
    await new Promise((resolve) => setTimeout(resolve, delay));
    if (session.loginFailures >= session.context.config.maxLoginFailures) {
      return {
        code: ReplyCode.ServiceUnavailable,
        text: "Too many failed logins; closing connection.",
        close: true,
      };
    }
    return { code: ReplyCode.NotLoggedIn, text: "Login incorrect." };
  }
  const slot = await limits.slots.acquire(record.name, settings.maxSessions);
  if (!slot) {
    session.log("login", { ok: false, reason: "max_sessions", max: settings.maxSessions });
    return {
      code: ReplyCode.ServiceUnavailable,
      text: "Too many sessions for this user; closing connection.",
      close: true,
    };
  }
  session.context.loginThrottle.success(address);
  session.anonymous = record.name === "anonymous";
  try {
    session.storage = await session.context.openStorage(record.home);
  } catch (error) {
    slot.release();
    throw error;
  }
  session.account = { name: record.name, home: record.home, settings, slot };
  limits.ledger.limit(record.home, settings);
  session.permissions = record.permissions;
  session.cwd = "/";
  session.afterReply(() =>
    session.log("login", { ok: true, home: record.home, perms: record.permissions })
  );
  return {
    code: ReplyCode.LoggedIn,
    text: record.name === "anonymous"
      ? "Anonymous access granted, restrictions apply."
      : "Login successful.",
  };
}

/** ACCT: accounts are not used. */
export function acct(): Promise<HandlerReply> {
  return Promise.resolve({ code: ReplyCode.Superfluous, text: "ACCT not necessary." });
}

/** QUIT: waits for a running transfer (the dispatcher does), then says goodbye. */
export function quit(): Promise<HandlerReply> {
  return Promise.resolve({ code: ReplyCode.Closing, text: "Goodbye.", close: true });
}
