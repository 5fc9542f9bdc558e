/**
 * Workload 3: many small files in one session: upload them all (STOR, one
 * passive data connection each), then download them all (RETR).
 *
 * @module
 */

import { patternBlock } from "../bench_server.ts";
import { serverCpu } from "../cpu_time.ts";
import { BenchFtpClient } from "../ftp_bench_client.ts";
import { formatCount, inTurn, timed, type Workload, type WorkloadContext } from "../workload.ts";

const FILE_SIZE = 4096;

/** 2,000 files of 4 KiB (200 with --quick), files/s up and down. */
export const smallFilesWorkload: Workload = {
  name: "small",
  title: "2,000 files of 4 KiB in one session: upload all, then download all (files/s)",
  async run(context: WorkloadContext): Promise<void> {
    const count = context.quick ? 200 : 2000;
    const block = patternBlock(FILE_SIZE);
    const names = Array.from({ length: count }, (_, i) => `/small/f${String(i).padStart(5, "0")}`);
    const label = `${formatCount(count)} × 4 KiB`;
    for (let run = 0; run < context.runs; run++) {
      for (const server of inTurn(context.servers, run)) {
        await server.mkdir("/small");
        const client = await BenchFtpClient.connect(server.host, server.port);
        try {
          await client.login(server.user, server.password);
          const { value: up, cpuMs: upCpu } = await serverCpu(server, () =>
            timed(async () => {
              for (const name of names) await client.store(name, block, FILE_SIZE);
            }));
          const { value: down, cpuMs: downCpu } = await serverCpu(server, () =>
            timed(async () => {
              for (const name of names) {
                const bytes = await client.retrieve(name);
                if (bytes !== FILE_SIZE) throw new Error(`${server.name}: ${name} gave ${bytes}`);
              }
            }));
          const figure = { workload: "small", unit: "files/s", better: "higher" } as const;
          context.record(
            { ...figure, metric: `${label} upload`, subject: server.name },
            count / (up.ms / 1000),
          );
          context.record(
            { ...figure, metric: `${label} download`, subject: server.name },
            count / (down.ms / 1000),
          );
          if (upCpu !== undefined && downCpu !== undefined) {
            const cpu = { workload: "small", unit: "CPU ms/file", better: "lower" } as const;
            const subject = server.name;
            context.record(
              { ...cpu, metric: `${label} upload: server CPU`, subject },
              upCpu / count,
            );
            context.record(
              { ...cpu, metric: `${label} download: server CPU`, subject },
              downCpu / count,
            );
          }
          await client.quit();
        } finally {
          client.close();
          await server.remove("/small");
        }
      }
    }
  },
};
