/**
 * One readable log line per session event and per transfer, as
 * `time event key=value …`. Values with spaces or quotes are quoted; CR and LF
 * are escaped, so a client cannot forge log lines. Passwords are never
 * passed here.
 *
 * @module
 */

/** A field value in a log line. */
export type LogValue = string | number | boolean | undefined;

/** Where log lines go. */
export type LogSink = (line: string) => void;

const PLAIN = /^[\w.:/@\[\]-]+$/;

function formatValue(value: string | number | boolean): string {
  if (typeof value === "boolean" || Number.isSafeInteger(value)) return String(value);
  const text = String(value);
  if (PLAIN.test(text)) return text;
  return JSON.stringify(text);
}

/** How a log line is written: `text` (`time event key=value …`) or `json` (one object per line). */
export type LogFormat = "text" | "json";

/** Options for a {@linkcode Logger}. */
export interface LoggerOptions {
  /**
   * How lines are written.
   * @default {"text"}
   */
  format?: LogFormat;
}

/**
 * Writes structured, single-line log records.
 *
 * @example
 * ```ts
 * const log = new Logger((line) => console.log(line));
 * log.info("login", { session: 1, user: "demo", ok: true });
 * ```
 */
export class Logger {
  readonly #sink: LogSink;
  readonly #stderr: StderrLog | undefined;
  /** How lines are written; a reload may change it. */
  format: LogFormat;

  /** Creates a logger writing to `sink` (stderr by default, see {@linkcode StderrLog}). */
  constructor(sink?: LogSink, options: LoggerOptions = {}) {
    this.format = options.format ?? "text";
    if (sink) {
      this.#sink = sink;
    } else {
      const stderr = new StderrLog();
      this.#stderr = stderr;
      this.#sink = (line) => stderr.write(line);
    }
  }

  /** Writes out any lines the stderr log still holds (call before exiting). */
  flush(): void {
    this.#stderr?.flush();
  }

  /** Logs an event with its fields; undefined fields are left out. */
  info(event: string, fields: Record<string, LogValue> = {}): void {
    const time = new Date().toISOString();
    let line: string;
    if (this.format === "json") {
      line = jsonLine(time, event, fields);
    } else {
      line = `${time} ${event}`;
      for (const key in fields) {
        const value = fields[key];
        if (value !== undefined) line += ` ${key}=${formatValue(value)}`;
      }
    }
    try {
      this.#sink(line);
    } catch {
      // A log that cannot be written (a full disk, a closed pipe) must never take the server down.
    }
  }
}

/**
 * One JSON object: `time`, `event`, then the fields in order. A session's
 * `user` is `null` before login; other unset fields are left out. JSON
 * escapes CR and LF, so a line stays one line.
 */
function jsonLine(time: string, event: string, fields: Record<string, LogValue>): string {
  const record: Record<string, LogValue | null> = { time, event };
  for (const key in fields) {
    if (key === "time" || key === "event") continue;
    const value = fields[key];
    if (value !== undefined) record[key] = value;
    else if (key === "user") record[key] = null;
  }
  return JSON.stringify(record);
}

/** How long the stderr log may hold lines that come close together, in milliseconds. */
const BATCH_MS = 20;
/** Held lines are written at once past this many characters. */
const BATCH_CHARS = 32 * 1024;

/**
 * Log lines to stderr. A line after a quiet spell is written at once; lines
 * that follow it within {@linkcode BATCH_MS} are gathered and written
 * together, so a busy server makes one write (and wakes whoever reads the
 * log once) per batch instead of once per transfer. Held lines are written
 * when the server closes, and on an uncaught error (the `unload` event).
 */
export class StderrLog {
  #held: string[] = [];
  #chars = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #quietUntil = 0;
  readonly #onUnload = () => this.flush();

  /** Writes a line now, or holds it for the batch being gathered. */
  write(line: string): void {
    const now = performance.now();
    if (this.#timer === undefined && now >= this.#quietUntil) {
      this.#quietUntil = now + BATCH_MS;
      writeStderr(`${line}\n`);
      return;
    }
    this.#held.push(line);
    this.#chars += line.length + 1;
    if (this.#chars >= BATCH_CHARS) {
      this.flush();
    } else if (this.#timer === undefined) {
      globalThis.addEventListener("unload", this.#onUnload);
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.flush();
      }, Math.max(1, Math.ceil(this.#quietUntil - now)));
    }
  }

  /** Writes every held line. */
  flush(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    globalThis.removeEventListener("unload", this.#onUnload);
    if (this.#held.length === 0) return;
    const text = this.#held.join("\n") + "\n";
    this.#held = [];
    this.#chars = 0;
    this.#quietUntil = performance.now() + BATCH_MS;
    writeStderr(text);
  }
}

const encoder = new TextEncoder();

function writeStderr(text: string): void {
  const data = encoder.encode(text);
  try {
    let written = 0;
    while (written < data.length) written += Deno.stderr.writeSync(data.subarray(written));
  } catch {
    // A log that cannot be written (a full disk, a closed pipe) must never take the server down.
  }
}

/** A logger that drops everything, for tests and benchmarks. */
export const silentLogger: Logger = new Logger(() => {});
