/**
 * ferry: an FTP server and client in one program. This file is only the
 * command tree; each command's work lives in its own module, and this is the
 * one place that exits.
 *
 * @module
 */

import type { Command } from "commander";
import { CommandError } from "./cli/command_error.ts";
import { ExitStatus } from "./cli/exit_status.ts";

/** What `ferry --version` prints. */
const VERSION = "0.1.0";

// Each command's modules load when it runs (static specifiers, so `deno compile`
// still embeds them): a client command never pays for the server's, nor
// `ferry serve` for the client's. `ferry client` and `ferry --version` load
// neither commander nor the npm layer: they start like any small program.
const clientModule = () => import("./client/cli.ts");
const serverModule = () => import("./server/cli/serve_command.ts");
const userModule = () => import("./server/cli/user_command.ts");
const certModule = () => import("./server/cli/cert_command.ts");

const collect = (value: string, previous: string[]) => [...previous, value];

async function buildProgram(): Promise<Command> {
  const [{ Command }, { CLIENT_DESCRIPTION }] = await Promise.all([
    import("commander"),
    import("./client/cli_spec.ts"),
  ]);
  const program = new Command("ferry")
    .description("An FTP server and client in one program.")
    .version(VERSION)
    .exitOverride()
    // Decided here, so commander never reads color variables from the environment
    // (the server runs without --allow-env).
    .configureOutput({ getOutHasColors: () => false, getErrHasColors: () => false })
    .showHelpAfterError();

  program.command("serve")
    .description("Run the FTP server in the foreground (Ctrl-C stops it).")
    .option(
      "--host <addr>",
      "address to listen on; repeat for several (default: 127.0.0.1 and ::1)",
      collect,
      [],
    )
    .option("--port <port>", "control port (0 picks a free one)", "2121")
    .option("--root <dir>", "directory to serve; users' homes are inside it", "./srv")
    .option("--credentials <file>", "credentials file", "./credentials.txt")
    .option(
      "--users <url>",
      "keep users (and shared quota usage and session counts) in PostgreSQL: " +
        "postgres://USER:PASSWORD@HOST:PORT/DB (default: $FERRY_USERS, else the credentials file)",
    )
    .option("--anonymous", "allow anonymous read-only logins (user anonymous or ftp)")
    .option("--pasv-ports <low-high>", "passive data ports to use, e.g. 50000-50999")
    .option("--pasv-address <ipv4>", "address announced in PASV replies (for NAT)")
    .option("--idle-timeout <seconds>", "close idle control connections after this long", "300")
    .option("--data-timeout <seconds>", "give up on a data connection after this long", "30")
    .option("--max-sessions <n>", "most control connections at once", "2000")
    .option("--max-sessions-per-ip <n>", "most control connections at once from one address", "100")
    .option("--max-login-failures <n>", "failed logins before a session is closed", "5")
    .option(
      "--atomic-uploads",
      "STOR/STOU write to a hidden temporary name, renamed over the target on success",
    )
    .option(
      "--shutdown-grace <seconds>",
      "on SIGINT/SIGTERM, let running transfers finish for up to this long",
      "30",
    )
    .option("--tls-cert <file>", "TLS certificate (PEM); with --tls-key turns on FTPS (AUTH TLS)")
    .option("--tls-key <file>", "TLS private key (PEM)")
    .option("--implicit-tls-port <port>", "also listen for implicit FTPS (TLS from the start)")
    .option("--require-tls", "refuse login on a clear control connection and PROT C transfers")
    .option("--allow-anonymous-clear", "with --require-tls: anonymous may still use clear FTP")
    .option(
      "--tls-reuse-optional",
      "accept PROT P data connections that do not resume the control connection's TLS session",
    )
    .option(
      "--tls-max-version <1.2|1.3>",
      "highest TLS version offered; 1.2 lets the server check that data connections resume " +
        "their own control connection's session",
      "1.3",
    )
    .action(async (options) => {
      const { serve } = await serverModule();
      await serve(options, Deno.args.slice(Deno.args.indexOf("serve") + 1));
    });

  program.command("cert")
    .description("Make TLS certificates for FTPS.")
    .command("make")
    .description("Write a self-signed certificate and key for a quick FTPS test set-up.")
    .option("--out-cert <file>", "certificate file to write", "cert.pem")
    .option("--out-key <file>", "private key file to write (mode 0600)", "key.pem")
    .option("--host <name>", "DNS name or IP address to certify; repeat for several", collect, [])
    .option("--days <n>", "days the certificate is valid", "365")
    .option("--force", "overwrite existing files")
    .action(async (options) => {
      const { makeCertificate } = await certModule();
      const made = await makeCertificate(options);
      console.log(`Wrote ${made.cert} and ${made.key} for ${made.hosts.join(", ")}`);
    });

  const user = program.command("user").description(
    "Manage the virtual users (in the credentials file, or PostgreSQL with --users).",
  );
  const credentialsOption = [
    "--credentials <file>",
    "credentials file",
    "./credentials.txt",
  ] as const;
  const usersOption = [
    "--users <url>",
    "edit the users in PostgreSQL instead: postgres://USER:PASSWORD@HOST:PORT/DB " +
    "(default: $FERRY_USERS)",
  ] as const;
  user.command("add <name>")
    .description("Add a user; the password is asked for (or read from stdin).")
    .option(...credentialsOption)
    .option(...usersOption)
    .option("--home <dir>", "home directory inside the served root", "/")
    .option("--perms <letters>", "permissions, pyftpdlib letters elradfmwMT", "elradfmwMT")
    .option("--password-stdin", "read the password from stdin")
    .action(async (name: string, options) => {
      const { addUser, readPassword } = await userModule();
      const password = await readPassword({ stdin: options.passwordStdin ?? false });
      const record = await addUser(name, password, options);
      console.log(
        `Added user ${record.name} (home ${record.home}, permissions ${record.permissions})`,
      );
    });
  user.command("passwd <name>")
    .description("Change a user's password.")
    .option(...credentialsOption)
    .option(...usersOption)
    .option("--password-stdin", "read the password from stdin")
    .action(async (name: string, options) => {
      const { changePassword, readPassword } = await userModule();
      const password = await readPassword({ stdin: options.passwordStdin ?? false });
      await changePassword(name, password, options);
      console.log(`Changed the password of ${name}`);
    });
  user.command("remove <name>")
    .description("Remove a user.")
    .option(...credentialsOption)
    .option(...usersOption)
    .action(async (name: string, options) => {
      const { removeUser } = await userModule();
      await removeUser(name, options);
      console.log(`Removed user ${name}`);
    });
  user.command("list")
    .description("List the users.")
    .option(...credentialsOption)
    .option(...usersOption)
    .action(async (options) => {
      const { listUsers } = await userModule();
      for (const record of await listUsers(options)) {
        console.log(`${record.name}\t${record.home}\t${record.permissions}`);
      }
    });
  // Listed here for `ferry --help`; main() runs `ferry client …` before commander loads.
  program.command("client").description(CLIENT_DESCRIPTION).helpOption(false);
  return program;
}

/** Exit codes of the CLI. */
const EXIT_USAGE = 2;
const EXIT_FAILURE = 1;

/** Whether `error` is commander's (a usage error, or help and version shown). */
function isCommanderError(error: unknown): error is { exitCode: number } {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === "string" && code.startsWith("commander.");
}

async function main(args: string[]): Promise<number> {
  try {
    const [first, ...rest] = args;
    if (first === "client") {
      const { runClientCli } = await clientModule();
      await runClientCli(rest);
    } else if ((first === "--version" || first === "-V") && rest.length === 0) {
      console.log(VERSION);
    } else {
      await (await buildProgram()).parseAsync(args, { from: "user" });
    }
    return 0;
  } catch (error) {
    if (isCommanderError(error)) {
      return error.exitCode === 0 ? 0 : EXIT_USAGE;
    }
    if (error instanceof ExitStatus) return error.exitCode;
    if (error instanceof CommandError) {
      console.error(`ferry: ${error.message}`);
      return error.exitCode;
    }
    if (error instanceof RangeError) {
      console.error(`ferry: ${error.message}`);
      return EXIT_USAGE;
    }
    console.error(`ferry: ${error instanceof Error ? error.message : String(error)}`);
    return EXIT_FAILURE;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
