/**
 * Workload 8: a per-user rate cap held over real transfers. The capped user
 * of `ferry-limits` (see {@linkcode CAPPED_RATE}) downloads and uploads for
 * six seconds at the cap, with one session and with two sessions at once
 * (which share the cap), in the clear and over explicit FTPS, with curl.
 * Each figure is the achieved rate over the cap (the target: within 10 %),
 * and the server's CPU time while throttled (from /proc: no busy waiting
 * means about what the same bytes cost unthrottled), beside the same
 * transfer by the uncapped bench user.
 *
 * @module
 */

import type { BenchServer } from "../bench_server.ts";
import { patternBlock } from "../bench_server.ts";
import { processCpuMs } from "../cpu_time.ts";
import { MiB, type Workload, type WorkloadContext } from "../workload.ts";

/** Seconds each capped transfer should take at the cap (3 with --quick). */
const SECONDS = 6;
const QUICK_SECONDS = 3;

type Direction = "download" | "upload";
type Mode = "clear" | "TLS";

/** What one curl reported: seconds to the start of the transfer and to its end, and bytes moved. */
interface CurlTiming {
  pretransfer: number;
  total: number;
  bytes: number;
}

async function _curl(
  login: { user: string; password: string },
  mode: Mode,
  transfer: string[],
): Promise<CurlTiming> {
  const output = await new Deno.Command("curl", {
    args: [
      "--silent",
      "--show-error",
      "--max-time",
      "120",
      "--user",
      `${login.user}:${login.password}`,
      "--write-out",
      "%{time_pretransfer} %{time_total} %{size_download} %{size_upload}",
      ...(mode === "TLS" ? ["--ssl-reqd", "--insecure"] : []),
      ...transfer,
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(output.stdout).trim();
  if (!output.success) {
    throw new Error(
      `curl ${transfer.join(" ")} exited with ${output.code}: ${
        new TextDecoder().decode(output.stderr).trim()
      }`,
    );
  }
  const [pretransfer, total, down, up] = text.split(/\s+/).slice(-4).map(Number);
  return { pretransfer: pretransfer!, total: total!, bytes: Math.max(down!, up!) };
}

/** One measured set of transfers started together: rate over their common span, CPU, each's rate. */
interface SetResult {
  rate: number;
  slowest: number;
  cpuMs: number;
  wallMs: number;
  bytes: number;
}

async function _transferSet(
  server: BenchServer,
  login: { user: string; password: string },
  direction: Direction,
  mode: Mode,
  sessions: number,
  files: { remote: string; local: string; size: number },
): Promise<SetResult> {
  const url = `ftp://${server.host}:${server.port}`;
  const uploads = Array.from({ length: sessions }, (_, i) => `/ratecap-up-${i}.bin`);
  const cpuBefore = await processCpuMs(server.pid);
  const started = performance.now();
  const timings = await Promise.all(
    Array.from({ length: sessions }, (_, i) =>
      _curl(
        login,
        mode,
        direction === "download"
          ? ["--output", "/dev/null", `${url}${files.remote}`]
          : ["--upload-file", files.local, `${url}${uploads[i]}`],
      )),
  );
  const wallMs = performance.now() - started;
  const cpuMs = (await processCpuMs(server.pid)) - cpuBefore;
  for (const timing of timings) {
    if (timing.bytes !== files.size) {
      throw new Error(`${direction} (${mode}) moved ${timing.bytes} of ${files.size} bytes`);
    }
  }
  if (direction === "upload") {
    for (const name of uploads) {
      const size = (await Deno.stat(`${server.root}${name}`)).size;
      if (size !== files.size) throw new Error(`upload ${name} stored ${size} of ${files.size}`);
      await server.remove(name);
    }
  }
  // The curls start together: the span runs from the first transfer's start to the last's end.
  const span = Math.max(...timings.map((t) => t.total)) -
    Math.min(...timings.map((t) => t.pretransfer));
  const bytes = files.size * sessions;
  return {
    rate: bytes / span,
    slowest: Math.min(...timings.map((t) => files.size / (t.total - t.pretransfer))),
    cpuMs,
    wallMs,
    bytes,
  };
}

/**
 * Against every server with a capped user (`ferry-limits`): achieved rate /
 * cap with one and two sessions, clear and TLS, both ways; the server's CPU
 * while throttled, and per MiB beside the uncapped user's.
 */
export const rateCapWorkload: Workload = {
  name: "ratecap",
  title:
    "a user capped at 20 MiB/s: 6 s (3 with --quick) down and up, 1 and 2 sessions, clear and TLS " +
    "(achieved/cap, server CPU; needs ferry-limits)",
  async run(context: WorkloadContext): Promise<void> {
    const servers = context.servers.filter((each) => each.capped);
    if (servers.length === 0) {
      context.log("  ratecap: skipped (needs ferry-limits in --servers)");
      return;
    }
    const seconds = context.quick ? QUICK_SECONDS : SECONDS;
    const local = await Deno.makeTempDir({ dir: context.tmp.dir, prefix: "ferry-bench-ratecap-" });
    try {
      for (const server of servers) {
        const capped = server.capped!;
        const one = { size: capped.rate * seconds, remote: "/ratecap-1.bin", local: "" };
        const two = { size: (capped.rate * seconds) / 2, remote: "/ratecap-2.bin", local: "" };
        for (const files of [one, two]) {
          await server.createFile(files.remote, files.size);
          files.local = `${local}/${files.remote.slice(1)}`;
          await _writeLocal(files.local, files.size);
        }
        const cap = `cap ${capped.rate / MiB} MiB/s`;
        const modes: Mode[] = server.tls ? ["clear", "TLS"] : ["clear"];
        for (let run = 0; run < context.runs; run++) {
          for (const mode of modes) {
            for (const direction of ["download", "upload"] as const) {
              const label = `${cap}: ${direction}, ${mode}`;
              const figure = { workload: "ratecap", subject: server.name } as const;
              const single = await _transferSet(server, capped, direction, mode, 1, one);
              const pair = await _transferSet(server, capped, direction, mode, 2, two);
              const free = await _transferSet(server, server, direction, mode, 1, one);
              context.log(
                `  ${label}: 1 session ${(single.rate / MiB).toFixed(2)} MiB/s, 2 sessions ${
                  (pair.rate / MiB).toFixed(2)
                } MiB/s (slower ${(pair.slowest / MiB).toFixed(2)}), uncapped ${
                  (free.rate / MiB).toFixed(0)
                } MiB/s; server CPU ${single.cpuMs.toFixed(0)} ms in ${
                  (single.wallMs / 1000).toFixed(1)
                } s`,
              );
              const ratio = { ...figure, unit: "×", better: "one" } as const;
              context.record(
                { ...ratio, metric: `${label}, 1 session: achieved / cap` },
                single.rate / capped.rate,
              );
              context.record(
                { ...ratio, metric: `${label}, 2 sessions: together / cap` },
                pair.rate / capped.rate,
              );
              context.record(
                { ...ratio, metric: `${label}, 2 sessions: slower one / half the cap` },
                pair.slowest / (capped.rate / 2),
              );
              context.record(
                {
                  ...figure,
                  metric: `${label}, 1 session: server CPU while capped`,
                  unit: "% of a core",
                  better: "lower",
                },
                (single.cpuMs / single.wallMs) * 100,
              );
              const perMiB = { ...figure, unit: "CPU ms/MiB", better: "lower" } as const;
              context.record(
                { ...perMiB, metric: `${label}, 1 session: server CPU per MiB, capped` },
                single.cpuMs / (single.bytes / MiB),
              );
              context.record(
                { ...perMiB, metric: `${label}, 1 session: server CPU per MiB, uncapped user` },
                free.cpuMs / (free.bytes / MiB),
              );
            }
          }
        }
        for (const files of [one, two]) await server.remove(files.remote);
      }
    } finally {
      await Deno.remove(local, { recursive: true });
    }
  },
};

async function _writeLocal(file: string, size: number): Promise<void> {
  const block = patternBlock();
  using handle = await Deno.open(file, { write: true, create: true, truncate: true });
  for (let written = 0; written < size; written += block.length) {
    const part = block.subarray(0, Math.min(block.length, size - written));
    let offset = 0;
    while (offset < part.length) offset += await handle.write(part.subarray(offset));
  }
}
