/**
 * The shell's command table: each command's name, aliases, usage, what it
 * needs (a connection, a login), how its arguments complete, and its
 * handler. Handlers print on success and throw a {@linkcode ClientError}
 * (with the exit code a script ends with) on failure.
 *
 * @module
 */

import { formatReplyLines, isNegativeReply, ReplyCode } from "../../protocol/reply.ts";
import { TRANSFER_VERBS } from "../../protocol/sequence.ts";
import { ClientError, ExitCode, FtpReplyError } from "../errors.ts";
import { EXISTING_POLICIES } from "../transfer/overwrite.ts";
import { credentialEnvironment, parseFtpUrl, resolveCredentials } from "../url.ts";
import { homeDir, type ShellSession, type ShellTlsMode } from "./session.ts";
import { getFile, getMatching, putFile, putMatching } from "./transfers.ts";

/** What a command needs before it can run. */
export type Requirement = "nothing" | "connection" | "login";

/** How a command's arguments are completed with Tab. */
export type ArgumentCompletion = "remote" | "local" | "command" | readonly string[];

/** What a handler asks the shell to do next. */
export type CommandOutcome = void | "quit";

/** One shell command. */
export interface ShellCommand {
  name: string;
  aliases?: readonly string[];
  /** Arguments, as shown by help ("REMOTE [LOCAL]"). */
  usage: string;
  /** One line for `help`. */
  summary: string;
  /** More for `help NAME`. */
  details?: string;
  needs: Requirement;
  minArgs: number;
  maxArgs: number;
  completion?: ArgumentCompletion;
  run(session: ShellSession, args: string[]): Promise<CommandOutcome>;
}

/** Exit-code and script rules, shown by `help`. */
export const SCRIPT_RULES = `\
Interactive use (a terminal) never stops on an error. In a script (stdin not
a terminal) the shell stops at the first failing command and exits with its
code, unless the line starts with "-" (then errors on that line are ignored).
Exit codes: 0 ok (also after quit), 1 other failure, 2 bad command or usage,
3 not connected or connection failed, 4 not logged in or login refused,
5 remote file error, 6 local file error, 7 transfer interrupted, 8 protocol
error, 9 destination exists. Lines starting with "#" are comments.
There are no local shell escapes ("!").
`;

const TYPES: Record<string, "binary" | "ascii" | "auto"> = {
  binary: "binary",
  image: "binary",
  i: "binary",
  ascii: "ascii",
  a: "ascii",
  auto: "auto",
};

const EXISTING = ["ask", ...EXISTING_POLICIES] as const;

function printReply(session: ShellSession, code: number, lines: string[]): void {
  session.io.print(`${formatReplyLines({ code, lines }).join("\n")}\n`);
}

/** `open [--tls] HOST[:PORT] [PORT]` or `open [--tls] URL`. */
async function open(session: ShellSession, words: string[]): Promise<void> {
  const explicit = words[0] === "--tls";
  const args = explicit ? words.slice(1) : words;
  if (args.length < 1 || args.length > 2 || args[0]!.startsWith("-")) {
    throw new ClientError("Usage: open [--tls] HOST[:PORT] [PORT] | URL", ExitCode.Usage);
  }
  const [where = "", portArgument] = args;
  let host: string;
  let port = 21;
  let user: string | undefined;
  let password: string | undefined;
  let dir = "/";
  let tls: ShellTlsMode = explicit || session.tls ? "explicit" : "none";
  if (where.includes("://")) {
    const url = parseFtpUrl(where);
    if (url.scheme === "ftps") tls = "implicit";
    ({ host, port } = url);
    dir = url.path;
    if (url.user !== undefined) {
      const credentials = await resolveCredentials(url, {
        env: environment(),
        readFile: (file) => Deno.readTextFile(file).catch(() => undefined),
        ...(session.io.input.interactive
          ? { prompt: async (message) => (await session.io.input.readSecret(message)) ?? undefined }
          : {}),
      });
      ({ user, password } = credentials);
    }
  } else {
    const match = /^\[([^\]]+)\](?::(\d+))?$/.exec(where) ?? /^([^:]+)(?::(\d+))?$/.exec(where);
    host = match ? match[1]! : where; // a bare IPv6 address has several colons
    if (match?.[2]) port = Number(match[2]);
  }
  if (portArgument !== undefined) port = Number(portArgument);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new ClientError(`Invalid port ${portArgument ?? where}`, ExitCode.Usage);
  }
  const greeting = await session.connect(host, port, tls);
  session.io.print(
    `Connected to ${host}${tls === "none" ? "" : ` (FTPS, ${tls} TLS)`}.\n`,
  );
  printReply(session, ReplyCode.ServiceReady, greeting);
  if (user === undefined && session.io.input.interactive) {
    const name = await session.io.input.readLine(`Name (${host}): `, { history: false });
    if (name === null || name.trim() === "") return;
    user = name.trim();
  }
  if (user === undefined) return;
  await logIn(session, user, password);
  if (dir !== "/") await changeDirectory(session, [dir]);
}

function environment(): Record<string, string | undefined> {
  return credentialEnvironment();
}

async function logIn(session: ShellSession, user: string, password?: string): Promise<void> {
  let secret = password;
  if (secret === undefined) {
    secret = (await session.io.input.readSecret("Password: ")) ?? undefined;
    if (secret === undefined) throw new ClientError("No password given", ExitCode.Login);
  }
  await session.login(user, secret);
  session.io.print(`Logged in as ${user}. Remote directory: ${session.remoteDir}\n`);
}

async function changeDirectory(session: ShellSession, args: string[]): Promise<void> {
  const client = session.requireLogin();
  const reply = await client.command("CWD", args[0] ?? "/");
  session.remoteDir = await client.pwd();
  printReply(session, reply.code, reply.lines);
}

async function list(session: ShellSession, args: string[]): Promise<void> {
  const client = session.requireLogin();
  const dir = args[0];
  const entries = await client.list(dir);
  session.remember(dir ?? ".", entries);
  const names = entries.map((entry) => entry.name).sort();
  if (names.length > 0) session.io.print(`${names.join("\n")}\n`);
}

async function longList(session: ShellSession, args: string[]): Promise<void> {
  const text = await session.requireLogin().listText("LIST", args[0]);
  const trimmed = text.replace(/\r?\n$/, "").replace(/\r\n/g, "\n");
  if (trimmed !== "") session.io.print(`${trimmed}\n`);
}

async function simple(session: ShellSession, verb: string, argument: string): Promise<void> {
  const reply = await session.requireLogin().command(verb, argument);
  session.forgetListings();
  printReply(session, reply.code, reply.lines);
}

async function localDirectory(session: ShellSession, args: string[]): Promise<void> {
  const target = args[0] === undefined ? homeDir() : session.localPath(args[0]);
  if (target === undefined) throw new ClientError("No home directory", ExitCode.LocalIo);
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(target);
  } catch (error) {
    throw new ClientError(`${target}: ${(error as Error).message}`, ExitCode.LocalIo);
  }
  if (!info.isDirectory) throw new ClientError(`${target} is not a directory`, ExitCode.LocalIo);
  session.localDir = target;
  session.io.print(`Local directory now ${target}\n`);
}

function typeCommand(session: ShellSession, args: string[]): Promise<void> {
  if (args[0] !== undefined) {
    const type = TYPES[args[0].toLowerCase()];
    if (!type) {
      throw new ClientError(`Unknown type ${args[0]} (binary, ascii or auto)`, ExitCode.Usage);
    }
    session.type = type;
  }
  const explain = session.type === "auto"
    ? " (ascii for text files with a text extension, binary for everything else)"
    : session.type === "ascii"
    ? " (files that are not text still go as binary)"
    : "";
  session.io.print(`Using ${session.type} mode to transfer files${explain}.\n`);
  return Promise.resolve();
}

function onlyValue(what: string, value: string, aliases: string[]) {
  return (session: ShellSession, args: string[]): Promise<void> => {
    if (args[0] !== undefined && !aliases.includes(args[0].toLowerCase())) {
      throw new ClientError(`Only ${what} ${value} is supported`, ExitCode.Usage);
    }
    session.io.print(`${what[0]!.toUpperCase()}${what.slice(1)}: ${value}.\n`);
    return Promise.resolve();
  };
}

function passive(session: ShellSession, args: string[]): Promise<void> {
  const value = args[0]?.toLowerCase();
  if (value === undefined) session.active = !session.active;
  else if (value === "on") session.active = false;
  else if (value === "off") session.active = true;
  else throw new ClientError("Use passive on or passive off", ExitCode.Usage);
  if (session.client) session.client.active = session.active;
  session.io.print(`Passive mode ${session.active ? "off (active mode)" : "on"}.\n`);
  return Promise.resolve();
}

async function quote(session: ShellSession, args: string[]): Promise<void> {
  const client = session.requireLogin();
  const verb = args[0]!.toUpperCase();
  // Data-transfer verbs would need a data connection, and their replies would
  // desynchronise the session.
  if (TRANSFER_VERBS.has(verb)) {
    throw new ClientError(
      `quote ${verb} would need a data connection: use get, put, ls or dir`,
      ExitCode.Usage,
    );
  }
  const reply = await client.quote(args.join(" "));
  session.forgetListings();
  if (isNegativeReply(reply.code)) throw new FtpReplyError(verb, reply);
  printReply(session, reply.code, reply.lines);
}

function status(session: ShellSession): Promise<void> {
  const lines: string[] = [];
  if (!session.target) lines.push("Not connected.");
  else {
    const where = `${session.target.host} port ${session.target.port}`;
    lines.push(
      session.client
        ? `Connected to ${where} as ${session.user}.`
        : `Connected to ${where}, not logged in.`,
    );
    lines.push(
      session.target.tls === "none"
        ? "TLS: off (plain FTP)."
        : `TLS: ${session.target.tls}${
          session.client?.tlsProtocol ? `, ${session.client.tlsProtocol}` : ""
        }; data connections protected (PROT P).`,
    );
    if (session.client) lines.push(`Remote directory: ${session.remoteDir}`);
  }
  lines.push(
    `Local directory: ${session.localDir}`,
    `Type: ${session.type}; mode: stream; structure: file.`,
    `Passive mode: ${session.active ? "off" : "on"}.`,
    `Explicit FTPS for new connections (set tls): ${session.tls ? "on" : "off"}.`,
    `Existing destination: ${existingSetting(session)}.`,
    `Debugging: ${session.debug ? "on" : "off"}.`,
  );
  session.io.print(`${lines.join("\n")}\n`);
  return Promise.resolve();
}

function existingSetting(session: ShellSession): string {
  return session.existing === "ask" && !session.io.input.interactive
    ? "fail (ask works on a terminal only)"
    : session.existing;
}

function set(session: ShellSession, args: string[]): Promise<void> {
  const [name, value] = args;
  if (name === undefined) {
    session.io.print(
      `existing ${existingSetting(session)}\ntls ${session.tls ? "on" : "off"}\n`,
    );
    return Promise.resolve();
  }
  if (name === "tls") {
    if (value !== undefined) {
      const lower = value.toLowerCase();
      if (lower !== "on" && lower !== "off") {
        throw new ClientError("Use set tls on|off", ExitCode.Usage);
      }
      session.tls = lower === "on";
    }
    session.io.print(`tls ${session.tls ? "on" : "off"}\n`);
    return Promise.resolve();
  }
  if (name !== "existing") {
    throw new ClientError(`Unknown setting ${name} (existing or tls)`, ExitCode.Usage);
  }
  if (value !== undefined) {
    const choice = EXISTING.find((option) => option === value.toLowerCase());
    if (!choice) {
      throw new ClientError(`Use set existing ${EXISTING.join("|")}`, ExitCode.Usage);
    }
    session.existing = choice;
  }
  session.io.print(`existing ${existingSetting(session)}\n`);
  return Promise.resolve();
}

function help(session: ShellSession, args: string[]): Promise<void> {
  if (args[0] !== undefined) {
    const command = findCommand(args[0]);
    if (!command) throw new ClientError(`Unknown command ${args[0]}`, ExitCode.Usage);
    const aliases = command.aliases?.length ? ` (also ${command.aliases.join(", ")})` : "";
    session.io.print(
      `${command.name} ${command.usage}`.trimEnd() + `${aliases}\n  ${command.summary}\n` +
        (command.details ? `  ${command.details.replaceAll("\n", "\n  ")}\n` : ""),
    );
    return Promise.resolve();
  }
  const width = Math.max(...COMMANDS.map((command) => `${command.name} ${command.usage}`.length));
  const lines = COMMANDS.map((command) =>
    `  ${`${command.name} ${command.usage}`.padEnd(width)}  ${command.summary}`
  );
  session.io.print(`Commands:\n${lines.join("\n")}\n\n${SCRIPT_RULES}`);
  return Promise.resolve();
}

/** Every command, in the order `help` lists them. */
export const COMMANDS: readonly ShellCommand[] = [
  {
    name: "open",
    usage: "[--tls] HOST[:PORT] [PORT] | URL",
    summary: "connect to a server (ftp://user[:password]@host[:port]/dir logs in too)",
    details: "On a terminal, asks for the user name after connecting.\n" +
      "ftps://host[:port] is implicit FTPS (port 990); --tls (or set tls on) is\n" +
      "explicit FTPS (AUTH TLS) on a host or ftp:// URL. The certificate is checked\n" +
      "(shell --ca-file FILE / --insecure); data connections use TLS too (PROT P).",
    needs: "nothing",
    minArgs: 1,
    maxArgs: 3,
    run: open,
  },
  {
    name: "user",
    usage: "NAME [PASSWORD]",
    summary: "log in (the password is asked, hidden, on a terminal)",
    details: "In a script without PASSWORD, the next input line is the password.",
    needs: "connection",
    minArgs: 1,
    maxArgs: 2,
    run: (session, args) => logIn(session, args[0]!, args[1]),
  },
  {
    name: "ls",
    usage: "[DIR]",
    summary: "list remote names",
    needs: "login",
    minArgs: 0,
    maxArgs: 1,
    completion: "remote",
    run: list,
  },
  {
    name: "dir",
    usage: "[DIR]",
    summary: "list a remote directory in long form",
    needs: "login",
    minArgs: 0,
    maxArgs: 1,
    completion: "remote",
    run: longList,
  },
  {
    name: "cd",
    aliases: ["cwd"],
    usage: "DIR",
    summary: "change the remote directory",
    needs: "login",
    minArgs: 1,
    maxArgs: 1,
    completion: "remote",
    run: changeDirectory,
  },
  {
    name: "pwd",
    usage: "",
    summary: "show the remote directory",
    needs: "login",
    minArgs: 0,
    maxArgs: 0,
    run: async (session) => {
      session.remoteDir = await session.requireLogin().pwd();
      session.io.print(`Remote directory: ${session.remoteDir}\n`);
    },
  },
  {
    name: "lcd",
    usage: "[DIR]",
    summary: "change the local directory (home without DIR)",
    needs: "nothing",
    minArgs: 0,
    maxArgs: 1,
    completion: "local",
    run: localDirectory,
  },
  {
    name: "lpwd",
    usage: "",
    summary: "show the local directory",
    needs: "nothing",
    minArgs: 0,
    maxArgs: 0,
    run: (session) => {
      session.io.print(`Local directory: ${session.localDir}\n`);
      return Promise.resolve();
    },
  },
  {
    name: "get",
    aliases: ["recv"],
    usage: "REMOTE [LOCAL]",
    summary: "download a file",
    details: "An existing local file is handled as `set existing` says.",
    needs: "login",
    minArgs: 1,
    maxArgs: 2,
    completion: "remote",
    run: (session, args) => getFile(session, args[0]!, args[1]),
  },
  {
    name: "put",
    aliases: ["send"],
    usage: "LOCAL [REMOTE]",
    summary: "upload a file",
    details: "An existing remote file is handled as `set existing` says.",
    needs: "login",
    minArgs: 1,
    maxArgs: 2,
    completion: "local",
    run: (session, args) => putFile(session, args[0]!, args[1]),
  },
  {
    name: "mget",
    usage: "GLOB...",
    summary: "download the remote files matching * ? [...] patterns",
    details: "Patterns match names in one directory (dir/*.txt), not across directories.",
    needs: "login",
    minArgs: 1,
    maxArgs: Infinity,
    completion: "remote",
    run: (session, args) => getMatching(session, args),
  },
  {
    name: "mput",
    usage: "GLOB...",
    summary: "upload the local files matching * ? [...] patterns",
    needs: "login",
    minArgs: 1,
    maxArgs: Infinity,
    completion: "local",
    run: (session, args) => putMatching(session, args),
  },
  {
    name: "mkdir",
    usage: "DIR",
    summary: "make a remote directory",
    needs: "login",
    minArgs: 1,
    maxArgs: 1,
    completion: "remote",
    run: (session, args) => simple(session, "MKD", args[0]!),
  },
  {
    name: "rmdir",
    usage: "DIR",
    summary: "remove an empty remote directory",
    needs: "login",
    minArgs: 1,
    maxArgs: 1,
    completion: "remote",
    run: (session, args) => simple(session, "RMD", args[0]!),
  },
  {
    name: "rm",
    aliases: ["delete"],
    usage: "FILE",
    summary: "delete a remote file",
    needs: "login",
    minArgs: 1,
    maxArgs: 1,
    completion: "remote",
    run: (session, args) => simple(session, "DELE", args[0]!),
  },
  {
    name: "rename",
    usage: "FROM TO",
    summary: "rename a remote file or directory",
    needs: "login",
    minArgs: 2,
    maxArgs: 2,
    completion: "remote",
    run: async (session, args) => {
      const client = session.requireLogin();
      const from = await client.quote(`RNFR ${args[0]}`);
      if (from.code !== ReplyCode.PendingFurtherInfo) throw new FtpReplyError("RNFR", from);
      await simple(session, "RNTO", args[1]!);
    },
  },
  {
    name: "type",
    usage: "[binary|ascii|auto]",
    summary: "show or set the transfer type (auto: per file, by name and content)",
    details: "binary (the default) moves bytes unchanged; ascii converts line endings but\n" +
      "still sends a file that is not text as binary; auto uses ascii only for\n" +
      "text extensions (.txt, .csv, .html, ...) whose content is text.",
    needs: "nothing",
    minArgs: 0,
    maxArgs: 1,
    completion: ["binary", "ascii", "auto"],
    run: typeCommand,
  },
  {
    name: "mode",
    usage: "[stream]",
    summary: "transfer mode (only stream)",
    needs: "nothing",
    minArgs: 0,
    maxArgs: 1,
    completion: ["stream"],
    run: onlyValue("mode", "stream", ["stream", "s"]),
  },
  {
    name: "stru",
    usage: "[file]",
    summary: "file structure (only file)",
    needs: "nothing",
    minArgs: 0,
    maxArgs: 1,
    completion: ["file"],
    run: onlyValue("structure", "file", ["file", "f"]),
  },
  {
    name: "passive",
    usage: "[on|off]",
    summary: "toggle or set passive mode (off means active mode, PORT/EPRT)",
    needs: "nothing",
    minArgs: 0,
    maxArgs: 1,
    completion: ["on", "off"],
    run: passive,
  },
  {
    name: "set",
    usage: "[existing ask|fail|overwrite|rename|skip|continue | tls on|off]",
    summary: "what get/put do when the destination exists; explicit FTPS for open",
    details: "ask (the default on a terminal) asks each time; fail (the default in\n" +
      "scripts) refuses; rename keeps both (name.1.ext); continue resumes.\n" +
      "tls on: later opens of a host or ftp:// URL use explicit FTPS (AUTH TLS).",
    needs: "nothing",
    minArgs: 0,
    maxArgs: 2,
    completion: ["existing", "tls", ...EXISTING, "on", "off"],
    run: set,
  },
  {
    name: "quote",
    aliases: ["literal"],
    usage: "COMMAND...",
    summary: "send a raw command and show the reply",
    needs: "login",
    minArgs: 1,
    maxArgs: Infinity,
    run: quote,
  },
  {
    name: "debug",
    usage: "[on|off]",
    summary: "show the control dialogue (passwords masked)",
    needs: "nothing",
    minArgs: 0,
    maxArgs: 1,
    completion: ["on", "off"],
    run: (session, args) => {
      const value = args[0]?.toLowerCase();
      session.debug = value === undefined ? !session.debug : value === "on";
      session.io.print(`Debugging ${session.debug ? "on" : "off"}.\n`);
      return Promise.resolve();
    },
  },
  {
    name: "status",
    usage: "",
    summary: "show the connection and settings",
    needs: "nothing",
    minArgs: 0,
    maxArgs: 0,
    run: status,
  },
  {
    name: "help",
    aliases: ["?"],
    usage: "[COMMAND]",
    summary: "list commands, or explain one",
    needs: "nothing",
    minArgs: 0,
    maxArgs: 1,
    completion: "command",
    run: help,
  },
  {
    name: "close",
    aliases: ["disconnect"],
    usage: "",
    summary: "end the session but stay in the shell",
    needs: "connection",
    minArgs: 0,
    maxArgs: 0,
    run: async (session) => {
      await session.disconnect();
      session.io.print("Disconnected.\n");
    },
  },
  {
    name: "quit",
    aliases: ["exit", "bye"],
    usage: "",
    summary: "end the session and the shell",
    needs: "nothing",
    minArgs: 0,
    maxArgs: 0,
    run: async (session) => {
      await session.disconnect();
      return "quit";
    },
  },
];

/** The command with this name or alias (case-insensitive). */
export function findCommand(name: string): ShellCommand | undefined {
  const lower = name.toLowerCase();
  return COMMANDS.find((command) => command.name === lower || command.aliases?.includes(lower));
}

/** Every command name and alias, sorted (for completion). */
export function commandNames(): string[] {
  return COMMANDS.flatMap((command) => [command.name, ...(command.aliases ?? [])]).sort();
}
