/**
 * The metrics endpoint (`--metrics HOST:PORT`): `GET /metrics` in the
 * Prometheus text format and `GET /healthz`, 200 while the server accepts
 * sessions and 503 once it is shutting down.
 *
 * @module
 */

import type { HookStatsSnapshot } from "../hooks/hook_stats.ts";

import type { ServerMetrics } from "./metrics.ts";

/** What the endpoint reads from the FTP server. */
export interface MetricsSubject {
  /** Open control connections. */
  readonly sessionCount: number;
  /** False once the server is shutting down. */
  readonly accepting: boolean;
  /** The hooks' counters, when hooks are configured. */
  readonly hookStats?: { snapshot(): HookStatsSnapshot } | undefined;
}

/** The content type of the Prometheus text format. */
export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/**
 * A running metrics endpoint.
 *
 * @example
 * ```ts
 * const endpoint = MetricsEndpoint.start({ host: "127.0.0.1", port: 0 }, metrics, server);
 * console.log(endpoint.url); // http://127.0.0.1:PORT/metrics
 * await endpoint.close();
 * ```
 */
export class MetricsEndpoint {
  /** The `/metrics` URL. */
  readonly url: string;
  /** The port it listens on. */
  readonly port: number;
  readonly #server: Deno.HttpServer<Deno.NetAddr>;

  private constructor(server: Deno.HttpServer<Deno.NetAddr>, host: string) {
    this.#server = server;
    this.port = server.addr.port;
    this.url = `http://${host.includes(":") ? `[${host}]` : host}:${this.port}/metrics`;
  }

  /**
   * Starts listening on `address` (port 0 picks a free one).
   *
   * @throws {Deno.errors.AddrInUse} and other listen errors.
   */
  static start(
    address: { host: string; port: number },
    metrics: ServerMetrics,
    subject: MetricsSubject,
  ): MetricsEndpoint {
    const gauges = {
      sessionsActive: () => subject.sessionCount,
      hooks: () => subject.hookStats?.snapshot(),
    };
    const server = Deno.serve({
      hostname: address.host,
      port: address.port,
      onListen: () => {},
    }, (request) => {
      const { pathname } = new URL(request.url);
      if (request.method !== "GET" && request.method !== "HEAD") {
        return new Response("Method not allowed\n", {
          status: 405,
          headers: { allow: "GET, HEAD" },
        });
      }
      if (pathname === "/metrics") {
        return new Response(metrics.render(gauges), {
          headers: { "content-type": METRICS_CONTENT_TYPE },
        });
      }
      if (pathname === "/healthz") {
        return subject.accepting
          ? new Response("ok\n", { headers: { "content-type": "text/plain" } })
          : new Response("shutting down\n", {
            status: 503,
            headers: { "content-type": "text/plain" },
          });
      }
      return new Response("Not found: try /metrics or /healthz\n", { status: 404 });
    });
    return new MetricsEndpoint(server, address.host);
  }

  /** Stops listening. */
  async close(): Promise<void> {
    await this.#server.shutdown();
  }
}
