/**
 * Workload 5: LIST and MLSD of one large directory: the whole listing, and
 * the time to its first byte (a server that streams answers long before it
 * has read the whole directory).
 *
 * @module
 */

import { BenchFtpClient } from "../ftp_bench_client.ts";
import { formatCount, type Workload, type WorkloadContext } from "../workload.ts";

const DIR = "/many";
/** Listings of each kind per run and server. */
const REPEATS = 3;

/** LIST and MLSD of 10,000 entries (2,000 with --quick), ms per listing. */
export const listingWorkload: Workload = {
  name: "listing",
  title: "LIST and MLSD of a 10,000-entry directory (ms per listing, ms to first byte)",
  async run(context: WorkloadContext): Promise<void> {
    const entries = context.quick ? 2000 : 10_000;
    for (const server of context.servers) await server.createFiles(DIR, entries, 100);
    try {
      for (let run = 0; run < context.runs; run++) {
        for (const server of context.servers) {
          const client = await BenchFtpClient.connect(server.host, server.port);
          try {
            await client.login(server.user, server.password);
            for (const verb of ["LIST", "MLSD"]) {
              const metric = `${verb} ${formatCount(entries)} entries`;
              const figure = { workload: "listing", unit: "ms", better: "lower" } as const;
              for (let i = 0; i < REPEATS; i++) {
                const result = await client.listing(verb, DIR);
                if (result === undefined) {
                  const note = `n/a: no ${verb}`;
                  context.record({ ...figure, metric, subject: server.name, note });
                  context.record({
                    ...figure,
                    metric: `${metric}: first byte`,
                    subject: server.name,
                    note,
                  });
                  break;
                }
                if (result.lines < entries) {
                  throw new Error(
                    `${server.name}: ${verb} gave ${result.lines} lines for ${entries} entries`,
                  );
                }
                context.record({ ...figure, metric, subject: server.name }, result.totalMs);
                context.record(
                  { ...figure, metric: `${metric}: first byte`, subject: server.name },
                  result.firstByteMs,
                );
              }
            }
            await client.quit();
          } finally {
            client.close();
          }
        }
      }
    } finally {
      for (const server of context.servers) await server.remove(DIR);
    }
  },
};
