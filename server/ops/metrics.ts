/**
 * The server's metrics, counted from its events (see `../events.ts`) and
 * written in the Prometheus text exposition format (version 0.0.4). Counting
 * is a few additions per event; the text is built only when scraped.
 *
 * @module
 */

import type { HookStatsSnapshot } from "../hooks/hook_stats.ts";

import { cpuUsage } from "node:process";
import type { ServerEvent } from "../events.ts";

/** The upper bounds of the transfer-duration histogram's buckets, in seconds. */
export const DURATION_BUCKETS: readonly number[] = [
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
  30,
  60,
  300,
];

/** Verbs that move data the server sends (the rest of the transfers receive). */
const RECEIVING = new Set(["STOR", "APPE", "STOU"]);

/** What the metrics read from the server when scraped. */
export interface MetricsGauges {
  /** Control connections open now. */
  sessionsActive(): number;
  /** The hooks' counters, when hooks are configured. */
  hooks?(): HookStatsSnapshot | undefined;
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function labels(pairs: Record<string, string>): string {
  const text = Object.entries(pairs).map(([name, value]) => `${name}="${escapeLabel(value)}"`);
  return text.length === 0 ? "" : `{${text.join(",")}}`;
}

/** Adds `by` to the count under `key`. */
function add(counts: Map<string, number>, key: string, by = 1): void {
  counts.set(key, (counts.get(key) ?? 0) + by);
}

/** A Prometheus float: integers as such, `+Inf` for infinity. */
function number(value: number): string {
  if (value === Infinity) return "+Inf";
  return String(value);
}

/**
 * Counters fed by server events.
 *
 * @example
 * ```ts
 * const metrics = new ServerMetrics();
 * server.events.on(metrics.listener);
 * console.log(metrics.render({ sessionsActive: () => server.sessionCount }));
 * ```
 */
export class ServerMetrics {
  #sessions = 0;
  readonly #logins = new Map<string, number>([["ok", 0], ["failed", 0]]);
  /** By `verb result`. */
  readonly #transfers = new Map<string, number>();
  readonly #bytes = new Map<string, number>([["in", 0], ["out", 0]]);
  readonly #buckets: number[] = new Array(DURATION_BUCKETS.length + 1).fill(0);
  #durationSum = 0;
  #durationCount = 0;
  readonly #rejected = new Map<string, number>();
  readonly #reloads = new Map<string, number>([["ok", 0], ["failed", 0]]);

  /** The event listener to register with `server.events.on`. */
  readonly listener = (event: ServerEvent): void => {
    const fields = event.fields;
    switch (event.name) {
      case "connect":
        this.#sessions++;
        return;
      case "login":
        add(this.#logins, fields.ok === true ? "ok" : "failed");
        return;
      case "transfer":
        return this.#transfer(
          String(fields.verb),
          fields.ok === true,
          Number(fields.bytes ?? 0),
          Number(fields.ms ?? 0),
        );
      case "refused":
        add(this.#rejected, String(fields.limit ?? "other"));
        return;
      case "reload":
        add(this.#reloads, fields.ok === true ? "ok" : "failed");
        return;
    }
  };

  #transfer(verb: string, ok: boolean, bytes: number, ms: number): void {
    add(this.#transfers, `${verb} ${ok ? "ok" : "failed"}`);
    add(this.#bytes, RECEIVING.has(verb) ? "in" : "out", bytes);
    const seconds = ms / 1000;
    let bucket = 0;
    while (bucket < DURATION_BUCKETS.length && seconds > DURATION_BUCKETS[bucket]!) bucket++;
    this.#buckets[bucket]!++;
    this.#durationSum += seconds;
    this.#durationCount++;
  }

  /** The metrics in the Prometheus text format. */
  render(gauges: MetricsGauges): string {
    const out: string[] = [];
    const family = (name: string, type: string, help: string, samples: [string, number][]) => {
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
      for (const [suffix, value] of samples) out.push(`${name}${suffix} ${number(value)}`);
    };
    family("ferry_sessions_active", "gauge", "Control connections open now.", [
      ["", gauges.sessionsActive()],
    ]);
    family("ferry_sessions_total", "counter", "Control connections accepted since start.", [
      ["", this.#sessions],
    ]);
    family(
      "ferry_logins_total",
      "counter",
      "Login attempts, by result.",
      [...this.#logins].map(([result, count]) => [labels({ result }), count]),
    );
    family(
      "ferry_transfers_total",
      "counter",
      "Data transfers (files and listings), by verb and result.",
      [...this.#transfers].map(([key, count]) => {
        const [verb = "", result = ""] = key.split(" ");
        return [labels({ verb, result }), count];
      }),
    );
    family(
      "ferry_transfer_bytes_total",
      "counter",
      "Bytes moved over data connections, by direction (in: uploads).",
      [...this.#bytes].map(([direction, count]) => [labels({ direction }), count]),
    );
    let cumulative = 0;
    const buckets: [string, number][] = DURATION_BUCKETS.map((bound, index) => {
      cumulative += this.#buckets[index]!;
      return [`_bucket${labels({ le: number(bound) })}`, cumulative];
    });
    buckets.push([`_bucket${labels({ le: "+Inf" })}`, this.#durationCount]);
    family(
      "ferry_transfer_duration_seconds",
      "histogram",
      "How long data transfers took.",
      [...buckets, ["_sum", this.#durationSum], ["_count", this.#durationCount]],
    );
    family(
      "ferry_connections_rejected_total",
      "counter",
      "Control connections refused at accept, by reason.",
      [...this.#rejected].map(([reason, count]) => [labels({ reason }), count]),
    );
    family(
      "ferry_reloads_total",
      "counter",
      "Configuration reloads (SIGHUP), by result.",
      [...this.#reloads].map(([result, count]) => [labels({ result }), count]),
    );
    const hooks = gauges.hooks?.();
    if (hooks) {
      family(
        "ferry_hook_runs_total",
        "counter",
        "Hook runs (commands and webhooks), by event and result.",
        hooks.runs.map(({ event, result, count }) => [labels({ event, result }), count]),
      );
      family("ferry_hook_dropped_total", "counter", "Hook runs dropped: the queue was full.", [
        ["", hooks.dropped],
      ]);
      family("ferry_hook_queued", "gauge", "Hook runs waiting for a turn now.", [
        ["", hooks.queued],
      ]);
      family("ferry_hook_running", "gauge", "Hook runs in progress now.", [["", hooks.running]]);
    }
    processMetrics(family);
    return out.join("\n") + "\n";
  }
}

type Family = (name: string, type: string, help: string, samples: [string, number][]) => void;

const FD_DIR = "/proc/self/fd";

/**
 * The process's open descriptors, or undefined where they cannot be
 * counted: Deno lets only a process with every permission (`--allow-all`)
 * read `/proc/self`, so a server with narrowed permissions has no count.
 */
function openDescriptors(): number | undefined {
  if (Deno.permissions.querySync({ name: "read", path: FD_DIR }).state !== "granted") {
    return undefined;
  }
  try {
    let count = 0;
    for (const _ of Deno.readDirSync(FD_DIR)) count++;
    return count - 1; // the directory's own descriptor, open while it is read
  } catch {
    return undefined;
  }
}

/** The standard process metrics a Prometheus client library exports. */
function processMetrics(family: Family): void {
  const cpu = cpuUsage();
  family(
    "process_cpu_seconds_total",
    "counter",
    "Total user and system CPU time spent in seconds.",
    [
      ["", (cpu.user + cpu.system) / 1e6],
    ],
  );
  family("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", [
    ["", Deno.memoryUsage().rss],
  ]);
  family(
    "process_start_time_seconds",
    "gauge",
    "Start time of the process since unix epoch in seconds.",
    [["", Math.round(performance.timeOrigin) / 1000]],
  );
  const fds = openDescriptors();
  if (fds !== undefined) {
    family("process_open_fds", "gauge", "Number of open file descriptors.", [["", fds]]);
  }
}
