import assert from "node:assert/strict";
import { ServerMetrics } from "../../../server/ops/metrics.ts";
import { METRICS_CONTENT_TYPE, MetricsEndpoint } from "../../../server/ops/metrics_http.ts";
import { RawClient, withServer } from "../../helpers/raw_client.ts";

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}
interface Family {
  name: string;
  type: string;
  help: string;
  samples: Sample[];
}

/** Parses the exposition with the real Prometheus parser (Debian's python3-prometheus-client). */
async function parseWithPrometheus(text: string): Promise<Family[]> {
  const child = new Deno.Command("/usr/bin/python3", {
    args: [new URL("./parse_metrics.py", import.meta.url).pathname],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(text));
  await writer.close();
  const { code, stdout, stderr } = await child.output();
  assert.equal(code, 0, new TextDecoder().decode(stderr));
  return JSON.parse(new TextDecoder().decode(stdout));
}

function value(families: Family[], name: string, labels: Record<string, string> = {}): number {
  for (const family of families) {
    for (const sample of family.samples) {
      if (sample.name !== name) continue;
      if (Object.entries(labels).every(([key, wanted]) => sample.labels[key] === wanted)) {
        return sample.value;
      }
    }
  }
  throw new Error(`No sample ${name} ${JSON.stringify(labels)}`);
}

Deno.test("the metrics endpoint counts sessions, logins, transfers and refusals, parsed by the Prometheus parser", async () => {
  await withServer({ config: { maxSessionsPerIp: 3 } }, async (server, track) => {
    const metrics = new ServerMetrics();
    server.server.events.on(metrics.listener);
    const endpoint = MetricsEndpoint.start({ host: "127.0.0.1", port: 0 }, metrics, server.server);
    try {
      const client = track(await RawClient.login(server.port));
      await client.command("TYPE I");
      assert.equal((await client.upload("STOR a.bin", new Uint8Array(3000))).final.code, 226);
      assert.equal((await client.download("RETR a.bin")).final.code, 226);
      assert.equal((await client.download("RETR a.bin")).final.code, 226);
      assert.equal((await client.download("LIST")).final.code, 226);
      const failed = track(await RawClient.connect(server.port));
      await failed.read();
      await failed.command("USER alice");
      assert.equal((await failed.command("PASS nope")).code, 530);
      const third = track(await RawClient.connect(server.port));
      await third.read();
      const refused = track(await RawClient.connect(server.port));
      assert.equal((await refused.read()).code, 421);
      await new Promise((resolve) => setTimeout(resolve, 100)); // transfer events follow the 226
      server.server.logEvent("reload", { ok: false, error: "test" });

      const response = await fetch(endpoint.url);
      assert.equal(response.status, 200);
      assert.equal(response.headers.get("content-type"), METRICS_CONTENT_TYPE);
      const text = await response.text();
      const families = await parseWithPrometheus(text);
      assert.equal(value(families, "ferry_sessions_active"), 3);
      assert.equal(value(families, "ferry_sessions_total"), 3);
      assert.equal(value(families, "ferry_logins_total", { result: "ok" }), 1);
      assert.equal(value(families, "ferry_logins_total", { result: "failed" }), 1);
      assert.equal(value(families, "ferry_transfers_total", { verb: "RETR", result: "ok" }), 2);
      assert.equal(value(families, "ferry_transfers_total", { verb: "STOR", result: "ok" }), 1);
      assert.equal(value(families, "ferry_transfers_total", { verb: "LIST", result: "ok" }), 1);
      assert.equal(value(families, "ferry_transfer_bytes_total", { direction: "in" }), 3000);
      assert.ok(value(families, "ferry_transfer_bytes_total", { direction: "out" }) >= 6000);
      assert.equal(value(families, "ferry_transfer_duration_seconds_count"), 4);
      assert.equal(value(families, "ferry_transfer_duration_seconds_bucket", { le: "+Inf" }), 4);
      assert.equal(
        value(families, "ferry_connections_rejected_total", { reason: "max_sessions_per_ip" }),
        1,
      );
      assert.equal(value(families, "ferry_reloads_total", { result: "failed" }), 1);
      assert.equal(value(families, "ferry_reloads_total", { result: "ok" }), 0);
      assert.ok(value(families, "process_resident_memory_bytes") > 1_000_000);
      assert.ok(value(families, "process_open_fds") > 3);
      const types = Object.fromEntries(families.map((family) => [family.name, family.type]));
      assert.equal(types["ferry_transfer_duration_seconds"], "histogram");
      assert.equal(types["ferry_sessions_active"], "gauge");
      assert.equal(types["ferry_transfers"], "counter");
      assert.ok(families.every((family) => family.help.length > 0));

      assert.equal((await fetch(endpoint.url.replace("/metrics", "/healthz"))).status, 200);
      assert.equal(
        (await (await fetch(endpoint.url.replace("/metrics", "/nothing"))).text()).length > 0,
        true,
      );
      const closing = server.server.close({ graceMs: 0 });
      const health = await fetch(endpoint.url.replace("/metrics", "/healthz"));
      assert.equal(health.status, 503);
      await health.body?.cancel();
      await closing;
    } finally {
      await endpoint.close();
    }
  });
});

Deno.test("ServerMetrics buckets transfer durations cumulatively", async () => {
  const metrics = new ServerMetrics();
  const transfer = (ms: number) =>
    metrics.listener({
      name: "transfer",
      time: new Date(),
      fields: { verb: "RETR", ok: true, bytes: 1, ms },
    });
  transfer(3);
  transfer(80);
  transfer(80);
  transfer(400_000);
  const families = await parseWithPrometheus(metrics.render({ sessionsActive: () => 0 }));
  assert.equal(value(families, "ferry_transfer_duration_seconds_bucket", { le: "0.005" }), 1);
  assert.equal(value(families, "ferry_transfer_duration_seconds_bucket", { le: "0.1" }), 3);
  assert.equal(value(families, "ferry_transfer_duration_seconds_bucket", { le: "300" }), 3);
  assert.equal(value(families, "ferry_transfer_duration_seconds_bucket", { le: "+Inf" }), 4);
  assert.equal(value(families, "ferry_transfer_duration_seconds_sum"), 0.003 + 0.16 + 400);
});
