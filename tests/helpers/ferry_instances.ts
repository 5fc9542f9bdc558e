/**
 * Starts several real `ferry serve` processes on one shared root, for the
 * tests (and benchmarks) of instances behind a load balancer: each on its
 * own loopback address and a port it picks, stopped by PID.
 *
 * @module
 */

import { formatCredentials, hashPassword } from "../../server/auth/mod.ts";
import { stopChild } from "./stop_child.ts";

const main = new URL("../../main.ts", import.meta.url).pathname;

/** One running ferry process. */
export interface FerryInstance {
  /** The address it listens on. */
  host: string;
  /** Its control port. */
  port: number;
  /** Its stderr lines so far (the log). */
  logs: string[];
  /** The child process. */
  child: Deno.ChildProcess;
}

/** Several ferry processes serving one root. */
export interface FerryCluster {
  /** The shared served root. */
  root: string;
  /** The scratch directory (root, credentials, anything else a test puts there). */
  dir: string;
  instances: FerryInstance[];
  /** Stops every instance (SIGTERM by PID, then SIGKILL) and removes the directory. */
  close(): Promise<void>;
}

/** Options for {@linkcode startFerryCluster}. */
export interface ClusterOptions {
  /** One entry per instance: the address it listens on. */
  hosts: string[];
  /** Serve options every instance gets. */
  args?: string[];
  /** Serve options for one instance, by index. */
  argsFor?: (index: number) => string[];
  /** Files outside the cluster directory the instances may read (a certificate). */
  readable?: string[];
  /** Users: name and password (all permissions, home /). */
  users?: { name: string; password: string }[];
}

async function collect(stream: ReadableStream<Uint8Array>, into: string[]): Promise<void> {
  let rest = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    rest += chunk;
    const parts = rest.split("\n");
    rest = parts.pop() ?? "";
    into.push(...parts);
  }
  if (rest) into.push(rest);
}

/** Starts one `ferry serve` per host on a fresh shared root and waits for each ready line. */
export async function startFerryCluster(options: ClusterOptions): Promise<FerryCluster> {
  const dir = await Deno.makeTempDir({ prefix: "ferry-cluster-" });
  const root = `${dir}/srv`;
  await Deno.mkdir(root);
  const users = options.users ?? [{ name: "alice", password: "wonderland" }];
  const records = [];
  for (const user of users) {
    records.push({
      name: user.name,
      passwordHash: await hashPassword(user.password, { cost: 1024 }),
      home: "/",
      permissions: "elradfmwMT",
    });
  }
  const credentials = `${dir}/credentials.txt`;
  await Deno.writeTextFile(credentials, formatCredentials(records));
  const instances: FerryInstance[] = [];
  const cluster: FerryCluster = {
    root,
    dir,
    instances,
    async close() {
      await Promise.all(instances.map((instance) => stopChild(instance.child)));
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
  try {
    for (const [index, host] of options.hosts.entries()) {
      const child = new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "--allow-net",
          `--allow-read=${[dir, ...(options.readable ?? [])].join(",")}`,
          `--allow-write=${root}`,
          "--allow-sys=hostname",
          main,
          "serve",
          "--host",
          host,
          "--port",
          "0",
          "--root",
          root,
          "--credentials",
          credentials,
          ...(options.args ?? []),
          ...(options.argsFor?.(index) ?? []),
        ],
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const lines: string[] = [];
      const logs: string[] = [];
      collect(child.stdout, lines);
      collect(child.stderr, logs);
      const deadline = Date.now() + 30_000;
      while (lines.length === 0) {
        if (Date.now() > deadline) throw new Error(`ferry did not start: ${logs.join("\n")}`);
        const exited = await Promise.race([
          child.status.then(() => true),
          new Promise<false>((resolve) => setTimeout(() => resolve(false), 50)),
        ]);
        if (exited && lines.length === 0) {
          throw new Error(`ferry exited at start-up: ${logs.join("\n")}`);
        }
      }
      const port = Number(/:(\d+) serving/.exec(lines[0]!)?.[1]);
      instances.push({ host, port, logs, child });
    }
  } catch (error) {
    await cluster.close();
    throw error;
  }
  return cluster;
}
