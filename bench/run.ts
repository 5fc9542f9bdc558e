/**
 * `deno task bench`: starts ferry and the peer servers (vsftpd, pyftpdlib,
 * pure-ftpd) on loopback with equivalent settings, runs each workload
 * against each in turn, and prints one table of medians (min–max) with the
 * ratios ferry/peer. The figures go to bench/results/latest.json; a full,
 * unnarrowed pass also writes the table to bench/RESULTS.md.
 *
 * ```
 * deno task bench [--quick] [--runs N] [--only retr,stor,…] [--servers ferry,vsftpd]
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import * as path from "node:path";
import {
  BENCH_SERVERS,
  type BenchServer,
  type BenchServerName,
  EXTRA_BENCH_SERVERS,
  isFerry,
  mountBenchTmp,
  startBenchServer,
} from "./bench_server.ts";
import { peerServerMissing } from "../tests/interop/servers.ts";
import { FORKING_CAP } from "./workloads/idle_memory.ts";
import { retrWorkload } from "./workloads/retr.ts";
import { storWorkload } from "./workloads/stor.ts";
import { smallFilesWorkload } from "./workloads/small_files.ts";
import { concurrentWorkload } from "./workloads/concurrent.ts";
import { listingWorkload } from "./workloads/listing.ts";
import { idleMemoryWorkload } from "./workloads/idle_memory.ts";
import { clientsWorkload } from "./workloads/clients.ts";
import { transferMemoryWorkload } from "./workloads/transfer_memory.ts";
import { STARTUP_SUBJECTS, startupWorkload } from "./workloads/startup.ts";
import { rateCapWorkload } from "./workloads/rate_cap.ts";
import type { Measurement, Workload, WorkloadContext } from "./workload.ts";
import { keepSections } from "./results_section.ts";

/** Every workload, in the order they run and appear. */
export const WORKLOADS: readonly Workload[] = [
  // First, so every server's memory is measured from a fresh start, before the
  // transfers and the concurrent logins have grown its heap.
  idleMemoryWorkload,
  retrWorkload,
  storWorkload,
  smallFilesWorkload,
  concurrentWorkload,
  listingWorkload,
  clientsWorkload,
  startupWorkload,
  transferMemoryWorkload,
  rateCapWorkload,
];

const BENCH_DIR = import.meta.dirname ?? "bench";
const CLIENT_SUBJECTS = ["ferry client", "curl", "lftp"] as const;

/** What the command line asked for. */
export interface BenchOptions {
  quick: boolean;
  runs: number;
  only: string[];
  servers: BenchServerName[];
}

/**
 * Parses the command line.
 *
 * @throws {RangeError} On an unknown workload or server, or a bad --runs.
 */
export function parseBenchArgs(args: string[]): BenchOptions | "help" {
  const { values } = parseArgs({
    args,
    options: {
      quick: { type: "boolean", default: false },
      runs: { type: "string" },
      only: { type: "string" },
      servers: { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  });
  if (values.help) return "help";
  const list = (text: string | undefined) =>
    text === undefined ? undefined : text.split(",").map((each) => each.trim()).filter(Boolean);
  const only = list(values.only) ?? WORKLOADS.map((each) => each.name);
  for (const name of only) {
    if (!WORKLOADS.some((each) => each.name === name)) {
      throw new RangeError(
        `Unknown workload "${name}": expected ${WORKLOADS.map((w) => w.name).join(", ")}`,
      );
    }
  }
  const servers = list(values.servers) ?? [...BENCH_SERVERS];
  for (const name of servers) {
    if (![...BENCH_SERVERS, ...EXTRA_BENCH_SERVERS].includes(name as BenchServerName)) {
      throw new RangeError(
        `Unknown server "${name}": expected ${
          [...BENCH_SERVERS, ...EXTRA_BENCH_SERVERS].join(", ")
        }`,
      );
    }
  }
  const runs = values.runs === undefined ? (values.quick ? 1 : 3) : Number(values.runs);
  if (!Number.isSafeInteger(runs) || runs < 1 || runs > 50) {
    throw new RangeError(`--runs must be a whole number from 1 to 50, not "${values.runs}"`);
  }
  return { quick: values.quick, runs, only, servers: servers as BenchServerName[] };
}

function _usage(): string {
  return [
    "Usage: deno task bench [--quick] [--runs N] [--only W1,W2] [--servers S1,S2]",
    "",
    "  --quick      smaller sizes and one run (about two minutes)",
    "  --runs N     measured runs of each workload (default 3; 1 with --quick)",
    `  --only W     workloads: ${WORKLOADS.map((w) => w.name).join(", ")}`,
    `  --servers S  servers: ${BENCH_SERVERS.join(", ")};`,
    "               also ferry-metrics (ferry with --metrics) and ferry-limits (every",
    "               per-user limit set but not reached, and a user capped at 20 MiB/s)",
    "",
    "Workloads:",
    ...WORKLOADS.map((w) => `  ${w.name.padEnd(11)}${w.title}`),
    "",
    "Writes bench/results/latest.json; a full pass (no --quick, --only or --servers)",
    "also writes bench/RESULTS.md.",
  ].join("\n");
}

/** The median, minimum and maximum of some samples. */
export function summarize(
  samples: readonly number[],
): { median: number; min: number; max: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 === 1
    ? sorted[middle]!
    : (sorted[middle - 1]! + sorted[middle]!) / 2;
  return { median, min: sorted[0]!, max: sorted.at(-1)! };
}

function _number(value: number): string {
  const magnitude = Math.abs(value);
  if (magnitude >= 100 || value === 0) return Math.round(value).toLocaleString("en-US");
  if (magnitude >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

function _cell(measurement: Measurement | undefined, notes: string[]): string {
  if (!measurement) return "";
  let mark = "";
  if (measurement.note) {
    let index = notes.indexOf(measurement.note);
    if (index === -1) index = notes.push(measurement.note) - 1;
    mark = ` [${index + 1}]`;
  }
  if (measurement.samples.length === 0) return `n/a${mark}`;
  const { median, min, max } = summarize(measurement.samples);
  const range = measurement.samples.length > 1 ? ` (${_number(min)}–${_number(max)})` : "";
  return `${_number(median)}${range}${mark}`;
}

function _arrow(better: Measurement["better"]): string {
  return better === "higher" ? "↑" : better === "lower" ? "↓" : "→1";
}

function _ratio(a: Measurement | undefined, b: Measurement | undefined): string {
  if (!a || !b || a.samples.length === 0 || b.samples.length === 0) return "";
  const denominator = summarize(b.samples).median;
  if (denominator === 0) return "";
  return `${(summarize(a.samples).median / denominator).toFixed(2)}`;
}

/** The figures as rows keyed by metric, in the order first recorded. */
function _rows(measurements: readonly Measurement[]): Map<string, Map<string, Measurement>> {
  const rows = new Map<string, Map<string, Measurement>>();
  for (const each of measurements) {
    const row = rows.get(each.metric) ?? new Map<string, Measurement>();
    row.set(each.subject, each);
    rows.set(each.metric, row);
  }
  return rows;
}

/**
 * The tables, in Markdown: servers (with the loopback ceiling where there is
 * one) and clients.
 */
export function renderTables(
  measurements: readonly Measurement[],
  servers: readonly BenchServerName[],
): string {
  const notes: string[] = [];
  const peers = servers.filter((name) => name !== "ferry");
  const out: string[] = [];
  const serverFigures = measurements.filter((m) =>
    m.workload !== "clients" && m.workload !== "startup"
  );
  if (serverFigures.length > 0) {
    const withCeiling = serverFigures.some((m) => m.subject === "loopback");
    const header = [
      "figure",
      "unit",
      "better",
      ...servers,
      ...(servers.includes("ferry") ? peers.map((peer) => `ferry/${peer}`) : []),
      ...(withCeiling ? ["raw loopback", "ferry/loopback"] : []),
    ];
    out.push(`| ${header.join(" | ")} |`, `|${header.map(() => " --- ").join("|")}|`);
    for (const [metric, row] of _rows(serverFigures)) {
      const any = [...row.values()][0]!;
      const ferry = row.get("ferry");
      const cells = [
        metric,
        any.unit,
        _arrow(any.better),
        ...servers.map((name) => _cell(row.get(name), notes)),
        ...(servers.includes("ferry") ? peers.map((peer) => _ratio(ferry, row.get(peer))) : []),
        ...(withCeiling
          ? [_cell(row.get("loopback"), notes), _ratio(ferry, row.get("loopback"))]
          : []),
      ];
      out.push(`| ${cells.join(" | ")} |`);
    }
  }
  const clientFigures = measurements.filter((m) => m.workload === "clients");
  if (clientFigures.length > 0) {
    if (out.length > 0) out.push("");
    const header = [
      "figure (from ferry's server)",
      "unit",
      "better",
      ...CLIENT_SUBJECTS,
      "ferry/curl",
      "ferry/lftp",
      "ferry/faster",
    ];
    out.push(`| ${header.join(" | ")} |`, `|${header.map(() => " --- ").join("|")}|`);
    for (const [metric, row] of _rows(clientFigures)) {
      const any = [...row.values()][0]!;
      const ferry = row.get("ferry client");
      const curl = row.get("curl");
      const lftp = row.get("lftp");
      const faster = [curl, lftp]
        .filter((m): m is Measurement => m !== undefined && m.samples.length > 0)
        .sort((a, b) => summarize(a.samples).median - summarize(b.samples).median)[0];
      out.push(
        `| ${
          [
            metric,
            any.unit,
            _arrow(any.better),
            ...CLIENT_SUBJECTS.map((name) => _cell(row.get(name), notes)),
            _ratio(ferry, curl),
            _ratio(ferry, lftp),
            _ratio(ferry, faster),
          ].join(" | ")
        } |`,
      );
    }
  }
  const startupFigures = measurements.filter((m) => m.workload === "startup");
  if (startupFigures.length > 0) {
    if (out.length > 0) out.push("");
    const header = [
      "start-up (whole process)",
      "unit",
      "better",
      ...STARTUP_SUBJECTS,
      "ferry/empty",
      "ferry/curl",
    ];
    out.push(`| ${header.join(" | ")} |`, `|${header.map(() => " --- ").join("|")}|`);
    for (const [metric, row] of _rows(startupFigures)) {
      const ferry = row.get("ferry");
      const cells = [
        metric,
        "ms",
        "↓",
        ...STARTUP_SUBJECTS.map((name) => _cell(row.get(name), notes)),
        _ratio(ferry, row.get("empty deno run")),
        _ratio(ferry, row.get("curl")),
      ];
      out.push(`| ${cells.join(" | ")} |`);
    }
  }
  if (notes.length > 0) {
    out.push("", ...notes.map((note, i) => `- [${i + 1}] ${note}`));
  }
  return out.join("\n");
}

function _log(text: string): void {
  console.error(`[${new Date().toISOString().slice(11, 19)}] ${text}`);
}

async function _version(program: string, args: string[]): Promise<string> {
  try {
    const output = await new Deno.Command(program, { args, stdout: "piped", stderr: "piped" })
      .output();
    const text = new TextDecoder().decode(output.stdout) + new TextDecoder().decode(output.stderr);
    return text.split("\n").find((line) => line.trim() !== "")?.trim() ?? "";
  } catch {
    return "not found";
  }
}

/**
 * Runs the benchmark and returns the process's exit code (1 if a workload failed).
 *
 * @example
 * ```ts
 * const code = await runBench({ quick: true, runs: 1, only: ["retr"], servers: ["ferry"] });
 * ```
 */
export async function runBench(options: BenchOptions): Promise<number> {
  const started = new Date();
  const workloads = WORKLOADS.filter((each) => options.only.includes(each.name));
  const names: BenchServerName[] = [];
  const skipped: Record<string, string> = {};
  for (const name of options.servers) {
    const missing = isFerry(name) ? undefined : await peerServerMissing(name);
    if (missing) {
      skipped[name] = missing;
      _log(`skipping ${name}: ${missing}`);
    } else {
      names.push(name);
    }
  }
  const tmp = await mountBenchTmp();
  _log(
    `roots on ${tmp.dir}` +
      (tmp.scopedPermissions ? " (a tmpfs of its own)" : " (ferry runs with --allow-all)"),
  );
  const servers: BenchServer[] = [];
  const measurements: Measurement[] = [];
  const failures: Record<string, string> = {};
  const context: WorkloadContext = {
    servers,
    runs: options.runs,
    quick: options.quick,
    tmp,
    record(figure, sample) {
      let measurement = measurements.find((m) =>
        m.workload === figure.workload && m.metric === figure.metric &&
        m.subject === figure.subject
      );
      if (!measurement) {
        measurement = { ...figure, samples: [] };
        measurements.push(measurement);
      }
      if (sample !== undefined) measurement.samples.push(sample);
    },
    log: _log,
  };
  // Ctrl-C or SIGTERM still stops the peer servers and unmounts the tmpfs.
  let stopping = false;
  const interrupted = async () => {
    if (stopping) return;
    stopping = true;
    _log("interrupted: stopping the servers");
    for (const server of servers) await server.stop().catch(() => {});
    await tmp.release().catch(() => {});
    Deno.exit(130);
  };
  const signals = ["SIGINT", "SIGTERM"] as const;
  for (const signal of signals) Deno.addSignalListener(signal, interrupted);
  try {
    for (const name of names) {
      servers.push(await startBenchServer(name, { tmp }));
      _log(`started ${name} on port ${servers.at(-1)!.port}`);
    }
    for (const workload of workloads) {
      _log(`${workload.name}: ${workload.title}`);
      const begun = performance.now();
      try {
        await workload.run(context);
      } catch (error) {
        failures[workload.name] = error instanceof Error ? error.stack ?? error.message : String(
          error,
        );
        _log(`${workload.name} failed: ${failures[workload.name]}`);
      }
      _log(`${workload.name}: done in ${((performance.now() - begun) / 1000).toFixed(1)} s`);
      if (workload.restartAfter && workload !== workloads.at(-1)) {
        for (const [index, server] of servers.entries()) {
          await server.stop();
          servers[index] = await startBenchServer(server.name, { tmp });
          _log(`restarted ${server.name} on port ${servers[index]!.port}`);
        }
      }
    }
  } finally {
    for (const signal of signals) Deno.removeSignalListener(signal, interrupted);
    for (const server of servers) {
      await server.stop().catch((error) => _log(`stopping ${server.name}: ${error}`));
    }
    await tmp.release();
  }
  const finished = new Date();
  const seconds = (finished.getTime() - started.getTime()) / 1000;
  const table = renderTables(measurements, names);
  console.log(table);
  const machine = {
    cpus: navigator.hardwareConcurrency,
    memoryGiB: Math.round(Deno.systemMemoryInfo().total / 2 ** 30),
    kernel: Deno.osRelease(),
    deno: Deno.version.deno,
    curl: await _version("curl", ["--version"]),
    lftp: await _version("lftp", ["--version"]),
  };
  const result = {
    started: started.toISOString(),
    seconds,
    options,
    machine,
    tmpfs: { dir: tmp.dir, ferryScopedPermissions: tmp.scopedPermissions },
    skipped,
    failures,
    measurements: measurements.map((m) => ({
      ...m,
      ...(m.samples.length > 0 ? summarize(m.samples) : {}),
    })),
  };
  await Deno.mkdir(path.join(BENCH_DIR, "results"), { recursive: true });
  await Deno.writeTextFile(
    path.join(BENCH_DIR, "results", "latest.json"),
    JSON.stringify(result, null, 2) + "\n",
  );
  const full = !options.quick && workloads.length === WORKLOADS.length &&
    options.servers.length === BENCH_SERVERS.length;
  if (full && Object.keys(failures).length === 0) {
    const resultsFile = path.join(BENCH_DIR, "RESULTS.md");
    const previous = await Deno.readTextFile(resultsFile).catch(() => "");
    await Deno.writeTextFile(
      resultsFile,
      // Marked sections (targeted runs, bench/balancer.ts) are kept.
      keepSections(
        previous,
        _resultsMarkdown(table, result.started, seconds, options.runs, machine),
      ),
    );
    // Keep the committed file as `deno fmt` would leave it (`deno task check` checks it).
    await new Deno.Command(Deno.execPath(), {
      args: ["fmt", "--quiet", path.join(BENCH_DIR, "RESULTS.md")],
    }).output();
    _log("wrote bench/RESULTS.md and bench/results/latest.json");
  } else {
    _log("wrote bench/results/latest.json (RESULTS.md only from a full pass)");
  }
  _log(`total ${seconds.toFixed(0)} s`);
  return Object.keys(failures).length > 0 ? 1 : 0;
}

function _resultsMarkdown(
  table: string,
  started: string,
  seconds: number,
  runs: number,
  machine: { cpus: number; memoryGiB: number; kernel: string; deno: string },
): string {
  return [
    "# Benchmark results",
    "",
    `Latest full pass of \`deno task bench\` (${runs} runs, ${started.slice(0, 16)}Z, ` +
    `${Math.round(seconds / 60)} min) on a shared ${machine.cpus}-core, ` +
    `${machine.memoryGiB} GiB machine (Linux ${machine.kernel}, Deno ${machine.deno}). ` +
    "Cells are medians with (min–max) over the runs; the machine is noisy, so read " +
    "the ratios, which compare figures taken in the same runs, rather than absolute numbers.",
    "",
    "Every server serves a root on tmpfs over 127.0.0.1, one user who may read and write, " +
    "passive mode (EPSV) with 200 passive ports, and room for 10,100 sessions. " +
    "RETR, STOR, small files, listings and the concurrent clients use bench/ftp_bench_client.ts " +
    "(raw control connection, 4 MiB reads into a reused buffer); the raw loopback column is a " +
    "plain TCP sender and sink with 1 MiB buffers between two processes, in the same runs. " +
    "Memory is the whole process tree (VmRSS summed, and PSS); vsftpd and pure-ftpd fork per " +
    `session, and vsftpd is capped at ${FORKING_CAP.toLocaleString("en-US")} sessions, ` +
    "pure-ftpd at the 100 it accepts.",
    "",
    table,
    "",
  ].join("\n");
}

if (import.meta.main) {
  let options: BenchOptions | "help";
  try {
    options = parseBenchArgs(Deno.args);
  } catch (error) {
    console.error(`bench: ${error instanceof Error ? error.message : String(error)}`);
    console.error(_usage());
    Deno.exit(2);
  }
  if (options === "help") {
    console.log(_usage());
    Deno.exit(0);
  }
  Deno.exit(await runBench(options));
}
