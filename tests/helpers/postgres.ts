/**
 * A real, throwaway PostgreSQL server for tests: a fresh cluster made with
 * `initdb` in a temporary directory, served by `postgres` on a loopback port
 * chosen at run time, with password (SCRAM) authentication, stopped by PID
 * and deleted afterwards. Run as root, the cluster belongs to the `postgres`
 * system user (PostgreSQL refuses to run as root); `setpriv` switches user
 * and then executes `postgres` itself, so the PID we hold is the server's.
 *
 * Needs Debian's `postgresql` package (`tests/install_deps.sh`).
 *
 * @module
 */

import { runProgram } from "./run_program.ts";
import { stopChild } from "./stop_child.ts";

/** The superuser every test cluster has. */
export const PG_USER = "ferry";
/** Its password. */
export const PG_PASSWORD = "ferry-test-pw";
/** The database every test cluster has. */
export const PG_DATABASE = "ferry";

/** A running (or stopped, restartable) test cluster. */
export interface TestPostgres {
  /** The loopback port it listens on. */
  readonly port: number;
  /** `postgres://ferry:…@127.0.0.1:PORT/ferry`. */
  readonly url: string;
  /** The URL with another password (for the wrong-password test). */
  urlWith(options: { password?: string; database?: string }): string;
  /** Stops the server (fast shutdown) and waits for it to exit; the data stay. */
  stop(): Promise<void>;
  /** Starts it again on the same port and data. */
  start(): Promise<void>;
  /** Stops it and deletes the cluster. */
  close(): Promise<void>;
}

/** The directory of PostgreSQL's server programs, or undefined when not installed. */
export function postgresBinDir(): string | undefined {
  let versions: number[];
  try {
    versions = [...Deno.readDirSync("/usr/lib/postgresql")]
      .map((entry) => Number(entry.name))
      .filter((version) => Number.isInteger(version))
      .sort((a, b) => b - a);
  } catch {
    return undefined;
  }
  for (const version of versions) {
    const dir = `/usr/lib/postgresql/${version}/bin`;
    try {
      Deno.statSync(`${dir}/postgres`);
      return dir;
    } catch {
      // Not this one.
    }
  }
  return undefined;
}

/** A loopback port that was free a moment ago. */
function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

async function systemUser(name: string): Promise<{ uid: number; gid: number } | undefined> {
  const result = await runProgram("id", ["-u", name]);
  if (result.code !== 0) return undefined;
  const gid = await runProgram("id", ["-g", name]);
  return { uid: Number(result.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

/** Waits until `port` accepts TCP connections, or the process exits, or the time is up. */
async function waitReady(port: number, exited: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (exited()) throw new Error("postgres exited during start-up");
    try {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      conn.close();
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  throw new Error(`postgres did not listen on ${port} within ${timeoutMs} ms`);
}

/**
 * Makes a cluster and starts its server. Throws with the reason when
 * PostgreSQL is not installed or does not start.
 *
 * @example
 * ```ts ignore
 * const pg = await startTestPostgres();
 * try {
 *   // connect to pg.url
 * } finally {
 *   await pg.close();
 * }
 * ```
 */
export async function startTestPostgres(): Promise<TestPostgres> {
  const bin = postgresBinDir();
  if (bin === undefined) {
    throw new Error("PostgreSQL is not installed (run `bash tests/install_deps.sh` as root)");
  }
  const root = Deno.uid() === 0;
  const owner = root ? await systemUser("postgres") : undefined;
  if (root && owner === undefined) throw new Error("no `postgres` system user");
  const dir = await Deno.makeTempDir({ prefix: "ferry-pg-" });
  const data = `${dir}/data`;
  const passwordFile = `${dir}/pw`;
  await Deno.writeTextFile(passwordFile, `${PG_PASSWORD}\n`);
  if (owner) {
    await Deno.chown(dir, owner.uid, owner.gid);
    await Deno.chown(passwordFile, owner.uid, owner.gid);
  }
  const asOwner = (program: string, args: string[]): [string, string[]] =>
    owner
      ? ["setpriv", [
        `--reuid=${owner.uid}`,
        `--regid=${owner.gid}`,
        "--init-groups",
        "--",
        program,
        ...args,
      ]]
      : [program, args];

  const [initProgram, initArgs] = asOwner(`${bin}/initdb`, [
    "-D",
    data,
    "-U",
    PG_USER,
    `--pwfile=${passwordFile}`,
    "--auth=scram-sha-256",
    "--encoding=UTF8",
    "--no-sync",
  ]);
  const init = await runProgram(initProgram, initArgs, { timeoutMs: 120_000 });
  if (init.code !== 0) {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    throw new Error(`initdb failed: ${init.stderr || init.stdout}`);
  }

  const port = freePort();
  let child: Deno.ChildProcess | undefined;
  let exited = false;
  let logText = "";

  const start = async (): Promise<void> => {
    const [program, args] = asOwner(`${bin}/postgres`, [
      "-D",
      data,
      "-p",
      String(port),
      "-k",
      dir,
      "-c",
      "listen_addresses=127.0.0.1",
      "-c",
      "fsync=off",
      "-c",
      "max_connections=200",
    ]);
    child = new Deno.Command(program, { args, stdout: "null", stderr: "piped" }).spawn();
    exited = false;
    const running = child;
    running.status.then(() => {
      if (child === running) exited = true;
    });
    (async () => {
      const decoder = new TextDecoder();
      for await (const chunk of running.stderr) logText += decoder.decode(chunk);
    })().catch(() => {});
    try {
      await waitReady(port, () => exited, 60_000);
    } catch (error) {
      throw new Error(`${(error as Error).message}\n${logText}`);
    }
  };

  const stop = async (): Promise<void> => {
    const running = child;
    if (!running) return;
    child = undefined;
    await stopChild(running, "SIGINT", 20_000); // SIGINT: PostgreSQL's fast shutdown
  };

  try {
    await start();
    // The port accepts connections a moment before the server takes logins
    // ("the database system is starting up"): retry for a while.
    const deadline = Date.now() + 60_000;
    while (true) {
      const created = await runProgram(`${bin}/createdb`, [
        "-h",
        "127.0.0.1",
        "-p",
        String(port),
        "-U",
        PG_USER,
        PG_DATABASE,
      ], { env: { PGPASSWORD: PG_PASSWORD } });
      if (created.code === 0) break;
      if (!/starting up/.test(created.stderr) || Date.now() > deadline) {
        throw new Error(`createdb failed: ${created.stderr}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  } catch (error) {
    await stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    throw error;
  }

  const urlWith = (options: { password?: string; database?: string }): string =>
    `postgres://${PG_USER}:${
      encodeURIComponent(options.password ?? PG_PASSWORD)
    }@127.0.0.1:${port}/${options.database ?? PG_DATABASE}`;

  return {
    port,
    url: urlWith({}),
    urlWith,
    stop,
    start,
    async close() {
      await stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}
