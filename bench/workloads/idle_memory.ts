/**
 * Workload 6: server memory with many idle, logged-in sessions: the whole
 * process tree's RSS (and PSS) before and with the sessions open, per
 * session. Servers that fork per session are capped at what this machine
 * holds safely; the note says so.
 *
 * @module
 */

import type { BenchServer, BenchServerName } from "../bench_server.ts";
import { BenchFtpClient } from "../ftp_bench_client.ts";
import { treeMemory } from "../memory.ts";
import {
  describeError,
  formatCount,
  pool,
  timed,
  type Workload,
  type WorkloadContext,
} from "../workload.ts";

/** Most sessions a fork-per-session server is given (a process or two each). */
export const FORKING_CAP = 2000;
/** Servers that cannot hold every level, the most each is given and why. */
export const SESSION_CAPS: Partial<Record<BenchServerName, { cap: number; why: string }>> = {
  vsftpd: { cap: FORKING_CAP, why: "forks two processes per session" },
  // It answers "421 100 users (the maximum)" whatever --maxclientsnumber asks for above that.
  "pure-ftpd": { cap: 100, why: "its own maximum, whatever --maxclientsnumber says" },
};
/** How many sessions are opened at once. */
const OPENING_CONCURRENCY = 50;
/** pure-ftpd leaves some of 50 connections at once without a greeting. */
const PURE_FTPD_OPENING_CONCURRENCY = 10;
/** Let the server settle (and forked children finish starting) before reading /proc. */
const SETTLE_MS = 1500;

function _delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function _measure(
  context: WorkloadContext,
  server: BenchServer,
  levels: readonly number[],
): Promise<void> {
  const limit = SESSION_CAPS[server.name];
  const cap = limit?.cap ?? Infinity;
  const concurrency = server.name === "pure-ftpd"
    ? PURE_FTPD_OPENING_CONCURRENCY
    : OPENING_CONCURRENCY;
  const baseline = await treeMemory(server.pid);
  const open: BenchFtpClient[] = [];
  try {
    for (const level of levels) {
      const target = Math.min(level, cap);
      const note = target < level
        ? `${server.name} capped at ${formatCount(target)} sessions (${limit?.why})`
        : undefined;
      const wanted = target - open.length;
      const { ms, value: result } = await timed(() =>
        pool(concurrency, wanted, async () => {
          const client = await BenchFtpClient.connect(server.host, server.port, {
            timeoutMs: 60_000,
            replyTimeoutMs: 20_000,
          });
          try {
            await client.login(server.user, server.password);
            open.push(client);
          } catch (error) {
            client.close();
            throw error;
          }
        })
      );
      if (result.errors > 0) {
        context.log(
          `  ${server.name}: ${result.errors} sessions failed to open, first: ${
            describeError(result.firstError)
          }`,
        );
      }
      await _delay(SETTLE_MS);
      const memory = await treeMemory(server.pid);
      const sessions = open.length;
      const label = `${formatCount(level)} idle sessions`;
      const figure = { workload: "memory", better: "lower", subject: server.name } as const;
      const withNote = note ? { note } : {};
      context.record(
        { ...figure, ...withNote, metric: `${label}: RSS per session`, unit: "KiB" },
        (memory.rssKiB - baseline.rssKiB) / sessions,
      );
      context.record(
        { ...figure, ...withNote, metric: `${label}: PSS per session`, unit: "KiB" },
        (memory.pssKiB - baseline.pssKiB) / sessions,
      );
      context.record(
        { ...figure, ...withNote, metric: `${label}: whole tree RSS`, unit: "MiB" },
        memory.rssKiB / 1024,
      );
      context.record(
        {
          ...figure,
          ...withNote,
          metric: `${label}: logins/s while opening`,
          unit: "logins/s",
          better: "higher",
        },
        wanted / (ms / 1000),
      );
      context.record(
        { ...figure, ...withNote, metric: `${label}: failed to open`, unit: "count" },
        result.errors,
      );
      context.log(
        `  ${server.name}: ${sessions} sessions, ${memory.processes} processes, ` +
          `RSS ${(memory.rssKiB / 1024).toFixed(0)} MiB (baseline ${
            (baseline.rssKiB / 1024).toFixed(0)
          } MiB), opened in ${(ms / 1000).toFixed(1)} s`,
      );
    }
  } finally {
    for (const client of open) client.close();
    await _delay(SETTLE_MS);
  }
}

/** 200 and 10,000 idle sessions (50 and 200 with --quick); measured once, whatever --runs. */
export const idleMemoryWorkload: Workload = {
  name: "memory",
  title: "server memory with 200 and 10,000 idle logged-in sessions (whole tree, KiB/session)",
  restartAfter: true,
  async run(context: WorkloadContext): Promise<void> {
    const levels = context.quick ? [50, 200] : [200, 10_000];
    for (const server of context.servers) await _measure(context, server, levels);
  },
};
