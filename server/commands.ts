/**
 * The command table: every verb the server knows, its handler, whether it
 * takes an argument, the permission letter it needs and whether it runs a
 * transfer (which goes on while ABOR and STAT are still read).
 *
 * @module
 */

import type { Session } from "./session.ts";
import * as auth from "./handlers/auth.ts";
import * as info from "./handlers/info.ts";
import * as dirs from "./handlers/dirs.ts";
import * as files from "./handlers/files.ts";
import * as data from "./handlers/data_setup.ts";
import * as transfers from "./handlers/transfers.ts";
import * as security from "./handlers/security.ts";
import { CHECKSUM_COMMANDS } from "./handlers/checksums.ts";
import type { ServerConfig } from "./config.ts";

/** What a handler answers: the final reply, and what the sequence state needs to know. */
export interface HandlerReply {
  code: number;
  text: string | string[];
  /** The USER name, RNFR path or REST offset, for the sequencing state machine. */
  detail?: string | number;
  /** Close the control connection after this reply. */
  close?: boolean;
  /** Start TLS on the control connection right after this reply (AUTH TLS). */
  startTls?: boolean;
}

/** A command handler: runs the command for a session and returns its final reply. */
export type Handler = (
  session: Session,
  argument: string,
  signal: AbortSignal,
) => Promise<HandlerReply>;

/** One row of the command table. */
export interface CommandSpec {
  handler: Handler;
  /** Whether the command takes an argument. */
  argument: "none" | "optional" | "required";
  /** The permission letter a user needs (pyftpdlib's `elradfmwMT`). */
  permission?: string;
  /** Runs as a transfer: in the background, abortable, one at a time. */
  transfer?: boolean;
  /**
   * Runs in the background without a data connection (a checksum): STAT,
   * NOOP and ABOR are answered meanwhile, another background command is
   * refused with 450, and the rest wait for it.
   */
  background?: boolean;
  /** False when the server runs without this command (`--no-hash`): 502, and not in HELP. */
  available?: (config: ServerConfig) => boolean;
  /** The syntax shown by HELP. */
  help: string;
}

const table: Record<string, CommandSpec> = {
  USER: { handler: auth.user, argument: "required", help: "USER <name>" },
  PASS: { handler: auth.pass, argument: "optional", help: "PASS <password>" },
  ACCT: { handler: auth.acct, argument: "optional", help: "ACCT <account>" },
  QUIT: { handler: auth.quit, argument: "none", help: "QUIT" },
  AUTH: { handler: security.auth, argument: "required", help: "AUTH TLS" },
  PBSZ: { handler: security.pbsz, argument: "required", help: "PBSZ 0" },
  PROT: { handler: security.prot, argument: "required", help: "PROT {C|P}" },
  NOOP: { handler: info.noop, argument: "none", help: "NOOP" },
  SYST: { handler: info.syst, argument: "none", help: "SYST" },
  FEAT: { handler: info.feat, argument: "none", help: "FEAT" },
  OPTS: { handler: info.opts, argument: "required", help: "OPTS <command> [<options>]" },
  HELP: { handler: info.help, argument: "optional", help: "HELP [<command>]" },
  STAT: { handler: transfers.stat, argument: "optional", help: "STAT [<path>]" },
  ALLO: { handler: info.allo, argument: "optional", help: "ALLO <bytes>" },
  TYPE: { handler: info.type, argument: "required", help: "TYPE {A|I|L 8}" },
  MODE: { handler: info.mode, argument: "required", help: "MODE S" },
  STRU: { handler: info.stru, argument: "required", help: "STRU F" },
  SITE: {
    handler: files.site,
    argument: "required",
    help: "SITE {HELP|CHMOD <mode> <path>|QUOTA}",
  },
  PWD: { handler: dirs.pwd, argument: "none", help: "PWD" },
  CWD: { handler: dirs.cwd, argument: "required", permission: "e", help: "CWD <path>" },
  CDUP: { handler: dirs.cdup, argument: "none", permission: "e", help: "CDUP" },
  MKD: { handler: dirs.mkd, argument: "required", permission: "m", help: "MKD <path>" },
  RMD: { handler: dirs.rmd, argument: "required", permission: "d", help: "RMD <path>" },
  DELE: { handler: files.dele, argument: "required", permission: "d", help: "DELE <path>" },
  RNFR: { handler: files.rnfr, argument: "required", permission: "f", help: "RNFR <path>" },
  RNTO: { handler: files.rnto, argument: "required", permission: "f", help: "RNTO <path>" },
  SIZE: { handler: files.size, argument: "required", permission: "l", help: "SIZE <path>" },
  MDTM: { handler: files.mdtm, argument: "required", permission: "l", help: "MDTM <path>" },
  MFMT: {
    handler: files.mfmt,
    argument: "required",
    permission: "T",
    help: "MFMT <YYYYMMDDHHMMSS> <path>",
  },
  MLST: { handler: files.mlst, argument: "optional", permission: "l", help: "MLST [<path>]" },
  REST: { handler: files.rest, argument: "required", help: "REST <offset>" },
  PORT: { handler: data.port, argument: "required", help: "PORT h1,h2,h3,h4,p1,p2" },
  PASV: { handler: data.pasv, argument: "none", help: "PASV" },
  EPRT: { handler: data.eprt, argument: "required", help: "EPRT |proto|addr|port|" },
  EPSV: { handler: data.epsv, argument: "optional", help: "EPSV [1|2|ALL]" },
  ABOR: { handler: transfers.abor, argument: "none", help: "ABOR" },
  RETR: {
    handler: transfers.retr,
    argument: "required",
    permission: "r",
    transfer: true,
    help: "RETR <path>",
  },
  STOR: {
    handler: transfers.stor,
    argument: "required",
    permission: "w",
    transfer: true,
    help: "STOR <path>",
  },
  STOU: {
    handler: transfers.stou,
    argument: "optional",
    permission: "w",
    transfer: true,
    help: "STOU [<name>]",
  },
  APPE: {
    handler: transfers.appe,
    argument: "required",
    permission: "a",
    transfer: true,
    help: "APPE <path>",
  },
  LIST: {
    handler: transfers.list,
    argument: "optional",
    permission: "l",
    transfer: true,
    help: "LIST [<path>]",
  },
  NLST: {
    handler: transfers.nlst,
    argument: "optional",
    permission: "l",
    transfer: true,
    help: "NLST [<path>]",
  },
  MLSD: {
    handler: transfers.mlsd,
    argument: "optional",
    permission: "l",
    transfer: true,
    help: "MLSD [<path>]",
  },
};

/** The RFC 775 X-variants, same handlers under old names. */
const aliases: Record<string, string> = {
  XPWD: "PWD",
  XCWD: "CWD",
  XCUP: "CDUP",
  XMKD: "MKD",
  XRMD: "RMD",
};

/** Every verb the server accepts, mapped to its spec. */
export const COMMANDS: ReadonlyMap<string, CommandSpec> = new Map([
  ...Object.entries(table),
  ...Object.entries(CHECKSUM_COMMANDS),
  ...Object.entries(aliases).map(([alias, verb]) => [alias, table[verb]!] as const),
]);
