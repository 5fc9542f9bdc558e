import assert from "node:assert/strict";
import { DEFAULT_CONFIG } from "../../server/config.ts";
import { serveConfig } from "../../server/cli/serve_command.ts";
import { SettingsError } from "../../server/ops/resolve_settings.ts";

Deno.test("serveConfig() defaults: no atomic uploads, 30 s shutdown grace, the documented limits", () => {
  const config = serveConfig({});
  assert.equal(config.atomicUploads, false);
  assert.equal(config.shutdownGraceMs, 30_000);
  assert.equal(config.maxSessions, 2000);
  assert.equal(config.maxSessionsPerIp, 100);
  assert.equal(config.maxLoginFailures, 5);
  assert.equal(config.idleTimeoutMs, 300_000);
  assert.equal(config.dataTimeoutMs, 30_000);
  assert.deepEqual(config, { ...DEFAULT_CONFIG, hosts: DEFAULT_CONFIG.hosts });
});

Deno.test("serveConfig() reads --atomic-uploads and --shutdown-grace (0 allowed)", () => {
  const config = serveConfig({ atomic_uploads: true, shutdown_grace: "5" });
  assert.equal(config.atomicUploads, true);
  assert.equal(config.shutdownGraceMs, 5000);
  assert.equal(serveConfig({ shutdown_grace: "0" }).shutdownGraceMs, 0);
});

Deno.test("serveConfig() rejects a bad --shutdown-grace with a SettingsError (exit 2)", () => {
  for (const value of ["-1", "1.5", "ten", "", "86401"]) {
    assert.throws(
      () => serveConfig({ shutdown_grace: value }),
      (error: unknown) =>
        error instanceof SettingsError && error.exitCode === 2 &&
        error.message.includes(`flag --shutdown-grace: shutdown_grace: expected`),
    );
  }
});

Deno.test("serveConfig() reads --tls-max-version 1.2 and refuses other versions", () => {
  assert.equal(serveConfig({}).tlsMaxVersion, "TLSv1.3");
  assert.equal(serveConfig({ tls_max_version: "1.2" }).tlsMaxVersion, "TLSv1.2");
  assert.throws(() => serveConfig({ tls_max_version: "1.1" }), SettingsError);
});
