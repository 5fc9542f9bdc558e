/**
 * The `ferry serve` command line, built from the settings table: one flag
 * per setting (see `ops/settings.ts`), plus `--config` and `--print-config`.
 *
 * @module
 */

import { Command } from "commander";
import type { FlagValue } from "../ops/resolve_settings.ts";
import { flagName, SETTINGS } from "../ops/settings.ts";
import { formatTomlValue } from "../ops/resolve_settings.ts";

/** What `ferry serve` was told on its command line. */
export interface ServeRequest {
  /** The settings given as flags, by key. */
  flags: Record<string, FlagValue>;
  /** `--config FILE`. */
  configPath?: string;
  /** `--print-config`: print the effective settings and exit. */
  printConfig?: boolean;
}

const collect = (value: string, previous: string[] | undefined) => [...(previous ?? []), value];

/**
 * The `serve` command with a flag for every setting. Its options carry no
 * defaults: a flag that was not given leaves the setting to the
 * environment, the file or the default.
 */
export function serveCommand(): Command {
  const command = new Command("ferry serve")
    .description("Run the FTP server in the foreground (Ctrl-C stops it, SIGHUP reloads).")
    .exitOverride()
    .configureOutput({ getOutHasColors: () => false, getErrHasColors: () => false })
    .showHelpAfterError()
    .option("--config <file>", "TOML configuration file (or FERRY_CONFIG); flags override it")
    .option("--print-config", "print the effective settings as TOML and exit");
  for (const entry of SETTINGS) {
    const shown = entry.default === undefined
      ? ""
      : ` (default: ${formatTomlValue(entry.kind.toToml(entry.default))})`;
    const flags = entry.kind.argName === undefined
      ? flagName(entry)
      : `${flagName(entry)} ${entry.kind.argName}`;
    if (entry.kind.repeatable) command.option(flags, entry.help + shown, collect);
    else command.option(flags, entry.help + shown);
  }
  return command;
}

/** The settings given as flags on `command` (after parsing), by key. */
export function givenFlags(command: Command): Record<string, FlagValue> {
  const flags: Record<string, FlagValue> = {};
  const options = command.opts();
  for (const entry of SETTINGS) {
    const option = command.options.find((candidate) => candidate.long === flagName(entry));
    if (!option) continue;
    const name = option.attributeName();
    if (command.getOptionValueSource(name) !== "cli") continue;
    flags[entry.key] = options[name] as FlagValue;
  }
  return flags;
}

/**
 * Parses `ferry serve`'s arguments (those after `serve`).
 *
 * @throws {CommanderError} for an unknown flag or a missing argument (commander prints why).
 */
export function parseServeArgs(
  args: readonly string[],
  configure: (command: Command) => Command = (command) => command,
): ServeRequest {
  const command = configure(serveCommand());
  command.parse([...args], { from: "user" });
  const options = command.opts();
  return {
    flags: givenFlags(command),
    ...(options.config !== undefined ? { configPath: options.config as string } : {}),
    ...(options.printConfig ? { printConfig: true } : {}),
  };
}
