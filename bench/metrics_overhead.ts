/**
 * The cost of counting: how long the metrics listener takes per event, and
 * the whole emit path (`ServerEvents.emit` with the metrics listener), in
 * nanoseconds, against the time ferry spends on one small-file transfer.
 *
 * ```
 * deno run bench/metrics_overhead.ts
 * ```
 *
 * @module
 */

import { ServerEvents } from "../server/events.ts";
import { ServerMetrics } from "../server/ops/metrics.ts";

const EVENTS = 2_000_000;

function measure(label: string, emit: (index: number) => void): number {
  for (let i = 0; i < 100_000; i++) emit(i); // warm up
  const started = performance.now();
  for (let i = 0; i < EVENTS; i++) emit(i);
  const ns = ((performance.now() - started) * 1e6) / EVENTS;
  console.log(`${label.padEnd(44)} ${ns.toFixed(0).padStart(6)} ns/event`);
  return ns;
}

if (import.meta.main) {
  const fields = {
    session: 1,
    peer: "127.0.0.1:40000",
    user: "bench",
    verb: "RETR",
    path: "/small/f00001",
    bytes: 4096,
    ms: 1,
    type: "I",
    ok: true,
  };
  const bare = new ServerEvents();
  measure("emit, no listener (metrics off)", () => bare.emit("transfer", fields));
  const metrics = new ServerMetrics();
  const observed = new ServerEvents();
  observed.on(metrics.listener);
  measure(
    "emit to the metrics listener (metrics on)",
    (i) => observed.emit("transfer", { ...fields, ms: i % 50 }),
  );
  const render = performance.now();
  const text = metrics.render({ sessionsActive: () => 0 });
  console.log(
    `render /metrics: ${(performance.now() - render).toFixed(2)} ms, ${text.length} bytes`,
  );
}
