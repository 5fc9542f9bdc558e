/**
 * The `ferry client …` command tree: arguments and flags only; each command's
 * work lives in `client/commands/` and `client/mirror.ts`.
 *
 * @module
 */

import { ExitStatus } from "../cli/exit_status.ts";
import { type Command, InvalidArgumentError, Option } from "commander";
import type { ClientContext, ClientOptions } from "./context.ts";
import { ClientError, ExitCode } from "./errors.ts";

// A command's working modules load when it runs (static specifiers, so
// `deno compile` still embeds them), so that start-up, which a one-shot
// `get` or `put` pays every time, loads only what that command uses.
const transferCommands = () => import("./commands/transfer.ts");
const remoteFsCommands = () => import("./commands/remote_fs.ts");

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

async function _context(options: ClientOptions): Promise<ClientContext> {
  const { ClientContext } = await import("./context.ts");
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
      const { get } = await transferCommands();
      await get(await _context(options), url, local);
    });
  _common(client.command("put <files...>"))
    .usage("[options] <local...> <url>")
    .description(
      'Upload files: several into a directory URL ending in "/", one to a file URL.',
    )
    .action(async (args: string[], options: ClientOptions, command: Command) => {
      if (args.length < 2) command.error("error: put needs LOCAL… and a URL", { exitCode: 2 });
      const { put } = await transferCommands();
      await put(await _context(options), args.slice(0, -1), args.at(-1)!);
    });
  _common(client.command("ls <url>"))
    .description("List a remote directory: names, or -l lines, or --json.")
    .option("-l, --long", "ls -l style lines")
    .option("--json", "a JSON array of {name, type, size, mtime}")
    .action(async (url: string, options: ClientOptions & { long?: boolean; json?: boolean }) => {
      const { ls } = await remoteFsCommands();
      await ls(await _context(options), url, { long: !!options.long, json: !!options.json });
    });
  _common(client.command("cat <url>"))
    .description("Write a remote file to stdout.")
    .action(async (url: string, options: ClientOptions) => {
      const { cat } = await transferCommands();
      await cat(await _context(options), url);
    });
  _common(client.command("mkdir <url>"))
    .description("Make a remote directory.")
    .option("-p, --parents", "make missing parents; an existing directory is fine")
    .action(async (url: string, options: ClientOptions & { parents?: boolean }) => {
      const { mkdir } = await remoteFsCommands();
      await mkdir(await _context(options), url, { parents: !!options.parents });
    });
  _common(client.command("rm <url>"))
    .description("Delete a remote file.")
    .action(async (url: string, options: ClientOptions) => {
      const { rm } = await remoteFsCommands();
      await rm(await _context(options), url);
    });
  _common(client.command("rmdir <url>"))
    .description("Remove an empty remote directory.")
    .action(async (url: string, options: ClientOptions) => {
      const { rmdir } = await remoteFsCommands();
      await rmdir(await _context(options), url);
    });
  _common(client.command("mv <url> <newpath>"))
    .description(
      "Rename on the server; NEWPATH is absolute or relative to the URL's directory.",
    )
    .action(async (url: string, newPath: string, options: ClientOptions) => {
      const { mv } = await remoteFsCommands();
      await mv(await _context(options), url, newPath);
    });
  _common(client.command("stat <url>"))
    .description("Show a remote path's type, size and modification time.")
    .option("--json", "print a JSON object")
    .action(async (url: string, options: ClientOptions & { json?: boolean }) => {
      const { stat } = await remoteFsCommands();
      await stat(await _context(options), url, { json: !!options.json });
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
        const [{ mirror }, { parseFtpUrl }] = await Promise.all([
          import("./transfer/mirror.ts"),
          import("./url.ts"),
        ]);
        const ctx = await _context(options);
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
      const [{ runShell }, { readCaFile }] = await Promise.all([
        import("./shell/shell.ts"),
        import("./tls/tls.ts"),
      ]);
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
      const { quote } = await import("./commands/quote.ts");
      await quote(await _context(options), url, words);
    });
  return client;
}
