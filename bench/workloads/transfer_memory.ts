/**
 * Workload 8: server memory under many transfers at once (issue 16). For
 * each server, clear and (where it has FTPS) TLS: a fresh server, its rest
 * level, then three rounds of 200 clients downloading a 16 MiB file at once
 * and three of 200 uploading 16 MiB each; the peak growth of the whole
 * process tree over its rest level (RSS, and PSS: a forking server's shared
 * pages counted once), the level a minute after the last round, and whether
 * later rounds raise the high-water mark.
 *
 * The clients are bench/transfer_load.c, compiled here with gcc (and
 * OpenSSL): one thread and a 64 KiB buffer per client, so the load costs the
 * measuring side a few MiB and little CPU, and a 200-client load does not
 * compete with the server for the event loop as it would inside Deno.
 *
 * @module
 */

import * as path from "node:path";
import { type BenchServer, type BenchServerName, startBenchServer } from "../bench_server.ts";
import { type TreeMemory, treeMemory } from "../memory.ts";
import type { Workload, WorkloadContext } from "../workload.ts";
import { MiB } from "../workload.ts";

const SOURCE = path.join(import.meta.dirname ?? "bench/workloads", "..", "transfer_load.c");
const PATH = "/load.bin";
/** How often memory is read while a round runs, in milliseconds. */
const SAMPLE_MS = 200;
/** pure-ftpd answers "421 100 users (the maximum)" past 100 sessions. */
const CLIENT_CAPS: Partial<Record<BenchServerName, number>> = { "pure-ftpd": 100 };

function _delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Compiles the load generator into `dir`; returns its path. */
async function _compile(dir: string): Promise<string> {
  const binary = path.join(dir, "transfer_load");
  const result = await new Deno.Command("gcc", {
    args: ["-O2", "-pthread", "-o", binary, SOURCE, "-lssl", "-lcrypto"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!result.success) {
    throw new Error(
      `gcc failed (needs gcc and libssl-dev): ${new TextDecoder().decode(result.stderr)}`,
    );
  }
  return binary;
}

/** A self-signed certificate and key for the TLS runs. */
async function _certificate(dir: string): Promise<{ cert: string; key: string }> {
  const cert = path.join(dir, "bench-cert.pem");
  const key = path.join(dir, "bench-key.pem");
  const result = await new Deno.Command("openssl", {
    args: ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert]
      .concat(["-days", "2", "-subj", "/CN=127.0.0.1"]),
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!result.success) {
    throw new Error(`openssl req failed: ${new TextDecoder().decode(result.stderr)}`);
  }
  return { cert, key };
}

interface _LoadResult {
  ok: number;
  errors: number;
  bytes: number;
  ms: number;
  firstError: string;
}

/** Runs one round of the load while sampling the server's memory; the round's peak. */
async function _round(
  binary: string,
  server: BenchServer,
  args: { upload: boolean; clients: number; size: number; tls: boolean },
): Promise<{ peak: TreeMemory; result: _LoadResult }> {
  let peak: TreeMemory = await treeMemory(server.pid);
  let running = true;
  const sampler = (async () => {
    while (running) {
      const now = await treeMemory(server.pid);
      if (now.rssKiB > peak.rssKiB) peak = { ...peak, rssKiB: now.rssKiB };
      if (now.pssKiB > peak.pssKiB) peak = { ...peak, pssKiB: now.pssKiB };
      await _delay(SAMPLE_MS);
    }
  })();
  const output = await new Deno.Command(binary, {
    args: [
      server.host,
      String(server.port),
      server.user,
      server.password,
      args.upload ? "stor" : "retr",
      args.upload ? "/up" : PATH,
      String(args.clients),
      String(args.size),
      ...(args.tls ? ["--tls"] : []),
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  running = false;
  await sampler;
  const text = new TextDecoder().decode(output.stdout).trim();
  if (!output.success || text === "") {
    throw new Error(`transfer_load failed: ${new TextDecoder().decode(output.stderr)}`);
  }
  return { peak, result: JSON.parse(text) as _LoadResult };
}

/** 200 clients × 16 MiB, 3 rounds, 60 s after (50 × 4 MiB, 2 rounds, 10 s with --quick). */
export const transferMemoryWorkload: Workload = {
  name: "transfer-memory",
  title: "server memory with 200 downloads / 200 uploads of 16 MiB at once, clear and TLS",
  async run(context: WorkloadContext): Promise<void> {
    const clientsWanted = context.quick ? 50 : 200;
    const size = context.quick ? 4 * MiB : 16 * MiB;
    const rounds = context.quick ? 2 : 3;
    const afterMs = context.quick ? 10_000 : 60_000;
    const dir = await Deno.makeTempDir({ dir: context.tmp.dir, prefix: "ferry-bench-load-" });
    try {
      const binary = await _compile(dir);
      const certificate = await _certificate(dir);
      for (const name of context.servers.map((server) => server.name)) {
        for (const tls of [false, true]) {
          if (tls && name !== "ferry" && name !== "vsftpd") {
            for (const direction of ["downloads", "uploads"]) {
              context.record({
                workload: "transfer-memory",
                metric: `${clientsWanted} ${direction} at once, TLS: peak growth (RSS)`,
                unit: "MiB",
                better: "lower",
                subject: name,
                note: "n/a: no FTPS in the bench for this server",
              });
            }
            continue;
          }
          const server = await startBenchServer(name, {
            tmp: context.tmp,
            // A port per transfer and as many again: a TLS data connection holds its port
            // until its close_notify is done, while the next round's clients already ask.
            passivePortCount: 2 * clientsWanted + 100,
            ...(tls ? { tls: certificate } : {}),
          });
          try {
            await server.createFile(PATH, size);
            for (const upload of [false, true]) {
              await _measure(context, binary, server, {
                upload,
                tls,
                size,
                rounds,
                afterMs,
                clients: Math.min(clientsWanted, CLIENT_CAPS[name] ?? Infinity),
                clientsWanted,
              });
            }
          } finally {
            await server.stop();
          }
        }
      }
    } finally {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
};

async function _measure(
  context: WorkloadContext,
  binary: string,
  server: BenchServer,
  options: {
    upload: boolean;
    tls: boolean;
    size: number;
    rounds: number;
    afterMs: number;
    clients: number;
    clientsWanted: number;
  },
): Promise<void> {
  await _delay(1500); // let the server settle (and forked children end)
  const rest = await treeMemory(server.pid);
  const direction = options.upload ? "uploads" : "downloads";
  const label = `${options.clientsWanted} ${direction} at once, ${options.tls ? "TLS" : "clear"}`;
  const note = options.clients < options.clientsWanted
    ? { note: `${server.name}: ${options.clients} clients (its own maximum)` }
    : {};
  const figure = { workload: "transfer-memory", better: "lower", subject: server.name } as const;
  let firstPeak: TreeMemory | undefined;
  let highest: TreeMemory = rest;
  let errors = 0;
  for (let round = 1; round <= options.rounds; round++) {
    const { peak, result } = await _round(binary, server, options);
    errors += result.errors;
    if (result.errors > 0) {
      context.log(`  ${server.name} ${label}: first error ${result.firstError}`);
    }
    firstPeak ??= peak;
    highest = {
      ...highest,
      rssKiB: Math.max(highest.rssKiB, peak.rssKiB),
      pssKiB: Math.max(highest.pssKiB, peak.pssKiB),
    };
    context.log(
      `  ${server.name} ${label} round ${round}: peak RSS +${
        ((peak.rssKiB - rest.rssKiB) / 1024).toFixed(0)
      } MiB, PSS +${
        ((peak.pssKiB - rest.pssKiB) / 1024).toFixed(0)
      } MiB, ${result.ok} ok, ${result.errors} errors, ${(result.ms / 1000).toFixed(1)} s`,
    );
    if (options.upload) {
      for (let i = 0; i < options.clients; i++) await server.remove(`/up.${i}`);
    }
    await _delay(2000);
  }
  await _delay(options.afterMs);
  const after = await treeMemory(server.pid);
  const seconds = Math.round(options.afterMs / 1000);
  const mib = (kib: number) => kib / 1024;
  const record = (metric: string, unit: string, value: number) =>
    context.record({ ...figure, ...note, metric: `${label}: ${metric}`, unit }, value);
  record("peak growth (RSS)", "MiB", mib(highest.rssKiB - rest.rssKiB));
  record("peak growth (PSS)", "MiB", mib(highest.pssKiB - rest.pssKiB));
  record("first round's peak growth (PSS)", "MiB", mib(firstPeak!.pssKiB - rest.pssKiB));
  record(`growth ${seconds} s after (RSS)`, "MiB", mib(after.rssKiB - rest.rssKiB));
  record(`growth ${seconds} s after (PSS)`, "MiB", mib(after.pssKiB - rest.pssKiB));
  record("rest level (RSS)", "MiB", mib(rest.rssKiB));
  record("failed transfers", "count", errors);
}
