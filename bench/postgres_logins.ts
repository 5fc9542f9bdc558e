/**
 * `deno task bench:postgres`: what keeping users in PostgreSQL costs a
 * login. Starts a throwaway PostgreSQL cluster and two in-process servers
 * on the same root, one on a credentials file and one on `--users
 * postgres://…` (user lookup, shared session lease taken and given back
 * per session), then runs whole sessions (connect, USER, PASS, QUIT) from
 * concurrent clients against each in turn and prints the medians of
 * sessions/s and their ratio. Compare ratios within one run only.
 *
 * ```
 * deno task bench:postgres [--runs 5] [--seconds 3] [--clients 8]
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { hashPassword } from "../server/auth/password_hash.ts";
import { startWithPostgres } from "../server/cli/postgres_serve.ts";
import { DEFAULT_CONFIG, type ServerConfig } from "../server/config.ts";
import { Logger } from "../server/log.ts";
import { FtpServer } from "../server/server.ts";
import { PostgresUserStore } from "../server/auth/postgres_store.ts";
import { RawClient } from "../tests/helpers/raw_client.ts";
import { startTestPostgres } from "../tests/helpers/postgres.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    runs: { type: "string", default: "5" },
    seconds: { type: "string", default: "3" },
    clients: { type: "string", default: "8" },
  },
});
const runs = Number(values.runs);
const seconds = Number(values.seconds);
const clients = Number(values.clients);

/** Sessions completed per second by `clients` loops over `seconds`. */
async function sessionsPerSecond(port: number): Promise<number> {
  const deadline = performance.now() + seconds * 1000;
  let done = 0;
  await Promise.all(Array.from({ length: clients }, async () => {
    while (performance.now() < deadline) {
      const client = await RawClient.login(port, "bench", "bench-pw");
      await client.command("QUIT");
      await client.close();
      done++;
    }
  }));
  return done / seconds;
}

const median = (list: number[]) => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)]!;

const pg = await startTestPostgres();
const root = await Deno.makeTempDir({ prefix: "ferry-bench-pg-" });
const servers: FtpServer[] = [];
try {
  const hash = await hashPassword("bench-pw");
  const credentials = `${root}/credentials.txt`;
  await Deno.writeTextFile(credentials, `bench:${hash}:/:elr\n`);
  const config: ServerConfig = {
    ...DEFAULT_CONFIG,
    hosts: ["127.0.0.1"],
    port: 0,
    root: `${root}/srv`,
    credentials,
    maxSessionsPerIp: 1000,
  };
  const quiet = new Logger(() => {});
  const file = await FtpServer.start(config, { logger: quiet });
  servers.push(file);
  const admin = await PostgresUserStore.open(pg.url, { listen: false });
  await admin.add({ name: "bench", passwordHash: hash, home: "/", permissions: "elr" });
  await admin.close();
  const postgres = await startWithPostgres(config, pg.url, { logger: quiet });
  servers.push(postgres);
  const targets = [["credentials file", file], ["PostgreSQL", postgres]] as const;
  for (const [, server] of targets) await sessionsPerSecond(server.addresses[0]!.port); // warm-up
  const results = new Map<string, number[]>(targets.map(([name]) => [name, []]));
  for (let run = 0; run < runs; run++) {
    for (const [name, server] of targets) {
      results.get(name)!.push(await sessionsPerSecond(server.addresses[0]!.port));
    }
  }
  console.log(`sessions/s (connect, USER, PASS, QUIT), ${clients} clients, ${runs} × ${seconds} s`);
  for (const [name, list] of results) {
    console.log(
      `${name.padEnd(17)} median ${median(list).toFixed(0).padStart(6)}  (${
        Math.min(...list).toFixed(0)
      }–${Math.max(...list).toFixed(0)})`,
    );
  }
  const ratio = median(results.get("PostgreSQL")!) / median(results.get("credentials file")!);
  console.log(`PostgreSQL / credentials file: ${ratio.toFixed(2)}`);
} finally {
  for (const server of servers) await server.close();
  await pg.close();
  await Deno.remove(root, { recursive: true }).catch(() => {});
}
