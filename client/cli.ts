/**
 * `ferry client …`: parses the command line against `client/cli_spec.ts`
 * with `node:util`'s `parseArgs` (no npm package, no Node networking on the
 * way), then loads and runs the one command asked for. Help text, the
 * shell, mirroring and the TLS back-ends load only when a command needs them.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { ExitStatus } from "../cli/exit_status.ts";
import type { ClientContext, ClientOptions } from "./context.ts";
import { CLIENT_COMMANDS, type CommandSpec, type OptionSpec } from "./cli_spec.ts";
import { ClientError, ExitCode } from "./errors.ts";

// A command's working modules load when it runs (static specifiers, so
// `deno compile` still embeds them), so that start-up, which a one-shot
// `get` or `put` pays every time, loads only what that command uses.
const transferCommands = () => import("./commands/transfer.ts");
const remoteFsCommands = () => import("./commands/remote_fs.ts");
const helpModule = () => import("./cli_help.ts");

/** A parsed command line: the command, its arguments and its flags (camelCase keys). */
export interface ParsedClientCommand {
  /** The command. */
  command: CommandSpec;
  /** The positional arguments. */
  args: string[];
  /** The flags, defaults filled in. */
  options: Record<string, string | number | boolean>;
}

function usageError(message: string, command?: CommandSpec): ClientError {
  const help = command ? `ferry client ${command.name} --help` : "ferry client --help";
  return new ClientError(`${message} (see ${help})`, ExitCode.Usage);
}

function camelCase(name: string): string {
  return name.replace(/-(\w)/g, (_, letter: string) => letter.toUpperCase());
}

function flagName(option: OptionSpec): string {
  return `--${option.long}${option.value ? ` ${option.value}` : ""}`;
}

/** The argument slots of a command: how many it needs and takes. */
function arity(command: CommandSpec): { min: number; max: number; names: string[] } {
  const slots = command.args.split(" ").filter(Boolean);
  const names = slots.map((slot) => slot.slice(1, -1).replace("...", ""));
  const min = slots.filter((slot) => slot.startsWith("<")).length;
  const max = slots.some((slot) => slot.endsWith("...>") || slot.endsWith("...]"))
    ? Infinity
    : slots.length;
  return { min, max, names };
}

/**
 * Parses `args` (what follows `ferry client <command>`) for `command`.
 *
 * @throws {ClientError} (exit 2) For an unknown flag, a bad value or the wrong number of arguments.
 *
 * @example
 * ```ts
 * import { CLIENT_COMMANDS } from "./cli_spec.ts";
 * const get = CLIENT_COMMANDS.find((c) => c.name === "get")!;
 * parseClientCommand(get, ["ftp://127.0.0.1/a.txt", "-q"]).options.quiet; // true
 * ```
 */
export function parseClientCommand(command: CommandSpec, args: string[]): ParsedClientCommand {
  const config: Record<string, { type: "string" | "boolean"; short?: string }> = {};
  for (const option of command.options) {
    config[option.long] = {
      type: option.value ? "string" : "boolean",
      ...(option.short ? { short: option.short } : {}),
    };
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args, options: config, allowPositionals: true, strict: true });
  } catch (error) {
    const message = (error as Error).message;
    const unknown = /Unknown option '([^']+)'/.exec(message);
    if (unknown) throw usageError(`unknown option '${unknown[1]}'`, command);
    const missing = /Option '(?:-\w, )?--([\w-]+)/.exec(message);
    const option = missing && command.options.find((o) => o.long === missing[1]);
    if (option) throw usageError(`option '${flagName(option)}' argument missing`, command);
    throw usageError(message.split(". ")[0]!.replace(/^\w/, (c) => c.toLowerCase()), command);
  }
  const options: Record<string, string | number | boolean> = {};
  for (const option of command.options) {
    const text = parsed.values[option.long];
    const key = camelCase(option.long);
    if (text === undefined) {
      if (option.default !== undefined) options[key] = option.default;
      continue;
    }
    if (typeof text !== "string") {
      options[key] = text === true;
      continue;
    }
    if (option.choices && !option.choices.includes(text)) {
      throw usageError(
        `option '${flagName(option)}' argument '${text}' is invalid. ` +
          `Allowed choices are ${option.choices.join(", ")}.`,
        command,
      );
    }
    try {
      options[key] = option.parse ? option.parse(text) : text;
    } catch (error) {
      throw usageError(
        `option '${flagName(option)}' argument '${text}' is invalid. ${(error as Error).message}`,
        command,
      );
    }
  }
  const { min, max, names } = arity(command);
  if (parsed.positionals.length < min) {
    throw usageError(
      `missing required argument '${names[parsed.positionals.length]}'`,
      command,
    );
  }
  if (parsed.positionals.length > max) {
    throw usageError(
      `too many arguments for '${command.name}'. Expected ${max} argument${
        max === 1 ? "" : "s"
      } but got ${parsed.positionals.length}.`,
      command,
    );
  }
  return { command, args: parsed.positionals, options };
}

async function context(options: ClientOptions): Promise<ClientContext> {
  const { ClientContext } = await import("./context.ts");
  return new ClientContext(options);
}

function wantsHelp(args: string[]): boolean {
  const end = args.indexOf("--");
  return (end < 0 ? args : args.slice(0, end)).some((arg) => arg === "--help" || arg === "-h");
}

/**
 * Runs `ferry client <args>`; returns when the command is done.
 *
 * @throws {ClientError} With the exit code the command ends with (2 for a bad command line).
 * @throws {ExitStatus} When the command has reported its own outcome (the shell).
 *
 * @example
 * ```ts ignore
 * await runClientCli(["get", "-q", "ftp://127.0.0.1:2121/a.txt", "/tmp/a.txt"]);
 * ```
 */
export async function runClientCli(args: string[]): Promise<void> {
  const [name, ...rest] = args;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    const { clientHelp, commandHelp } = await helpModule();
    const command = CLIENT_COMMANDS.find((spec) => spec.name === rest[0]);
    if (name === "help" && command) return void console.log(commandHelp(command));
    if (name === undefined) {
      console.error(clientHelp());
      throw new ExitStatus(ExitCode.Usage);
    }
    return void console.log(clientHelp());
  }
  const command = CLIENT_COMMANDS.find((spec) => spec.name === name);
  if (!command) {
    throw usageError(
      name.startsWith("-") ? `unknown option '${name}'` : `unknown command '${name}'`,
    );
  }
  if (wantsHelp(rest)) {
    const { commandHelp } = await helpModule();
    return void console.log(commandHelp(command));
  }
  const { args: positionals, options } = parseClientCommand(command, rest);
  await runCommand(command.name, positionals, options);
}

async function runCommand(
  name: string,
  args: string[],
  flags: Record<string, string | number | boolean>,
): Promise<void> {
  const options = flags as ClientOptions & Record<string, string | number | boolean>;
  const [first = "", second] = args;
  switch (name) {
    case "get":
      return void await (await transferCommands()).get(await context(options), first, second, {
        verify: options.verify === true,
      });
    case "put":
      if (args.length < 2) throw usageError("put needs LOCAL… and a URL");
      return void await (await transferCommands()).put(
        await context(options),
        args.slice(0, -1),
        args.at(-1)!,
        { verify: options.verify === true },
      );
    case "hash": {
      const { hash } = await import("./commands/hash.ts");
      return void await hash(await context(options), args, { algo: String(options.algo) });
    }
    case "cat":
      return void await (await transferCommands()).cat(await context(options), first);
    case "ls":
      return void await (await remoteFsCommands()).ls(await context(options), first, {
        long: !!options.long,
        json: !!options.json,
      });
    case "mkdir":
      return void await (await remoteFsCommands()).mkdir(await context(options), first, {
        parents: !!options.parents,
      });
    case "rm":
      return void await (await remoteFsCommands()).rm(await context(options), first);
    case "rmdir":
      return void await (await remoteFsCommands()).rmdir(await context(options), first);
    case "mv":
      return void await (await remoteFsCommands()).mv(await context(options), first, second!);
    case "stat":
      return void await (await remoteFsCommands()).stat(await context(options), first, {
        json: !!options.json,
      });
    case "mirror": {
      const [{ mirror }, { parseFtpUrl }] = await Promise.all([
        import("./transfer/mirror.ts"),
        import("./url.ts"),
      ]);
      const ctx = await context(options);
      const reverse = !!options.reverse;
      const target = second!;
      return void await mirror(
        ctx,
        parseFtpUrl(reverse ? target : first),
        reverse ? first : target,
        { reverse, delete: !!options.delete },
      );
    }
    case "quote": {
      const { quote } = await import("./commands/quote.ts");
      return void await quote(await context(options), first, args.slice(1));
    }
    case "shell":
      return await shell(args[0], options);
    case "ui": {
      const { runUi } = await import("./ui/ui_command.ts");
      const ui = options as {
        local: string;
        listen: string;
        noOpen?: boolean;
        parallel: number;
        caFile?: string;
        timeout: number;
      };
      return await runUi(args[0], {
        local: ui.local,
        listen: ui.listen,
        noOpen: ui.noOpen ?? false,
        parallel: ui.parallel,
        timeout: ui.timeout,
        ...(ui.caFile === undefined ? {} : { caFile: ui.caFile }),
      });
    }
  }
}

async function shell(
  url: string | undefined,
  options: {
    timeout?: number;
    tls?: boolean;
    caFile?: string;
    insecure?: boolean;
    quiet?: boolean;
  },
): Promise<void> {
  if (options.insecure && options.caFile !== undefined) {
    throw new ClientError("--insecure and --ca-file are mutually exclusive", ExitCode.Usage);
  }
  const [{ runShell }, { readCaFile }] = await Promise.all([
    import("./shell/shell.ts"),
    import("./tls/settings.ts"),
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
    timeoutMs: (options.timeout ?? 30) * 1000,
  });
  if (code !== 0) throw new ExitStatus(code);
}
