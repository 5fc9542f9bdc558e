/**
 * Commands about the session and the server: NOOP, SYST, FEAT, OPTS, HELP,
 * ALLO, TYPE, MODE, STRU.
 *
 * @module
 */

import { formatFeatMlst, parseOptsMlst } from "../../protocol/listing.ts";
import { ReplyCode } from "../../protocol/reply.ts";
import type { HandlerReply } from "../commands.ts";
import { COMMANDS } from "../commands.ts";
import type { Session } from "../session.ts";
import { checksumFeatures, optsHash } from "./checksums.ts";

function reply(code: number, text: string | string[]): Promise<HandlerReply> {
  return Promise.resolve({ code, text });
}

/** NOOP: keeps the connection alive. */
export function noop(): Promise<HandlerReply> {
  return reply(ReplyCode.Ok, "NOOP ok.");
}

/** SYST: the system type clients use to pick a listing parser. */
export function syst(): Promise<HandlerReply> {
  return reply(ReplyCode.SystemType, "UNIX Type: L8");
}

/** FEAT (RFC 2389): the extensions this server supports. */
export function feat(session: Session): Promise<HandlerReply> {
  const tls = session.context.secureContext ? ["AUTH TLS", "AUTH SSL", "PBSZ", "PROT"] : [];
  const [hashLine, ...xVerbs] = checksumFeatures(session);
  return reply(ReplyCode.SystemStatus, [
    "Features:",
    ...tls,
    "EPRT",
    "EPSV",
    ...(hashLine ? [hashLine] : []),
    "MDTM",
    "MFMT",
    `MLST ${formatFeatMlst(session.mlstFacts)}`,
    "REST STREAM",
    "SITE QUOTA",
    "SIZE",
    "TVFS",
    "UTF8",
    ...xVerbs,
    "End",
  ]);
}

/**
 * OPTS (RFC 2389): UTF8 ON (always on, RFC 2640), MLST fact selection
 * (RFC 3659) and HASH algorithm selection (draft-bryan-ftpext-hash).
 */
export function opts(session: Session, argument: string): Promise<HandlerReply> {
  const [command = "", ...rest] = argument.trim().split(/\s+/);
  const options = rest.join(" ");
  switch (command.toUpperCase()) {
    case "UTF8":
    case "UTF-8":
      if (options.toUpperCase() === "ON" || options === "") {
        return reply(ReplyCode.Ok, "Always in UTF8 mode.");
      }
      return reply(ReplyCode.ParameterNotImplemented, "UTF8 cannot be turned off.");
    case "MLST": {
      session.mlstFacts = parseOptsMlst(options);
      const listed = [...session.mlstFacts].map((fact) => `${fact};`).join("");
      return reply(ReplyCode.Ok, `MLST OPTS ${listed}`);
    }
    case "HASH":
      if (!session.context.config.hash) break;
      return Promise.resolve(optsHash(session, options));
  }
  return reply(ReplyCode.ArgumentSyntaxError, `Option ${command} not understood.`);
}

/** HELP: the commands the server knows, or the syntax of one. */
export function help(session: Session, argument: string): Promise<HandlerReply> {
  const config = session.context.config;
  const verb = argument.trim().toUpperCase();
  if (verb !== "") {
    const spec = COMMANDS.get(verb);
    if (!spec || spec.available?.(config) === false) {
      return reply(ReplyCode.ArgumentSyntaxError, `Unknown command ${verb}.`);
    }
    return reply(ReplyCode.Help, `Syntax: ${spec.help}`);
  }
  const verbs = [...COMMANDS].filter(([, spec]) => spec.available?.(config) !== false)
    .map(([name]) => name).sort();
  const rows: string[] = [];
  for (let i = 0; i < verbs.length; i += 8) {
    rows.push(verbs.slice(i, i + 8).map((name) => name.padEnd(5)).join(" ").trimEnd());
  }
  return reply(ReplyCode.Help, ["The following commands are recognized:", ...rows, "Help OK."]);
}

/** ALLO: no storage needs reserving. */
export function allo(): Promise<HandlerReply> {
  return reply(ReplyCode.Superfluous, "No storage allocation necessary.");
}

/** TYPE: A (optionally "A N") and I; L 8 is the same as I; E, A T/C and other sizes are refused. */
export function type(session: Session, argument: string): Promise<HandlerReply> {
  const words = argument.trim().toUpperCase().split(/\s+/);
  const [code, format] = words;
  if (code === "A" && (format === undefined || format === "N") && words.length <= 2) {
    session.transferType = "A";
    return reply(ReplyCode.Ok, "Switching to ASCII mode.");
  }
  if (code === "I" && words.length === 1) {
    session.transferType = "I";
    return reply(ReplyCode.Ok, "Switching to Binary mode.");
  }
  if ((code === "L" && format === "8" && words.length === 2) || (code === "L8" && !format)) {
    session.transferType = "I";
    return reply(ReplyCode.Ok, "Switching to Binary mode (L 8).");
  }
  if (code === "E" || code === "A" || code === "L") {
    return reply(ReplyCode.ParameterNotImplemented, `TYPE ${argument.trim()} not implemented.`);
  }
  return reply(ReplyCode.ArgumentSyntaxError, `Unknown TYPE ${argument.trim()}.`);
}

/** MODE: only S (stream); B and C are refused. */
export function mode(_session: Session, argument: string): Promise<HandlerReply> {
  const value = argument.trim().toUpperCase();
  if (value === "S") return reply(ReplyCode.Ok, "Mode set to S.");
  if (value === "B" || value === "C") {
    return reply(ReplyCode.ParameterNotImplemented, `MODE ${value} not implemented.`);
  }
  return reply(ReplyCode.ArgumentSyntaxError, `Unknown MODE ${argument.trim()}.`);
}

/** STRU: only F (file); R and P are refused. */
export function stru(_session: Session, argument: string): Promise<HandlerReply> {
  const value = argument.trim().toUpperCase();
  if (value === "F") return reply(ReplyCode.Ok, "Structure set to F.");
  if (value === "R" || value === "P") {
    return reply(ReplyCode.ParameterNotImplemented, `STRU ${value} not implemented.`);
  }
  return reply(ReplyCode.ArgumentSyntaxError, `Unknown STRU ${argument.trim()}.`);
}
