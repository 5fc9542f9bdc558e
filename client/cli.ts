/**
 * The `ferry client …` command tree: arguments and flags only; each command's
 * work lives in `client/commands/` and `client/mirror.ts`.
 *
 * @module
 */

import { runShell } from "./shell.ts";
import { ExitStatus } from "../cli/exit_status.ts";
import { type Command, InvalidArgumentError, Option } from "commander";
import { cat, get, put } from "./commands/transfer.ts";
import { ls, mkdir, mv, rm, rmdir, stat } from "./commands/remote_fs.ts";
import { quote } from "./commands/quote.ts";
import { ClientContext, type ClientOptions } from "./context.ts";
import { mirror } from "./mirror.ts";
import { parseFtpUrl } from "./url.ts";
import { ClientError, ExitCode } from "./errors.ts";
import { readCaFile } from "./tls.ts";

function _positiveInteger(value: string): number {
  const number = Number(value);
  if (!Number.isSafeInteger(number) || number < 1) {
    throw new InvalidArgumentError("Must be a whole number of 1 or more.");
  }
  return number;
}

function _seconds(value: string): number {
  const number = Number(value);
  if (!Number.isFinite(number) || number <= 0) {
    throw new InvalidArgumentError("Must be a number of seconds above 0.");
  }
  return number;
}

/** Adds the flags every client command takes. */
function _common(command: Command): Command {
  return command
    .option("--user <name[:pass]>", "log in as this user (the URL's user wins)")
    .option("--active", "active mode data connections (EPRT, then PORT)")
    .addOption(
      new Option("--type <type>", "representation type; auto picks per file")
        .choices(["binary", "ascii", "auto"]).default("binary"),
    )
    .option("--overwrite", "replace an existing destination")
    .option("--skip-existing", "leave an existing destination alone")
    .option("--rename", "keep both: write to NAME.1.EXT, NAME.2.EXT, …")
    .option("-c, --continue", "resume into an existing destination (REST)")
    .option("--parallel <n>", "sessions for several files or a tree", _positiveInteger, 1)
    .option("-q, --quiet", "no progress bar or notices")
    .option("-v, --verbose", "print the control dialogue on stderr (passwords masked)")
    .option("--timeout <seconds>", "connect and reply timeout", _seconds, 30)
    .option("--tls", "explicit FTPS on ftp:// URLs: AUTH TLS, then PROT P (ftps:// is implicit)")
    .option("--ca-file <file>", "also trust the certificates in this PEM file")
    .option("--insecure", "do not verify the server's TLS certificate (warns)");
}

function _context(options: ClientOptions): ClientContext {
  return new ClientContext(options);
}

/**
 * Defines the client subcommands on `client` (the `ferry client` command).
 *
 * @example
 * ```ts
 * defineClientCommands(program.command("client"));
 * ```
 */
export function defineClientCommands(client: Command): Command {
  client.description(
    "FTP client commands: URLs are ftp://[user[:password]@]host[:port]/path " +
      "(ftps://… for implicit FTPS, port 990; --tls for explicit FTPS).",
  );
  _common(client.command("get <url> [local]"))
    .description("Download a remote file (to LOCAL, or into LOCAL if it is a directory).")
    .action(async (url: string, local: string | undefined, options: ClientOptions) => {
      await get(_context(options), url, local);
    });
  _common(client.command("put <files...>"))
    .usage("[options] <local...> <url>")
    .description(
      'Upload files: several into a directory URL ending in "/", one to a file URL.',
    )
    .action(async (args: string[], options: ClientOptions, command: Command) => {
      if (args.length < 2) command.error("error: put needs LOCAL… and a URL", { exitCode: 2 });
      await put(_context(options), args.slice(0, -1), args.at(-1)!);
    });
  _common(client.command("ls <url>"))
    .description("List a remote directory: names, or -l lines, or --json.")
    .option("-l, --long", "ls -l style lines")
    .option("--json", "a JSON array of {name, type, size, mtime}")
    .action(async (url: string, options: ClientOptions & { long?: boolean; json?: boolean }) => {
      await ls(_context(options), url, { long: !!options.long, json: !!options.json });
    });
  _common(client.command("cat <url>"))
    .description("Write a remote file to stdout.")
    .action(async (url: string, options: ClientOptions) => {
      await cat(_context(options), url);
    });
  _common(client.command("mkdir <url>"))
    .description("Make a remote directory.")
    .option("-p, --parents", "make missing parents; an existing directory is fine")
    .action(async (url: string, options: ClientOptions & { parents?: boolean }) => {
      await mkdir(_context(options), url, { parents: !!options.parents });
    });
  _common(client.command("rm <url>"))
    .description("Delete a remote file.")
    .action(async (url: string, options: ClientOptions) => {
      await rm(_context(options), url);
    });
  _common(client.command("rmdir <url>"))
    .description("Remove an empty remote directory.")
    .action(async (url: string, options: ClientOptions) => {
      await rmdir(_context(options), url);
    });
  _common(client.command("mv <url> <newpath>"))
    .description(
      "Rename on the server; NEWPATH is absolute or relative to the URL's directory.",
    )
    .action(async (url: string, newPath: string, options: ClientOptions) => {
      await mv(_context(options), url, newPath);
    });
  _common(client.command("stat <url>"))
    .description("Show a remote path's type, size and modification time.")
    .option("--json", "print a JSON object")
    .action(async (url: string, options: ClientOptions & { json?: boolean }) => {
      await stat(_context(options), url, { json: !!options.json });
    });
  _common(client.command("mirror <source> <target>"))
    .usage("[options] <url> <dir>  |  -R [options] <dir> <url>")
    .description(
      "Mirror a remote tree into DIR (or DIR to the server with -R), moving only " +
        "files whose size or time differ.",
    )
    .option("-R, --reverse", "upload: mirror the local DIR to the URL")
    .option("--delete", "delete target files and directories the source lacks")
    .action(
      async (
        source: string,
        target: string,
        options: ClientOptions & { reverse?: boolean; delete?: boolean },
      ) => {
        const ctx = _context(options);
        const reverse = !!options.reverse;
        await mirror(ctx, parseFtpUrl(reverse ? target : source), reverse ? source : target, {
          reverse,
          delete: !!options.delete,
        });
      },
    );
  client.command("shell [url]")
    .description(
      "Interactive shell (open, ls, cd, get, put, mget, mput, …; `help` lists them). " +
        "With a script on stdin it stops at the first failing line.",
    )
    .option("--timeout <seconds>", "connect and reply timeout", _seconds, 30)
    .option("--tls", "explicit FTPS (AUTH TLS) for hosts and ftp:// URLs (set tls on)")
    .option("--ca-file <file>", "also trust the certificates in this PEM file")
    .option("--insecure", "do not verify FTPS certificates (warns)")
    .option("-q, --quiet", "no --insecure warning")
    .action(async (
      url: string | undefined,
      options: {
        timeout: number;
        tls?: boolean;
        caFile?: string;
        insecure?: boolean;
        quiet?: boolean;
      },
    ) => {
      if (options.insecure && options.caFile !== undefined) {
        throw new ClientError("--insecure and --ca-file are mutually exclusive", ExitCode.Usage);
      }
      const ca = options.caFile === undefined ? undefined : await readCaFile(options.caFile);
      const encoder = new TextEncoder();
      if (options.insecure && !options.quiet) {
        Deno.stderr.writeSync(encoder.encode(
          "ferry: warning: --insecure: FTPS certificates are not verified; " +
            "anyone on the path can read and change these sessions\n",
        ));
      }
      const code = await runShell({
        tls: !!options.tls,
        trust: {
          ...(ca === undefined ? {} : { ca }),
          ...(options.insecure ? { insecure: true } : {}),
        },
        ...(url === undefined ? {} : { url }),
        input: Deno.stdin.isTerminal() ? "tty" : Deno.stdin.readable,
        output: (text) => Deno.stdout.writeSync(encoder.encode(text)),
        error: (text) => Deno.stderr.writeSync(encoder.encode(text)),
        timeoutMs: options.timeout * 1000,
      });
      if (code !== 0) throw new ExitStatus(code);
    });
  _common(client.command("quote <url> <command...>"))
    .description("Send a raw command and print the reply (exit non-zero on 4xx/5xx).")
    .action(async (url: string, words: string[], options: ClientOptions) => {
      await quote(_context(options), url, words);
    });
  return client;
}
