/**
 * Effective settings from their four sources, in order of precedence: the
 * command-line flag, then the `FERRY_*` environment variable, then the TOML
 * file, then the default. Every bad value (and every unknown key in the
 * file) is collected, so one start-up names them all; nothing is applied
 * unless everything is good.
 *
 * @module
 */

import { parse as parseToml, TomlError } from "smol-toml";
import { CommandError } from "../../cli/command_error.ts";
import { DEFAULT_CONFIG, type ServerConfig } from "../config.ts";
import { InvalidSettingValue, type TomlValue } from "./setting_kinds.ts";
import { envName, flagName, type Setting, SETTINGS } from "./settings.ts";

/** The exit code for bad settings (a usage error). */
export const EXIT_BAD_SETTINGS = 2;

/** Thrown for settings that cannot be used; the message names the source, the key and what was expected. */
export class SettingsError extends CommandError {
  /** One line per problem. */
  readonly problems: readonly string[];

  /** Creates the error from its problems. */
  constructor(problems: readonly string[]) {
    // main.ts prints the first line after "ferry: "; the others get the same prefix here.
    super(problems.join("\nferry: "), EXIT_BAD_SETTINGS);
    this.name = "SettingsError";
    this.problems = problems;
  }
}

/** A flag's value as commander gives it: text, texts of a repeated flag, or a switch. */
export type FlagValue = string | string[] | boolean;

/** Where the settings come from. */
export interface SettingsSources {
  /** Values given on the command line, by setting key. */
  flags?: Readonly<Record<string, FlagValue>>;
  /** Reads an environment variable; undefined when unset. */
  env?: (name: string) => string | undefined;
  /** The configuration file: its name (for messages) and its text. */
  file?: { path: string; text: string };
}

/** One setting's value and where it came from ("default", "file x.toml", "env FERRY_PORT", "flag --port"). */
export interface EffectiveSetting {
  readonly value: unknown;
  readonly source: string;
}

/** Every setting that has a value (its own or its default), by key. */
export type EffectiveSettings = ReadonlyMap<string, EffectiveSetting>;

function problem(where: string, entry: Setting, raw: unknown, expected: string): string {
  // A secret setting's bad value may still hold the secret (a URL's password): never shown.
  const shown = entry.secret
    ? "a value that is not shown (it may hold a password)"
    : typeof raw === "string"
    ? JSON.stringify(raw)
    : JSON.stringify(raw) ?? String(raw);
  return `${where}: ${entry.key}: expected ${expected}, got ${shown}`;
}

function read<T>(
  problems: string[],
  where: string,
  entry: Setting,
  raw: unknown,
  reader: (value: T) => unknown,
): { value: unknown } | undefined {
  try {
    return { value: reader(raw as T) };
  } catch (error) {
    if (!(error instanceof InvalidSettingValue)) throw error;
    problems.push(problem(where, entry, raw, error.expected));
    return undefined;
  }
}

function parseFile(
  file: { path: string; text: string },
  problems: string[],
): Record<string, unknown> {
  try {
    return parseToml(file.text) as Record<string, unknown>;
  } catch (error) {
    if (error instanceof TomlError) {
      const message = error.message.split("\n")[0]!.replace(/^Invalid TOML document: /, "");
      problems.push(
        `${file.path}: invalid TOML at line ${error.line}, column ${error.column}: ${message}`,
      );
      return {};
    }
    throw error;
  }
}

function fromFlag(entry: Setting, value: FlagValue): unknown {
  if (typeof value === "boolean") return value;
  const texts = typeof value === "string" ? [value] : value;
  if (!entry.kind.repeatable) return entry.kind.fromText(texts[texts.length - 1] ?? "");
  const parts = texts.map((text) => entry.kind.fromText(text));
  return Array.isArray(parts[0]) ? parts.flat() : Object.assign({}, ...parts);
}

/**
 * Resolves every setting from its sources: flag, then environment, then
 * file, then default.
 *
 * @throws {SettingsError} naming every bad value and unknown key.
 *
 * @example
 * ```ts
 * const settings = resolveSettings({ flags: { port: "2122" } });
 * settings.get("port"); // { value: 2122, source: "flag --port" }
 * ```
 */
export function resolveSettings(sources: SettingsSources): EffectiveSettings {
  const problems: string[] = [];
  const fileValues = sources.file ? parseFile(sources.file, problems) : {};
  const known = new Set(SETTINGS.map((entry) => entry.key));
  for (const key of Object.keys(fileValues)) {
    if (!known.has(key)) {
      problems.push(`${sources.file!.path}: unknown key ${JSON.stringify(key)}`);
    }
  }
  const settings = new Map<string, EffectiveSetting>();
  for (const entry of SETTINGS) {
    const flag = sources.flags?.[entry.key];
    const env = sources.env?.(envName(entry));
    let found: { value: unknown } | undefined;
    let source = "default";
    if (flag !== undefined) {
      source = `flag ${flagName(entry)}`;
      found = read(problems, source, entry, flag, (value: FlagValue) => fromFlag(entry, value));
    } else if (env !== undefined) {
      source = `environment variable ${envName(entry)}`;
      found = read(problems, source, entry, env, entry.kind.fromText);
    } else if (Object.hasOwn(fileValues, entry.key)) {
      source = sources.file!.path;
      found = read(problems, source, entry, fileValues[entry.key], entry.kind.fromToml);
    } else if (entry.default !== undefined) {
      found = { value: entry.default };
    }
    if (found !== undefined) settings.set(entry.key, { value: found.value, source });
  }
  if (problems.length > 0) throw new SettingsError(problems);
  return settings;
}

/**
 * The server configuration for effective settings: the defaults of
 * {@linkcode DEFAULT_CONFIG} with every setting applied.
 *
 * @example
 * ```ts
 * toServerConfig(resolveSettings({})).port; // 2121
 * ```
 */
export function toServerConfig(settings: EffectiveSettings): ServerConfig {
  const config: ServerConfig = { ...DEFAULT_CONFIG };
  for (const entry of SETTINGS) {
    const effective = settings.get(entry.key);
    if (effective !== undefined) entry.apply(config, effective.value);
  }
  return config;
}

const BARE_KEY = /^[A-Za-z0-9_-]+$/;

/** A TOML value in the one-line form (inline arrays and tables). */
export function formatTomlValue(value: TomlValue): string {
  if (typeof value === "string") {
    // JSON string escapes are TOML basic-string escapes; DEL must be escaped too.
    return JSON.stringify(value).replaceAll("\x7f", "\\u007f");
  }
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  if (Array.isArray(value)) return `[${value.map(formatTomlValue).join(", ")}]`;
  const pairs = Object.entries(value).map(([key, item]) =>
    `${BARE_KEY.test(key) ? key : JSON.stringify(key)} = ${formatTomlValue(item)}`
  );
  return pairs.length === 0 ? "{}" : `{ ${pairs.join(", ")} }`;
}

/** A setting's value as shown by `--print-config`: secrets hidden. */
function shownValue(entry: Setting, value: unknown): TomlValue {
  if (entry.secret) {
    return entry.kind.redact ? entry.kind.toToml(entry.kind.redact(value)) : "<redacted>";
  }
  return entry.kind.toToml(value);
}

/**
 * The effective settings as TOML, one `key = value` line per setting with
 * where it came from; unset settings as comments. Secrets are hidden.
 *
 * @example
 * ```ts
 * formatSettings(resolveSettings({})).startsWith("host = "); // true
 * ```
 */
export function formatSettings(settings: EffectiveSettings): string {
  const lines = SETTINGS.map((entry) => {
    const effective = settings.get(entry.key);
    if (effective === undefined) return `# ${entry.key} is not set`;
    const line = `${entry.key} = ${formatTomlValue(shownValue(entry, effective.value))}`;
    return effective.source === "default" ? line : `${line} # from ${effective.source}`;
  });
  return lines.join("\n") + "\n";
}

/**
 * The text of `ferry.example.toml`: every setting with its help line and its
 * default (settings without one commented out, with an example value).
 */
export function exampleToml(): string {
  const blocks = SETTINGS.map((entry) => {
    const value = entry.default ?? entry.example;
    if (value === undefined) throw new Error(`Setting ${entry.key} has no default or example`);
    const line = `${entry.key} = ${formatTomlValue(entry.kind.toToml(value))}`;
    const restart = entry.live ? "" : "; a change needs a restart";
    const where = `# ${flagName(entry)}, ${envName(entry)}${restart}`;
    return `# ${entry.help}\n${where}\n${entry.default === undefined ? "# " : ""}${line}`;
  });
  return [
    "# ferry serve settings: every key, with its default. Start with",
    "#   ferry serve --config ferry.toml",
    "# Flags override environment variables (FERRY_<KEY>), which override this file.",
    "# SIGHUP re-reads this file, the credentials file and the TLS certificate and key.",
    "",
    blocks.join("\n\n"),
    "",
  ].join("\n");
}
