/**
 * Workload 1: RETR of one large file from tmpfs, read into a reused 4 MiB
 * buffer, beside the raw loopback ceiling (a child process sending to this
 * one) measured in the same runs.
 *
 * @module
 */

import { serverCpu } from "../cpu_time.ts";
import { BenchFtpClient } from "../ftp_bench_client.ts";
import { measureLoopback } from "../loopback.ts";
import {
  formatSize,
  inTurn,
  MiB,
  timed,
  type Workload,
  type WorkloadContext,
} from "../workload.ts";

const PATH = "/retr.bin";

/** RETR of 1 GiB (256 MiB with --quick), in MiB/s. */
export const retrWorkload: Workload = {
  name: "retr",
  title: "RETR of a 1 GiB file on tmpfs (MiB/s), beside raw loopback",
  async run(context: WorkloadContext): Promise<void> {
    const size = context.quick ? 256 * MiB : 1024 * MiB;
    const metric = `RETR ${formatSize(size)}`;
    const figure = { workload: "retr", metric, unit: "MiB/s", better: "higher" } as const;
    const cpuFigure = {
      ...figure,
      metric: `${metric}: server CPU`,
      unit: "CPU ms/GiB",
      better: "lower",
    } as const;
    for (const server of context.servers) await server.createFile(PATH, size);
    try {
      for (let run = 0; run < context.runs; run++) {
        context.record({ ...figure, subject: "loopback" }, await measureLoopback("receive", size));
        for (const server of inTurn(context.servers, run)) {
          const client = await BenchFtpClient.connect(server.host, server.port);
          try {
            await client.login(server.user, server.password);
            const { cpuMs, value: { ms, value: bytes } } = await serverCpu(
              server,
              () => timed(() => client.retrieve(PATH)),
            );
            if (bytes !== size) throw new Error(`${server.name}: RETR gave ${bytes} of ${size}`);
            context.record({ ...figure, subject: server.name }, bytes / MiB / (ms / 1000));
            if (cpuMs !== undefined) {
              context.record(
                { ...cpuFigure, subject: server.name },
                cpuMs / (bytes / (1024 * MiB)),
              );
            }
            await client.quit();
          } finally {
            client.close();
          }
        }
      }
    } finally {
      for (const server of context.servers) await server.remove(PATH);
    }
  },
};
