/**
 * Help text for `ferry client` and its commands, made from the command
 * specs (`client/cli_spec.ts`) in the layout commander uses for the other
 * commands. Loaded only when help is asked for.
 *
 * @module
 */

import {
  CLIENT_COMMANDS,
  CLIENT_DESCRIPTION,
  type CommandSpec,
  HELP_OPTION,
  type OptionSpec,
} from "./cli_spec.ts";

/** Help lines are wrapped to this width. */
const WIDTH = 100;

function term(option: OptionSpec): string {
  const long = `--${option.long}${option.value ? ` ${option.value}` : ""}`;
  return option.short ? `-${option.short}, ${long}` : long;
}

function describe(option: OptionSpec): string {
  const extras: string[] = [];
  if (option.choices) extras.push(`choices: ${option.choices.map((c) => `"${c}"`).join(", ")}`);
  if (option.default !== undefined) {
    extras.push(
      `default: ${typeof option.default === "string" ? `"${option.default}"` : option.default}`,
    );
  }
  return extras.length ? `${option.description} (${extras.join(", ")})` : option.description;
}

function wrap(text: string, indent: number): string {
  const words = text.split(" ");
  const lines: string[] = [];
  let line = "";
  for (const word of words) {
    if (line && indent + line.length + 1 + word.length > WIDTH) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  lines.push(line);
  return lines.join(`\n${" ".repeat(indent)}`);
}

function table(title: string, rows: [string, string][]): string {
  const width = Math.max(...rows.map(([left]) => left.length)) + 2;
  return `${title}:\n` +
    rows.map(([left, right]) => `  ${left.padEnd(width)}${wrap(right, width + 2)}`).join("\n");
}

/**
 * The help of one command (`ferry client get --help`).
 *
 * @example
 * ```ts
 * import { CLIENT_COMMANDS } from "./cli_spec.ts";
 * commandHelp(CLIENT_COMMANDS[0]!).startsWith("Usage: ferry client get"); // true
 * ```
 */
export function commandHelp(command: CommandSpec): string {
  const usage = command.usage ?? `[options] ${command.args}`;
  return [
    `Usage: ferry client ${command.name} ${usage}`,
    "",
    wrap(command.description, 0),
    "",
    table(
      "Options",
      [...command.options, HELP_OPTION].map((option) => [term(option), describe(option)]),
    ),
  ].join("\n");
}

/**
 * The help of `ferry client`: every command in a line.
 *
 * @example
 * ```ts
 * clientHelp().includes("get [options] <url> [local]"); // true
 * ```
 */
export function clientHelp(): string {
  return [
    "Usage: ferry client [options] [command]",
    "",
    wrap(CLIENT_DESCRIPTION, 0),
    "",
    table("Options", [[term(HELP_OPTION), HELP_OPTION.description]]),
    "",
    table("Commands", [
      ...CLIENT_COMMANDS.map((command): [string, string] => [
        `${command.name} [options] ${command.args}`,
        command.description,
      ]),
      ["help [command]", "display help for command"],
    ]),
  ].join("\n");
}
