/**
 * Runs a real HAProxy (Debian's `/usr/sbin/haproxy`) in TCP mode for tests:
 * writes its configuration to a temporary file, starts it in the foreground
 * (`-db`), waits until its frontend accepts connections, and stops it by PID.
 *
 * @module
 */

import * as net from "node:net";
import { stopChild } from "./stop_child.ts";

/** Where Debian installs HAProxy. */
export const HAPROXY = "/usr/sbin/haproxy";

/** True if HAProxy is installed. */
export function haproxyInstalled(): boolean {
  try {
    return Deno.statSync(HAPROXY).isFile;
  } catch {
    return false;
  }
}

/** A running HAProxy. */
export interface Haproxy {
  /** Its output so far (warnings, alerts). */
  output: string[];
  /** Stops it (SIGTERM by PID, SIGKILL after 5 s) and removes its configuration. */
  close(): Promise<void>;
}

/** One `server` line: an address, a port (absent: the port the client connected to). */
export interface HaproxyServer {
  host: string;
  port?: number;
}

/** A frontend and the backend it forwards to. */
export interface HaproxyRoute {
  /** A name for both sections. */
  name: string;
  /** The frontend's address. */
  bind: string;
  /** The port, or an inclusive range (forwarded to the same port on the server). */
  ports: number | readonly [number, number];
  /** Where connections go, round robin. */
  servers: HaproxyServer[];
}

/** Options for {@linkcode haproxyConfig}. */
export interface HaproxyOptions {
  routes: HaproxyRoute[];
  /** "send-proxy" (v1) or "send-proxy-v2" on every server line. */
  proxy: "send-proxy" | "send-proxy-v2";
  /** The address HAProxy connects to servers from. */
  source: string;
}

/** The configuration text: TCP mode, one frontend and backend per route. */
export function haproxyConfig(options: HaproxyOptions): string {
  const lines = [
    "global",
    "  maxconn 4000",
    "defaults",
    "  mode tcp",
    "  timeout connect 5s",
    "  timeout client 120s",
    "  timeout server 120s",
  ];
  for (const route of options.routes) {
    const ports = typeof route.ports === "number"
      ? `${route.ports}`
      : `${route.ports[0]}-${route.ports[1]}`;
    lines.push(
      `frontend ${route.name}`,
      `  bind ${route.bind}:${ports}`,
      `  default_backend ${route.name}_servers`,
      `backend ${route.name}_servers`,
      "  balance roundrobin",
      `  source ${options.source}`,
      ...route.servers.map((server, i) =>
        `  server s${i} ${server.host}${server.port ? `:${server.port}` : ""} ${options.proxy}`
      ),
    );
  }
  return lines.join("\n") + "\n";
}

function accepts(host: string, port: number, from: string | undefined): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port, ...(from ? { localAddress: from } : {}) }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/** Starts HAProxy with `config`, waiting (up to 15 s) until `host`:`port` accepts connections. */
export async function startHaproxy(
  config: string,
  ready: { host: string; port: number; from?: string },
): Promise<Haproxy> {
  const dir = await Deno.makeTempDir({ prefix: "ferry-haproxy-" });
  const file = `${dir}/haproxy.cfg`;
  await Deno.writeTextFile(file, config);
  const child = new Deno.Command(HAPROXY, {
    args: ["-db", "-f", file],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const output: string[] = [];
  const drain = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) output.push(chunk);
  };
  const drained = Promise.all([drain(child.stdout), drain(child.stderr)]);
  let exited = false;
  child.status.then(() => exited = true);
  const close = async () => {
    await stopChild(child);
    await drained;
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  const deadline = Date.now() + 15_000;
  while (!(await accepts(ready.host, ready.port, ready.from))) {
    if (exited || Date.now() > deadline) {
      await close();
      throw new Error(`HAProxy did not start:\n${output.join("")}\n--- config ---\n${config}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { output, close };
}

/** A port free on every one of `hosts` (outside Linux's ephemeral range). */
export function freePort(hosts: string[]): number {
  return freeRange(hosts, 1)[0];
}

/**
 * `count` consecutive ports free on every one of `hosts`, from 20000-31999
 * (below Linux's ephemeral range, so outgoing connections do not take them).
 */
export function freeRange(hosts: string[], count: number): [number, number] {
  for (let attempt = 0; attempt < 200; attempt++) {
    const low = 20_000 + Math.floor(Math.random() * (12_000 - count));
    let ok = true;
    for (let port = low; ok && port < low + count; port++) {
      for (const hostname of hosts) {
        try {
          Deno.listen({ hostname, port }).close();
        } catch {
          ok = false;
          break;
        }
      }
    }
    if (ok) return [low, low + count - 1];
  }
  throw new Error(`No ${count} free consecutive ports`);
}
