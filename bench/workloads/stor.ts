/**
 * Workload 2: STOR of a large file sent from memory (one 4 MiB block again
 * and again), timed to the server's 226, beside the raw loopback ceiling
 * (this process sending to a child) measured in the same runs.
 *
 * @module
 */

import { patternBlock } from "../bench_server.ts";
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

const PATH = "/stor.bin";

/** STOR of 512 MiB (128 MiB with --quick), in MiB/s. */
export const storWorkload: Workload = {
  name: "stor",
  title: "STOR of 512 MiB sent from memory (MiB/s), beside raw loopback",
  async run(context: WorkloadContext): Promise<void> {
    const size = context.quick ? 128 * MiB : 512 * MiB;
    const metric = `STOR ${formatSize(size)}`;
    const figure = { workload: "stor", metric, unit: "MiB/s", better: "higher" } as const;
    const block = patternBlock();
    for (let run = 0; run < context.runs; run++) {
      context.record({ ...figure, subject: "loopback" }, await measureLoopback("send", size));
      for (const server of inTurn(context.servers, run)) {
        const client = await BenchFtpClient.connect(server.host, server.port);
        try {
          await client.login(server.user, server.password);
          const { cpuMs, value: { ms } } = await serverCpu(
            server,
            () => timed(() => client.store(PATH, block, size)),
          );
          context.record({ ...figure, subject: server.name }, size / MiB / (ms / 1000));
          if (cpuMs !== undefined) {
            context.record(
              {
                ...figure,
                subject: server.name,
                metric: `${metric}: server CPU`,
                unit: "CPU ms/GiB",
                better: "lower",
              },
              cpuMs / (size / (1024 * MiB)),
            );
          }
          await client.quit();
        } finally {
          client.close();
          await server.remove(PATH);
        }
      }
    }
  },
};
