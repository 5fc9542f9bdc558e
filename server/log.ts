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

function formatValue(value: string | number | boolean): string {
  const text = String(value);
  if (/^[\w.:/@\[\]-]+$/.test(text)) return text;
  return JSON.stringify(text);
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

  /** Creates a logger writing to `sink` (stderr by default). */
  constructor(sink: LogSink = (line) => console.error(line)) {
    this.#sink = sink;
  }

  /** Logs an event with its fields; undefined fields are left out. */
  info(event: string, fields: Record<string, LogValue> = {}): void {
    let line = `${new Date().toISOString()} ${event}`;
    for (const [key, value] of Object.entries(fields)) {
      if (value !== undefined) line += ` ${key}=${formatValue(value)}`;
    }
    try {
      this.#sink(line);
    } catch {
      // A log that cannot be written (a full disk, a closed pipe) must never take the server down.
    }
  }
}

/** A logger that drops everything, for tests and benchmarks. */
export const silentLogger: Logger = new Logger(() => {});
