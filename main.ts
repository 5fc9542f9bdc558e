/**
 * ferry: an FTP server and client in one program. This file is only the
 * command tree; each command's work lives in its own module, and this is the
 * one place that exits.
 *
 * @module
 */

import type { Command } from "commander";
import { EXIT_FAILURE, isCommandFailure } from "./cli/command_error.ts";
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

/** What `ferry user add|passwd|remove` tells about a server that is already running. */
const RELOAD_HINT =
  "A running ferry server picks this up at its next SIGHUP (systemctl reload ferry, or kill -HUP <pid>).";

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

  // `ferry serve` parses its own flags, made from the settings table (server/cli/serve_cli.ts);
  // main() hands it its arguments. This entry only lists it in `ferry --help`.
  program.command("serve")
    .description("Run the FTP server in the foreground (Ctrl-C stops it, SIGHUP reloads).")
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .action(async (_options, command: Command) => {
      const { runServe } = await serverModule();
      await runServe(command.args);
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
    "the users in PostgreSQL instead: postgres://USER:PASSWORD@HOST:PORT/DB " +
    "(default: $FERRY_USERS)",
  ] as const;
  // Per-user settings, for `user add` and `user set`; each --no-… clears one.
  const settingOptions = (command: Command, clearing: boolean): Command => {
    command
      .option("--quota-size <size>", "most bytes the user may store (K, M, G, T suffixes)")
      .option("--quota-files <n>", "most files the user may store")
      .option("--upload-rate <rate>", "upload cap in bytes/s, shared by the user's sessions")
      .option("--download-rate <rate>", "download cap in bytes/s, shared by the user's sessions")
      .option("--max-sessions <n>", "most sessions the user may hold at once")
      .option("--allow-from <cidr>", "log in only from this network (repeatable)", collect, [])
      .option("--deny-from <cidr>", "never log in from this network (repeatable)", collect, []);
    if (clearing) {
      command
        .option("--no-quota", "clear both quotas")
        .option("--no-quota-size", "clear the size quota")
        .option("--no-quota-files", "clear the file quota")
        .option("--no-upload-rate", "clear the upload cap")
        .option("--no-download-rate", "clear the download cap")
        .option("--no-max-sessions", "clear the session limit")
        .option("--no-allow-from", "clear the allowed networks")
        .option("--no-deny-from", "clear the denied networks");
    }
    return command;
  };
  settingOptions(
    user.command("add <name>")
      .description("Add a user; the password is asked for (or read from stdin).")
      .option(...credentialsOption)
      .option(...usersOption)
      .option("--home <dir>", "home directory inside the served root", "/")
      .option("--perms <letters>", "permissions, pyftpdlib letters elradfmwMT", "elradfmwMT")
      .option("--password-stdin", "read the password from stdin"),
    false,
  ).action(async (name: string, options) => {
    const { addUser, readPassword, reloadHint, settingChanges } = await userModule();
    const changes = settingChanges(options);
    const password = await readPassword({ stdin: options.passwordStdin ?? false });
    const record = await addUser(name, password, { ...options, settings: changes.set });
    console.log(
      `Added user ${record.name} (home ${record.home}, permissions ${record.permissions})`,
    );
    console.log(reloadHint(options, RELOAD_HINT));
  });
  settingOptions(
    user.command("set <name>")
      .description("Change a user's home, permissions, quotas, rates or address rules.")
      .option(...credentialsOption)
      .option(...usersOption)
      .option("--home <dir>", "home directory inside the served root")
      .option("--perms <letters>", "permissions, pyftpdlib letters elradfmwMT"),
    true,
  ).action(async (name: string, options) => {
    const { setUser, settingChanges } = await userModule();
    const record = await setUser(name, settingChanges(options), options);
    console.log(`Changed user ${record.name}`);
    console.log(RELOAD_HINT);
  });
  user.command("show <name>")
    .description("Show a user's settings and current usage (bytes and files under the home).")
    .option(...credentialsOption)
    .option(...usersOption)
    .option("--root <dir>", "the served root the home is in", "./srv")
    .option("--json", "print one JSON object")
    .action(async (name: string, options) => {
      const { formatUserReport, showUser } = await userModule();
      const report = await showUser(name, options);
      console.log(options.json ? JSON.stringify(report) : formatUserReport(report));
    });
  user.command("quota-scan <name>")
    .description("Count a user's usage again (bytes and files under the home).")
    .option(...credentialsOption)
    .option(...usersOption)
    .option("--root <dir>", "the served root the home is in", "./srv")
    .action(async (name: string, options) => {
      const { showUser } = await userModule();
      const report = await showUser(name, options);
      console.log(
        `${report.name}: ${report.usage.bytes} bytes in ${report.usage.files} files under ${report.home}. ` +
          "A running server counts again at its next SIGHUP.",
      );
      console.log(RELOAD_HINT);
    });
  user.command("passwd <name>")
    .description("Change a user's password.")
    .option(...credentialsOption)
    .option(...usersOption)
    .option("--password-stdin", "read the password from stdin")
    .action(async (name: string, options) => {
      const { changePassword, readPassword, reloadHint } = await userModule();
      const password = await readPassword({ stdin: options.passwordStdin ?? false });
      await changePassword(name, password, options);
      console.log(`Changed the password of ${name}`);
      console.log(reloadHint(options, RELOAD_HINT));
    });
  user.command("remove <name>")
    .description("Remove a user.")
    .option(...credentialsOption)
    .option(...usersOption)
    .action(async (name: string, options) => {
      const { reloadHint, removeUser } = await userModule();
      await removeUser(name, options);
      console.log(`Removed user ${name}`);
      console.log(reloadHint(options, RELOAD_HINT));
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

/** Exit code for a bad command line (commander's usage errors, a RangeError). */
const EXIT_USAGE = 2;

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
    } else if (first === "serve") {
      // `ferry serve` parses its own flags, made from the settings table.
      const { runServe } = await serverModule();
      await runServe(rest);
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
    // Any command's error with an exit code (CommandError, the client's FtpReplyError…).
    if (isCommandFailure(error)) {
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
