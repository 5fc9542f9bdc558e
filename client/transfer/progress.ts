/**
 * A progress bar with rate and ETA for `ferry client`, drawn on stderr only
 * when stderr is a terminal and `-q` was not given; otherwise every call is a
 * no-op.
 *
 * @module
 */

import { formatBytes } from "../../protocol/size.ts";

export { formatBytes };

/** Options for {@linkcode ProgressBar}. */
export interface ProgressOptions {
  /**
   * Draw at all (false for -q or when stderr is not a terminal).
   * @default {Deno.stderr.isTerminal()}
   */
  enabled?: boolean;
  /** Where the bar is drawn. @default {writes to stderr} */
  write?: (text: string) => void;
  /** The clock, in milliseconds. @default {Date.now} */
  now?: () => number;
  /**
   * The terminal width.
   * @default {80}
   */
  columns?: number;
}

/**
 * A duration in seconds as "m:ss" or "h:mm:ss".
 *
 * @example
 * ```ts
 * formatDuration(75); // "1:15"
 * ```
 */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "--:--";
  const total = Math.round(seconds);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}

/** What one progress line shows. */
export interface ProgressState {
  label: string;
  bytes: number;
  total: number | undefined;
  /** Bytes per second. */
  rate: number;
}

/**
 * One progress line: label, bar and percentage (when the total is known),
 * bytes, rate and ETA, fitted to `columns`.
 *
 * @example
 * ```ts
 * formatProgressLine({ label: "a.bin", bytes: 512, total: 1024, rate: 256 }, 80);
 * ```
 */
export function formatProgressLine(state: ProgressState, columns: number): string {
  const rate = `${formatBytes(Math.round(state.rate))}/s`;
  let tail: string;
  let bar = "";
  if (state.total !== undefined && state.total > 0) {
    const fraction = Math.min(1, state.bytes / state.total);
    const eta = state.rate > 0 ? (state.total - state.bytes) / state.rate : Infinity;
    tail = ` ${String(Math.floor(fraction * 100)).padStart(3)}% ${
      formatBytes(state.bytes)
    } ${rate} ETA ${formatDuration(eta)}`;
    const width = Math.max(0, Math.min(30, columns - tail.length - 16));
    const filled = Math.round(fraction * width);
    if (width > 0) bar = ` [${"#".repeat(filled)}${" ".repeat(width - filled)}]`;
  } else {
    tail = ` ${formatBytes(state.bytes)} ${rate}`;
  }
  const room = Math.max(1, columns - 1 - tail.length - bar.length);
  const label = state.label.length > room ? `…${state.label.slice(-(room - 1))}` : state.label;
  return `${label}${bar}${tail}`.slice(0, columns - 1);
}

/**
 * A progress bar for one command (one file, or a batch of files counted
 * together). Redraws at most ten times a second.
 *
 * @example
 * ```ts
 * const bar = new ProgressBar("a.bin", 1024, { enabled: false });
 * const onProgress = bar.track();
 * onProgress(512, 1024);
 * bar.finish();
 * ```
 */
export class ProgressBar {
  #label: string;
  #total: number | undefined;
  #bytes = 0;
  readonly #enabled: boolean;
  readonly #write: (text: string) => void;
  readonly #now: () => number;
  readonly #columns: number;
  readonly #started: number;
  #lastDraw = 0;
  #drawn = false;

  /** Creates the bar; `total` may be unknown. */
  constructor(label: string, total: number | undefined, options: ProgressOptions = {}) {
    this.#label = label;
    this.#total = total;
    this.#enabled = options.enabled ?? Deno.stderr.isTerminal();
    const encoder = new TextEncoder();
    this.#write = options.write ?? ((text) => Deno.stderr.writeSync(encoder.encode(text)));
    this.#now = options.now ?? Date.now;
    this.#columns = options.columns ?? _terminalColumns();
    this.#started = this.#now();
  }

  /** Bytes counted so far. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Changes the label (the current file of a batch). */
  set label(label: string) {
    this.#label = label;
  }

  /** Adds bytes to the count and redraws if due. */
  add(bytes: number): void {
    this.#bytes += bytes;
    this.#draw(false);
  }

  /**
   * A callback for one file's cumulative progress (`onProgress(bytes, total)`)
   * that adds its increments to this bar.
   */
  track(): (bytes: number, total: number | undefined) => void {
    let last = 0;
    return (bytes) => {
      this.add(Math.max(0, bytes - last));
      last = Math.max(last, bytes);
    };
  }

  /** Draws the final state and ends the line. */
  finish(): void {
    if (!this.#enabled || !this.#drawn) return;
    this.#draw(true);
    this.#write("\n");
    this.#drawn = false;
  }

  #draw(force: boolean): void {
    if (!this.#enabled) return;
    const now = this.#now();
    if (!force && now - this.#lastDraw < 100) return;
    this.#lastDraw = now;
    const seconds = Math.max(0.001, (now - this.#started) / 1000);
    const line = formatProgressLine({
      label: this.#label,
      bytes: this.#bytes,
      total: this.#total,
      rate: this.#bytes / seconds,
    }, this.#columns);
    this.#write(`\r${line}\x1b[K`);
    this.#drawn = true;
  }
}

function _terminalColumns(): number {
  try {
    return Deno.consoleSize().columns || 80;
  } catch {
    return 80;
  }
}
