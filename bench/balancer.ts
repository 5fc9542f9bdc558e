/**
 * `deno task bench:balancer`: sessions per second (connect, 220, USER, PASS,
 * QUIT, close) from concurrent clients, against one ferry process directly,
 * and through a real HAProxy (TCP mode, `send-proxy-v2`) in front of one and
 * of two ferry processes on one shared root. All on this machine's loopback:
 * client, balancer and instances share its cores, so the ratios say what the
 * balancer and the PROXY header cost here, not what two machines would gain.
 *
 * ```
 * deno task bench:balancer [--sessions 1500] [--concurrency 16] [--runs 3] [--write]
 * ```
 *
 * With `--write` the table replaces its section of bench/RESULTS.md.
 *
 * @module
 */

import { parseArgs } from "node:util";
import * as path from "node:path";
import { setSection } from "./results_section.ts";
import { startFerryCluster } from "../tests/helpers/ferry_instances.ts";
import {
  freePort,
  haproxyConfig,
  haproxyInstalled,
  startHaproxy,
} from "../tests/helpers/haproxy.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Reads until a final reply line (`NNN text`) has arrived; returns its code. */
async function reply(
  conn: Deno.Conn,
  buffer: Uint8Array,
  pending: { text: string },
): Promise<number> {
  for (;;) {
    const match = /(?:^|\r\n)(\d{3}) [^\r\n]*\r\n/.exec(pending.text);
    if (match) {
      pending.text = pending.text.slice(match.index + match[0].length);
      return Number(match[1]);
    }
    const n = await conn.read(buffer);
    if (n === null) throw new Error(`Closed after ${JSON.stringify(pending.text)}`);
    pending.text += decoder.decode(buffer.subarray(0, n));
  }
}

/** One whole session: greeting, login, QUIT. */
async function session(host: string, port: number, buffer: Uint8Array): Promise<void> {
  const conn = await Deno.connect({ hostname: host, port });
  try {
    const pending = { text: "" };
    const expect = async (line: string | undefined, code: number) => {
      if (line !== undefined) await conn.write(encoder.encode(`${line}\r\n`));
      const got = await reply(conn, buffer, pending);
      if (got !== code) throw new Error(`${line ?? "greeting"} answered ${got}, expected ${code}`);
    };
    await expect(undefined, 220);
    await expect("USER alice", 331);
    await expect("PASS wonderland", 230);
    await expect("QUIT", 221);
  } finally {
    conn.close();
  }
}

/** Runs `total` sessions from `concurrency` workers; returns sessions per second. */
async function sessionsPerSecond(
  host: string,
  port: number,
  total: number,
  concurrency: number,
): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      const buffer = new Uint8Array(4096);
      while (next < total) {
        next++;
        await session(host, port, buffer);
      }
    }),
  );
  return total / ((performance.now() - started) / 1000);
}

function loadAverage(): string {
  try {
    return Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).join(", ");
  } catch {
    return "unknown";
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

interface Row {
  setup: string;
  runs: number[];
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      sessions: { type: "string", default: "1500" },
      concurrency: { type: "string", default: "16" },
      runs: { type: "string", default: "3" },
      write: { type: "boolean", default: false },
    },
  });
  const options = {
    sessions: Number(values.sessions),
    concurrency: Number(values.concurrency),
    runs: Number(values.runs),
  };
  if (!haproxyInstalled()) throw new Error("HAProxy is not installed (apt-get install haproxy)");
  const hosts = ["127.0.0.4", "127.0.0.5"];
  const balancer = "127.0.0.2";
  const cluster = await startFerryCluster({
    hosts,
    args: [
      "--proxy-protocol",
      "optional",
      "--proxy-trusted",
      "127.0.0.9/32",
      "--max-sessions-per-ip",
      "1000",
    ],
  });
  const balancers: Awaited<ReturnType<typeof startHaproxy>>[] = [];
  const rows: Row[] = [];
  try {
    const [a] = cluster.instances;
    // Directly: the PROXY protocol is on, but the bench client is not a trusted balancer.
    const targets: { setup: string; host: string; port: number }[] = [
      { setup: "direct, 1 instance", host: a!.host, port: a!.port },
    ];
    for (const count of [1, 2]) {
      const port = freePort([balancer]);
      const config = haproxyConfig({
        routes: [{
          name: "ftp",
          bind: balancer,
          ports: port,
          servers: cluster.instances.slice(0, count).map(({ host, port }) => ({ host, port })),
        }],
        proxy: "send-proxy-v2",
        source: "127.0.0.9", // the bench client (127.0.0.1) is not trusted: direct works
      });
      balancers.push(await startHaproxy(config, { host: balancer, port }));
      targets.push({
        setup: `HAProxy, ${count} instance${count > 1 ? "s" : ""}`,
        host: balancer,
        port,
      });
    }
    for (const target of targets) {
      await sessionsPerSecond(target.host, target.port, 400, options.concurrency); // warm-up
      rows.push({ setup: target.setup, runs: [] });
    }
    // Rounds interleave the set-ups, so a change in the machine's load hits each alike.
    for (let run = 0; run < options.runs; run++) {
      for (const [i, target] of targets.entries()) {
        const rate = await sessionsPerSecond(
          target.host,
          target.port,
          options.sessions,
          options.concurrency,
        );
        rows[i]!.runs.push(rate);
        console.error(`  round ${run + 1}, ${target.setup}: ${rate.toFixed(0)} sessions/s`);
      }
    }
  } finally {
    await Promise.all(balancers.map((haproxy) => haproxy.close()));
    await cluster.close();
  }
  const base = median(rows[0]!.runs);
  const lines = [
    "## Sessions through HAProxy",
    "",
    `\`deno task bench:balancer\` (${
      new Date().toISOString().slice(0, 16)
    }Z, ${options.runs} rounds, ` +
    `${options.sessions} sessions of ${options.concurrency} concurrent clients per set-up and round): ` +
    "connect, 220, USER, PASS, QUIT, close, from 127.0.0.1; HAProxy 2.6 in TCP mode with " +
    "`send-proxy-v2`; ferry with `--proxy-protocol` (the direct client is not a trusted balancer). " +
    "Medians (min–max); client, balancer and instances share the machine's 2 cores " +
    `(load average when done: ${loadAverage()}), so a second instance adds no CPU: the ratios ` +
    "show what the balancer's extra hop costs here, not what a second machine would add.",
    "",
    "| set-up | sessions/s | vs direct |",
    "| --- | --- | --- |",
    ...rows.map((row) => {
      const m = median(row.runs);
      return `| ${row.setup} | ${m.toFixed(0)} (${Math.min(...row.runs).toFixed(0)}–${
        Math.max(...row.runs).toFixed(0)
      }) | ${(m / base).toFixed(2)} |`;
    }),
  ];
  console.log(lines.join("\n"));
  if (values.write) {
    const file = path.join(import.meta.dirname ?? "bench", "RESULTS.md");
    const previous = await Deno.readTextFile(file).catch(() => "# Benchmark results\n");
    await Deno.writeTextFile(file, setSection(previous, "balancer", lines.join("\n")));
    await new Deno.Command(Deno.execPath(), { args: ["fmt", "--quiet", file] }).output();
    console.error("wrote the balancer section of bench/RESULTS.md");
  }
}

if (import.meta.main) await main();
