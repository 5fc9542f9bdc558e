/**
 * Workload 4: many clients at once, each session a whole short visit:
 * connect, log in, RETR 1 MiB, QUIT; sessions per second over the whole
 * batch, and how many sessions failed.
 *
 * @module
 */

import { serverCpu } from "../cpu_time.ts";
import { BenchFtpClient } from "../ftp_bench_client.ts";
import {
  describeError,
  formatCount,
  inTurn,
  MiB,
  pool,
  timed,
  type Workload,
  type WorkloadContext,
} from "../workload.ts";

const PATH = "/one.bin";
/** A session that waits this long for any reply counts as failed (milliseconds). */
const SESSION_REPLY_TIMEOUT_MS = 10_000;

/** 50 concurrent clients, 500 sessions in all (10 and 100 with --quick). */
export const concurrentWorkload: Workload = {
  name: "concurrent",
  title: "50 concurrent clients: connect + login + RETR 1 MiB + QUIT, 500 sessions (sessions/s)",
  async run(context: WorkloadContext): Promise<void> {
    const clients = context.quick ? 10 : 50;
    const sessions = context.quick ? 100 : 500;
    const label = `${clients} clients, ${formatCount(sessions)} sessions`;
    for (const server of context.servers) await server.createFile(PATH, MiB);
    try {
      for (let run = 0; run < context.runs; run++) {
        for (const server of inTurn(context.servers, run)) {
          const { cpuMs, value: { ms, value: result } } = await serverCpu(
            server,
            () =>
              timed(() =>
                pool(clients, sessions, async () => {
                  const client = await BenchFtpClient.connect(server.host, server.port, {
                    replyTimeoutMs: SESSION_REPLY_TIMEOUT_MS,
                  });
                  try {
                    await client.login(server.user, server.password);
                    const bytes = await client.retrieve(PATH);
                    if (bytes !== MiB) throw new Error(`RETR gave ${bytes} bytes`);
                    await client.quit();
                  } finally {
                    client.close();
                  }
                })
              ),
          );
          if (result.errors > 0) {
            context.log(
              `  ${server.name}: ${result.errors} failed sessions, first: ${
                describeError(result.firstError)
              }`,
            );
          }
          context.record(
            {
              workload: "concurrent",
              metric: `${label}`,
              unit: "sessions/s",
              better: "higher",
              subject: server.name,
            },
            (sessions - result.errors) / (ms / 1000),
          );
          if (cpuMs !== undefined) {
            context.record(
              {
                workload: "concurrent",
                metric: `${label}: server CPU`,
                unit: "CPU ms/session",
                better: "lower",
                subject: server.name,
              },
              cpuMs / sessions,
            );
          }
          context.record(
            {
              workload: "concurrent",
              metric: `${label}: failed sessions`,
              unit: "count",
              better: "lower",
              subject: server.name,
            },
            result.errors,
          );
        }
      }
    } finally {
      for (const server of context.servers) await server.remove(PATH);
    }
  },
};
