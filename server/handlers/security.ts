/**
 * FTPS commands (RFC 2228, RFC 4217): AUTH TLS, PBSZ and PROT. CCC is not
 * in the command table, so it gets 502: a control connection never goes
 * back to the clear.
 *
 * @module
 */

import { DEFAULT_HASH_ALGORITHM } from "../../protocol/hash_algorithm.ts";
import { ReplyCode } from "../../protocol/reply.ts";
import type { HandlerReply } from "../commands.ts";
import { FtpError } from "../ftp_error.ts";
import type { Session } from "../session.ts";

/**
 * AUTH TLS (and its old alias AUTH SSL): answers 234 and starts TLS. 534 if
 * no certificate is configured (RFC 2228 §3: "not willing to accept the
 * named security mechanism"), 504 for other mechanisms, 503 when the
 * connection is already protected. As RFC 4217 §4.2 asks, the login and
 * transfer parameters are reset, as if REIN had been sent.
 */
export function auth(session: Session, argument: string): Promise<HandlerReply> {
  const mechanism = argument.trim().toUpperCase();
  if (mechanism !== "TLS" && mechanism !== "SSL" && mechanism !== "TLS-C") {
    throw new FtpError(ReplyCode.ParameterNotImplemented, `AUTH ${mechanism} not supported.`);
  }
  if (!session.context.secureContext) {
    throw new FtpError(ReplyCode.PolicyDenied, "TLS not configured on this server.");
  }
  if (session.tls) throw new FtpError(ReplyCode.BadSequence, "Already using TLS.");
  if (session.transferring) throw new FtpError(ReplyCode.BadSequence, "Transfer in progress.");
  session.sequence.complete("REIN", ReplyCode.Ok);
  session.storage = undefined;
  session.permissions = "";
  session.cwd = "/";
  session.transferType = "A";
  session.epsvAll = false;
  session.hashAlgorithm = DEFAULT_HASH_ALGORITHM;
  session.hashRange = undefined;
  session.dataChannel?.close();
  session.dataChannel = undefined;
  session.log("auth-tls");
  return Promise.resolve({
    code: ReplyCode.AuthOk,
    text: `AUTH ${mechanism} successful.`,
    startTls: true,
  });
}

/** PBSZ: only 0 makes sense over TLS (RFC 4217 §9); 503 before AUTH. */
export function pbsz(session: Session, argument: string): Promise<HandlerReply> {
  if (!session.tls) throw new FtpError(ReplyCode.BadSequence, "PBSZ needs AUTH TLS first.");
  const size = argument.trim();
  if (!/^\d{1,10}$/.test(size) || Number(size) > 0xffffffff) {
    throw new FtpError(ReplyCode.ArgumentSyntaxError, "PBSZ needs a 32-bit decimal size.");
  }
  session.pbszDone = true;
  return Promise.resolve({
    code: ReplyCode.Ok,
    text: size === "0" ? "PBSZ=0 accepted." : "PBSZ=0",
  });
}

/** PROT C or P (RFC 4217 §9); S and E are not supported by TLS (536); 503 before PBSZ. */
export function prot(session: Session, argument: string): Promise<HandlerReply> {
  if (!session.tls || !session.pbszDone) {
    throw new FtpError(ReplyCode.BadSequence, "PROT needs PBSZ first.");
  }
  const level = argument.trim().toUpperCase();
  if (level === "C" || level === "P") {
    session.protection = level;
    return Promise.resolve({
      code: ReplyCode.Ok,
      text: `Protection level set to ${level === "P" ? "Private" : "Clear"}.`,
    });
  }
  if (level === "S" || level === "E") {
    throw new FtpError(ReplyCode.ProtectionLevelNotSupported, `PROT ${level} not supported.`);
  }
  throw new FtpError(ReplyCode.ParameterNotImplemented, `Unknown protection level ${level}.`);
}

/** True if `session` must use PROT P for transfers (--require-tls, minus the anonymous exemption). */
export function privateDataRequired(session: Session): boolean {
  const { config, authenticator } = session.context;
  if (!config.requireTls) return false;
  return !(config.anonymousClear && authenticator.isAnonymousName(session.user ?? ""));
}

/** True if `session` may not log in as `name` on its current control connection. */
export function clearLoginRefused(session: Session, name: string): boolean {
  const { config, authenticator } = session.context;
  if (!config.requireTls || session.tls) return false;
  return !(config.anonymousClear && authenticator.isAnonymousName(name));
}
