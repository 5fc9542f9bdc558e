/**
 * `deno task bench:hooks`: small-file upload and download rates of ferry
 * without hooks, with a hook configured for an event the workload never
 * triggers (the cost of observing events), with a command hook run on every
 * upload and download, and with a webhook called on every one. Each run
 * starts a fresh server per configuration, in rotating order, and stops it
 * (which waits for its queued hooks) before the next; the hooks' runs are
 * counted by what they leave behind, so dropped runs show.
 *
 * ```
 * deno task bench:hooks [--runs N] [--files N]
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { mountBenchTmp, patternBlock, startBenchServer } from "./bench_server.ts";
import { BenchFtpClient } from "./ftp_bench_client.ts";
import { timed } from "./workload.ts";

const FILE_SIZE = 4096;

interface Configuration {
  name: string;
  /** The serve options and run permissions, given a file hooks count their runs in. */
  setup(countFile: string, webhookPort: number): { serveArgs: string[]; allowRun: string[] };
  /** Runs per file (upload and download each run one), for the dropped count. */
  runsPerTransfer: number;
}

const CONFIGURATIONS: Configuration[] = [
  { name: "no hooks", setup: () => ({ serveArgs: [], allowRun: [] }), runsPerTransfer: 0 },
  {
    name: "hook on another event (rmdir)",
    setup: () => ({ serveArgs: ["--hook", "rmdir=/bin/true"], allowRun: ["/bin/true"] }),
    runsPerTransfer: 0,
  },
  {
    name: "command hook on every upload and download",
    setup: (countFile) => ({
      serveArgs: [
        "--hook",
        `upload,download=${JSON.stringify(["/bin/sh", "-c", `echo >> '${countFile}'`])}`,
      ],
      allowRun: ["/bin/sh"],
    }),
    runsPerTransfer: 1,
  },
  {
    name: "webhook on every upload and download",
    setup: (_countFile, port) => ({
      serveArgs: ["--hook", `upload,download=http://127.0.0.1:${port}/ftp`],
      allowRun: [],
    }),
    runsPerTransfer: 1,
  },
];

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

function cell(values: number[]): string {
  const round = (value: number) => Math.round(value).toLocaleString("en-US");
  return `${round(median(values))} (${round(Math.min(...values))}–${round(Math.max(...values))})`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: { runs: { type: "string", default: "5" }, files: { type: "string", default: "1000" } },
    strict: true,
  });
  const runs = Number(values.runs);
  const files = Number(values.files);
  if (!(runs >= 1) || !(files >= 1)) throw new RangeError("--runs and --files take a count");
  let webhookCalls = 0;
  const webhook = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (r) => {
    await r.arrayBuffer();
    webhookCalls++;
    return new Response(null, { status: 204 });
  });
  const tmp = await mountBenchTmp();
  const block = patternBlock(FILE_SIZE);
  const names = Array.from({ length: files }, (_, i) => `/small/f${String(i).padStart(5, "0")}`);
  const results = new Map<string, { up: number[]; down: number[]; dropped: number[] }>();
  try {
    for (let run = 0; run < runs; run++) {
      // Rotating order: no configuration always runs first (or after the most expensive one).
      const order = CONFIGURATIONS.map((_, i) =>
        CONFIGURATIONS[(i + run) % CONFIGURATIONS.length]!
      );
      for (const configuration of order) {
        const countFile = `${tmp.dir}/hook-runs-${run}-${order.indexOf(configuration)}`;
        await Deno.writeTextFile(countFile, "");
        const { serveArgs, allowRun } = configuration.setup(countFile, webhook.addr.port);
        const server = await startBenchServer("ferry", {
          tmp,
          serveArgs,
          allowRun,
          maxSessions: 10,
          passivePortCount: 100,
        });
        const callsBefore = webhookCalls;
        let up: number, down: number;
        try {
          await server.mkdir("/small");
          const client = await BenchFtpClient.connect(server.host, server.port);
          try {
            await client.login(server.user, server.password);
            up = (await timed(async () => {
              for (const name of names) await client.store(name, block, FILE_SIZE);
            })).ms;
            down = (await timed(async () => {
              for (const name of names) await client.retrieve(name);
            })).ms;
            await client.quit();
          } finally {
            client.close();
          }
        } finally {
          await server.stop(); // waits for the queued hooks
        }
        const ran = configuration.name.startsWith("webhook")
          ? webhookCalls - callsBefore
          : (await Deno.readTextFile(countFile)).split("\n").length - 1;
        const expected = configuration.runsPerTransfer * files * 2;
        const entry = results.get(configuration.name) ?? { up: [], down: [], dropped: [] };
        entry.up.push(files / (up / 1000));
        entry.down.push(files / (down / 1000));
        entry.dropped.push(Math.max(0, expected - ran));
        results.set(configuration.name, entry);
        console.error(
          `run ${run + 1}/${runs} ${configuration.name}: ${Math.round(files / (up / 1000))} up, ${
            Math.round(files / (down / 1000))
          } down files/s, ${expected - ran} hook runs dropped`,
        );
      }
    }
  } finally {
    await tmp.release();
    await webhook.shutdown();
  }
  const baseline = results.get("no hooks")!;
  console.log(
    `| configuration (${files.toLocaleString("en-US")} × 4 KiB, ${runs} runs) | upload files/s | ` +
      "download files/s | upload ratio | download ratio | hook runs dropped |",
  );
  console.log("| --- | --- | --- | --- | --- | --- |");
  for (const configuration of CONFIGURATIONS) {
    const entry = results.get(configuration.name)!;
    console.log(
      `| ${configuration.name} | ${cell(entry.up)} | ${cell(entry.down)} | ${
        (median(entry.up) / median(baseline.up)).toFixed(2)
      } | ${(median(entry.down) / median(baseline.down)).toFixed(2)} | ${
        entry.dropped.join(", ")
      } |`,
    );
  }
}

if (import.meta.main) await main();
