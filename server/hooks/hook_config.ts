/**
 * What a hook is: the events it reacts to and what it runs (a command, as
 * an argument vector and never a shell string, or an HTTP webhook), and the
 * parsers for the config file's `[[hooks]]` list and the `--hook` flag.
 *
 * @module
 */

import * as path from "node:path";

/** The events that run hooks after the fact, in the background. */
export const POST_EVENTS = [
  "login",
  "login-failed",
  "logout",
  "upload",
  "download",
  "delete",
  "rename",
  "mkdir",
  "rmdir",
] as const;

/** The events whose hooks run before the operation and may refuse it. */
export const PRE_EVENTS = ["pre-upload", "pre-delete"] as const;

/** An event that runs hooks after it happened. */
export type PostEventName = typeof POST_EVENTS[number];
/** An event whose hooks decide whether an operation may go ahead. */
export type PreEventName = typeof PRE_EVENTS[number];
/** Any event a hook may be configured for. */
export type HookEventName = PostEventName | PreEventName;

/** One configured hook. Exactly one of `command` and `url` is set. */
export interface HookConfig {
  /** The events that run it. */
  events: HookEventName[];
  /** The program and its arguments, run without a shell; the event is in `FERRY_*` variables. */
  command?: string[];
  /** A webhook: the event is POSTed to it as one JSON object. */
  url?: string;
  /** Extra request headers for a webhook (e.g. `Authorization`). */
  headers?: Record<string, string>;
  /** How long it may run, in milliseconds; the server's hook timeout when absent. */
  timeoutMs?: number;
}

/** The server-wide hook settings, with {@linkcode DEFAULT_HOOK_SETTINGS}. */
export interface HookSettings {
  /** The configured hooks. */
  hooks: HookConfig[];
  /** Most background hooks running at once. */
  maxConcurrent: number;
  /** Most background hook runs waiting for a turn; more are dropped and counted. */
  queueSize: number;
  /** How long a hook may run unless it says otherwise, in milliseconds. */
  timeoutMs: number;
}

/** The defaults: no hooks, 4 at once, 1000 waiting, 30 s each. */
export const DEFAULT_HOOK_SETTINGS: HookSettings = {
  hooks: [],
  maxConcurrent: 4,
  queueSize: 1000,
  timeoutMs: 30_000,
};

/** The longest timeout a hook may have, in seconds. */
const MAX_TIMEOUT_SECONDS = 3600;

const EVENT_NAMES: ReadonlySet<string> = new Set<string>([...POST_EVENTS, ...PRE_EVENTS]);

/** True for a name a hook can be configured for. */
export function isHookEventName(name: string): name is HookEventName {
  return EVENT_NAMES.has(name);
}

/** True for an event whose hooks run before the operation. */
export function isPreEvent(name: HookEventName): name is PreEventName {
  return name === "pre-upload" || name === "pre-delete";
}

/** Event names, `*` standing for every post event; duplicates removed. */
function eventList(names: string[], where: string): HookEventName[] {
  const events: HookEventName[] = [];
  for (const raw of names) {
    const name = raw.trim();
    const expanded = name === "*" ? [...POST_EVENTS] : [name];
    for (const one of expanded) {
      if (!isHookEventName(one)) {
        throw new TypeError(
          `${where}: unknown event "${name}", expected one of ${
            [...POST_EVENTS, ...PRE_EVENTS].join(", ")
          } or *`,
        );
      }
      if (!events.includes(one)) events.push(one);
    }
  }
  if (events.length === 0) throw new TypeError(`${where}: no event given`);
  return events;
}

function webhookUrl(text: string, where: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new TypeError(`${where}: "${text}" is not a URL`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new TypeError(`${where}: expected an http:// or https:// URL, got "${text}"`);
  }
  return url.href;
}

function commandVector(value: unknown, where: string): string[] {
  if (
    !Array.isArray(value) || value.length === 0 ||
    !value.every((item): item is string => typeof item === "string") || value[0] === ""
  ) {
    throw new TypeError(`${where}: expected a non-empty array of strings (program, arguments…)`);
  }
  if (value.some((item) => item.includes("\0"))) {
    throw new TypeError(`${where}: an argument contains a NUL character`);
  }
  if (value[0]!.includes(",")) {
    // Deno's --allow-run takes a comma-separated list, so a program name cannot hold one.
    throw new TypeError(`${where}: the program's name must not contain a comma`);
  }
  return [...value];
}

const HOOK_KEYS = new Set(["event", "events", "command", "url", "headers", "timeout"]);

function isTable(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Validates the config file's `hooks` list (`[[hooks]]` tables) and returns
 * the hooks. Each table has `event` (a name) or `events` (a list of names;
 * `*` is every post event), and either `command` (an array: program and
 * arguments) or `url` (http/https), optionally `headers` (a table of
 * strings, webhooks only) and `timeout` (seconds). Errors name the field,
 * e.g. `hooks[1].command: expected a non-empty array of strings`.
 *
 * @example
 * ```ts
 * parseHooks([{ event: "upload", command: ["/usr/local/bin/scan", "--quiet"], timeout: 60 }]);
 * // [{ events: ["upload"], command: ["/usr/local/bin/scan", "--quiet"], timeoutMs: 60000 }]
 * ```
 */
export function parseHooks(value: unknown): HookConfig[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new TypeError("hooks: expected a list of [[hooks]] tables");
  return value.map((entry, index) => parseHook(entry, `hooks[${index}]`));
}

function parseHook(entry: unknown, where: string): HookConfig {
  if (!isTable(entry)) throw new TypeError(`${where}: expected a table`);
  for (const key of Object.keys(entry)) {
    if (!HOOK_KEYS.has(key)) {
      throw new TypeError(
        `${where}.${key}: unknown key, expected event, events, command, url, headers or timeout`,
      );
    }
  }
  let names: string[];
  if (entry.event !== undefined && entry.events !== undefined) {
    throw new TypeError(`${where}: give event or events, not both`);
  } else if (typeof entry.event === "string") {
    names = [entry.event];
  } else if (entry.event !== undefined) {
    throw new TypeError(`${where}.event: expected an event name`);
  } else if (
    Array.isArray(entry.events) &&
    entry.events.every((item): item is string => typeof item === "string")
  ) {
    names = entry.events;
  } else if (entry.events !== undefined) {
    throw new TypeError(`${where}.events: expected a list of event names`);
  } else {
    throw new TypeError(`${where}.event: missing (the event that runs the hook)`);
  }
  const hook: HookConfig = {
    events: eventList(names, `${where}.${entry.event !== undefined ? "event" : "events"}`),
  };
  if ((entry.command === undefined) === (entry.url === undefined)) {
    throw new TypeError(`${where}: give exactly one of command and url`);
  }
  if (entry.command !== undefined) hook.command = commandVector(entry.command, `${where}.command`);
  if (entry.url !== undefined) {
    if (typeof entry.url !== "string") throw new TypeError(`${where}.url: expected a string`);
    hook.url = webhookUrl(entry.url, `${where}.url`);
  }
  if (entry.headers !== undefined) {
    if (hook.url === undefined) throw new TypeError(`${where}.headers: only for a url hook`);
    if (!isTable(entry.headers)) throw new TypeError(`${where}.headers: expected a table`);
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(entry.headers)) {
      if (
        typeof value !== "string" || /[\r\n\0]/.test(value) ||
        !/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(name)
      ) {
        throw new TypeError(
          `${where}.headers.${name}: expected a header name and a one-line string`,
        );
      }
      headers[name] = value;
    }
    hook.headers = headers;
  }
  if (entry.timeout !== undefined) hook.timeoutMs = timeoutMs(entry.timeout, `${where}.timeout`);
  return hook;
}

/**
 * A timeout in seconds (a number, fractions allowed, at most an hour) as milliseconds.
 *
 * @example
 * ```ts
 * timeoutMs(2.5, "hook_timeout"); // 2500
 * ```
 */
export function timeoutMs(value: unknown, where: string): number {
  const seconds = typeof value === "string" && /^\d+(\.\d+)?$/.test(value.trim())
    ? Number(value)
    : value;
  if (typeof seconds !== "number" || !(seconds > 0) || seconds > MAX_TIMEOUT_SECONDS) {
    throw new TypeError(
      `${where}: expected seconds, more than 0 and at most ${MAX_TIMEOUT_SECONDS}`,
    );
  }
  return Math.max(1, Math.round(seconds * 1000));
}

/**
 * Parses one `--hook EVENT=COMMAND` value. EVENT is an event name or a
 * comma-separated list (`*` is every post event). COMMAND is an
 * `http://`/`https://` URL (a webhook), a JSON array of strings
 * (`["/bin/scan", "--mode", "a b"]`), or else words split at whitespace
 * (no quoting, no shell, no variables): the event reaches the command only
 * through its `FERRY_*` environment variables.
 *
 * @example
 * ```ts
 * parseHookFlag("upload,rename=/usr/local/bin/notify --quiet");
 * // { events: ["upload", "rename"], command: ["/usr/local/bin/notify", "--quiet"] }
 * ```
 */
export function parseHookFlag(text: string): HookConfig {
  const where = `--hook "${text}"`;
  const equals = text.indexOf("=");
  if (equals <= 0) throw new TypeError(`${where}: expected EVENT=COMMAND`);
  const events = eventList(text.slice(0, equals).split(","), where);
  const value = text.slice(equals + 1).trim();
  if (/^https?:\/\//i.test(value)) return { events, url: webhookUrl(value, where) };
  let command: unknown;
  if (value.startsWith("[")) {
    try {
      command = JSON.parse(value);
    } catch {
      throw new TypeError(`${where}: the command is not a JSON array of strings`);
    }
  } else {
    command = value === "" ? [] : value.split(/\s+/);
  }
  return { events, command: commandVector(command, where) };
}

/**
 * The executables the hooks run, as `--allow-run` wants them: a path
 * (containing `/`) made absolute against the working directory, a bare name
 * as given (Deno looks it up in PATH).
 *
 * @example
 * ```ts
 * hookExecutables([{ events: ["upload"], command: ["./scan.sh"] }]); // ["/abs/cwd/scan.sh"]
 * ```
 */
export function hookExecutables(hooks: readonly HookConfig[]): string[] {
  const executables: string[] = [];
  for (const hook of hooks) {
    const program = hook.command?.[0];
    if (program === undefined) continue;
    const resolved = program.includes("/") ? path.resolve(program) : program;
    if (!executables.includes(resolved)) executables.push(resolved);
  }
  return executables;
}
