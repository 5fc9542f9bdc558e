/**
 * `ferry client ui` in a real browser (Debian's chromium, headless, driven by
 * playwright-core) against a real ferry server: connecting, browsing,
 * downloading, uploading (file chooser, a drop, a folder), the conflict
 * dialog, rename, delete, cancel, a wrong password and FTPS. Screenshots go
 * to tests/ui/screenshots/.
 *
 * @module
 */

import assert from "node:assert/strict";
import { assertSameBytes } from "../helpers/assert_bytes.ts";
import type { Browser, Page } from "playwright-core";
import { startTestServer, type TestServer } from "../helpers/test_server.ts";
import { testCertificate, tlsServerOptions } from "../helpers/tls_client.ts";
import { startThrottledServer } from "./throttled_server.ts";
import {
  browserMissing,
  connect,
  launchBrowser,
  openUi,
  queueTexts,
  row,
  screenshot,
  settled,
  type UiFixture,
} from "./ui_helpers.ts";

const missing = browserMissing();
const ALICE = { user: "alice", password: "wonderland" };

/** Bytes that differ at every position, so a wrong offset shows. */
function pattern(size: number, seed = 0): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 31 + seed) % 251;
  return bytes;
}

async function withUi(
  browser: Browser,
  server: TestServer,
  work: (fx: UiFixture, page: Page) => Promise<void>,
): Promise<void> {
  const fx = await openUi(browser);
  try {
    await connect(fx.page, { port: server.port, ...ALICE });
    await work(fx, fx.page);
  } finally {
    await fx.close();
  }
}

async function answerConflict(
  page: Page,
  choice: string,
  options: { all?: boolean; name?: string } = {},
) {
  await page.waitForSelector("#conflict-dialog[open]");
  if (options.name !== undefined) await page.fill("#conflict-name", options.name);
  if (options.all) await page.check("#conflict-all");
  await page.click(`#conflict-dialog [data-choice="${choice}"]`);
}

Deno.test({
  name: "ferry client ui in chromium against ferry",
  ignore: missing !== undefined && Deno.env.get("CI") !== "true",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    if (missing) throw new Error(missing);
    const server = await startTestServer();
    const browser = await launchBrowser();
    try {
      await t.step(
        "connects, browses with mouse and keyboard, and downloads byte-identical files",
        async () => {
          await Deno.mkdir(`${server.root}/docs/deep`, { recursive: true });
          const data = pattern(1_500_000);
          await Deno.writeFile(`${server.root}/docs/data.bin`, data);
          await Deno.writeTextFile(`${server.root}/docs/deep/note.txt`, "deep note\n");
          await withUi(browser, server, async (fx, page) => {
            await screenshot(page, "01-connected");
            await row(page, "remote", "docs").dblclick();
            await row(page, "remote", "data.bin").waitFor();
            assert.match(await page.textContent("#remote-pane .crumbs") ?? "", /docs/);
            // Keyboard: into deep with Enter, back up with Backspace.
            await row(page, "remote", "deep").click();
            await page.keyboard.press("Enter");
            await row(page, "remote", "note.txt").waitFor();
            await page.keyboard.press("Backspace");
            await row(page, "remote", "data.bin").waitFor();
            // Sizes in human units.
            assert.equal(
              await row(page, "remote", "data.bin").locator("td.size").textContent(),
              "1.4 MiB",
            );
            await row(page, "remote", "data.bin").dblclick();
            assert.deepEqual(await settled(page), { "data.bin": "done" });
            assertSameBytes(await Deno.readFile(`${fx.local}/data.bin`), data);
            await row(page, "local", "data.bin").waitFor();
            // A folder, recursively, by the Download button.
            await row(page, "remote", "deep").click();
            await page.click('#remote-pane [data-action="transfer"]');
            await page.waitForFunction(() =>
              // deno-lint-ignore no-explicit-any
              [...(globalThis as any).document.querySelectorAll("#queue-body tr")].length === 2
            );
            assert.equal((await settled(page))["deep/note.txt"], "done");
            assert.equal(await Deno.readTextFile(`${fx.local}/deep/note.txt`), "deep note\n");
            await page.click("#log-panel summary");
            const log = await page.textContent("#log") ?? "";
            assert.match(log, /> PASS \*\*\*\*/);
            assert.doesNotMatch(log, /wonderland/);
            await screenshot(page, "02-downloaded");
          });
        },
      );

      await t.step("sorts by name, size and date", async () => {
        await Deno.mkdir(`${server.root}/sorted`);
        await Deno.writeFile(`${server.root}/sorted/b-big`, pattern(3000));
        await Deno.writeFile(`${server.root}/sorted/a-mid`, pattern(2000));
        await Deno.writeFile(`${server.root}/sorted/c-small`, pattern(1000));
        await Deno.utime(`${server.root}/sorted/c-small`, new Date(), new Date(2001, 0, 1));
        await Deno.utime(`${server.root}/sorted/a-mid`, new Date(), new Date(2002, 0, 1));
        await Deno.utime(`${server.root}/sorted/b-big`, new Date(), new Date(2003, 0, 1));
        await withUi(browser, server, async (_fx, page) => {
          await row(page, "remote", "sorted").dblclick();
          await row(page, "remote", "a-mid").waitFor();
          const names = () =>
            page.locator("#remote-pane tbody tr").evaluateAll((rows) =>
              // deno-lint-ignore no-explicit-any
              rows.map((r: any) => r.dataset.name)
            );
          assert.deepEqual(await names(), ["a-mid", "b-big", "c-small"]);
          await page.click('#remote-pane [data-sort="size"]');
          assert.deepEqual(await names(), ["c-small", "a-mid", "b-big"]);
          await page.click('#remote-pane [data-sort="size"]');
          assert.deepEqual(await names(), ["b-big", "a-mid", "c-small"]);
          await page.click('#remote-pane [data-sort="mtime"]');
          assert.deepEqual(await names(), ["c-small", "a-mid", "b-big"]);
        });
      });

      await t.step(
        "uploads through the file chooser, a drop from the desktop and a folder chooser",
        async () => {
          const desktop = await Deno.makeTempDir({ prefix: "ferry-ui-desktop-" });
          try {
            const chosen = pattern(300_000, 7);
            await Deno.writeFile(`${desktop}/chosen.bin`, chosen);
            await Deno.mkdir(`${desktop}/album/inner`, { recursive: true });
            await Deno.writeTextFile(`${desktop}/album/one.txt`, "one\n");
            await Deno.writeTextFile(`${desktop}/album/inner/two.txt`, "two\n");
            await Deno.mkdir(`${server.root}/incoming`);
            await withUi(browser, server, async (_fx, page) => {
              await row(page, "remote", "incoming").dblclick();
              await page.waitForSelector('#remote-pane .crumbs [aria-current="location"]');
              await page.setInputFiles("#file-input", `${desktop}/chosen.bin`);
              assert.equal((await settled(page))["chosen.bin"], "done");
              assertSameBytes(await Deno.readFile(`${server.root}/incoming/chosen.bin`), chosen);
              // A drop of two files, as the desktop's file manager hands them over.
              const dropped = await page.evaluateHandle((bytes: number[]) => {
                // deno-lint-ignore no-explicit-any
                const g = globalThis as any;
                const transfer = new g.DataTransfer();
                transfer.items.add(new g.File([new Uint8Array(bytes)], "dropped.bin"));
                transfer.items.add(new g.File(["hello drop\n"], "dropped.txt"));
                return transfer;
              }, [...pattern(5000, 3)]);
              await page.dispatchEvent("#remote-pane .list", "dragover", { dataTransfer: dropped });
              await page.dispatchEvent("#remote-pane .list", "drop", { dataTransfer: dropped });
              await page.waitForFunction(() =>
                // deno-lint-ignore no-explicit-any
                (globalThis as any).document.querySelectorAll("#queue-body tr").length === 3
              );
              const states = await settled(page);
              assert.equal(states["dropped.bin"], "done");
              assert.equal(states["dropped.txt"], "done");
              assertSameBytes(
                await Deno.readFile(`${server.root}/incoming/dropped.bin`),
                pattern(5000, 3),
              );
              assert.equal(
                await Deno.readTextFile(`${server.root}/incoming/dropped.txt`),
                "hello drop\n",
              );
              // A whole folder from the desktop (the folder chooser; a dragged folder takes the same path).
              await page.setInputFiles("#folder-input", `${desktop}/album`);
              await page.waitForFunction(() =>
                // deno-lint-ignore no-explicit-any
                (globalThis as any).document.querySelectorAll("#queue-body tr").length === 5
              );
              await settled(page);
              assert.equal(
                await Deno.readTextFile(`${server.root}/incoming/album/one.txt`),
                "one\n",
              );
              assert.equal(
                await Deno.readTextFile(`${server.root}/incoming/album/inner/two.txt`),
                "two\n",
              );
              await row(page, "remote", "album").waitFor();
              await screenshot(page, "03-uploaded");
            });
          } finally {
            await Deno.remove(desktop, { recursive: true });
          }
        },
      );

      await t.step("uploads from the local pane by drag and drop between the panes", async () => {
        await Deno.mkdir(`${server.root}/dragged`);
        await withUi(browser, server, async (fx, page) => {
          await Deno.writeTextFile(`${fx.local}/local.txt`, "from the local pane\n");
          await page.click('#local-pane [data-action="refresh"]');
          await row(page, "remote", "dragged").dblclick();
          await page.waitForSelector('#remote-pane .crumbs [aria-current="location"]');
          await row(page, "local", "local.txt").dragTo(page.locator("#remote-pane .list"));
          assert.equal((await settled(page))["local.txt"], "done");
          assert.equal(
            await Deno.readTextFile(`${server.root}/dragged/local.txt`),
            "from the local pane\n",
          );
        });
      });

      await t.step(
        "asks when the target exists: overwrite, rename, skip, resume, apply to all",
        async () => {
          await Deno.mkdir(`${server.root}/clash`);
          await Deno.writeTextFile(`${server.root}/clash/a.txt`, "remote version\n");
          const big = pattern(200_000, 5);
          await Deno.writeFile(`${server.root}/clash/big.bin`, big);
          for (const name of ["m1.txt", "m2.txt", "m3.txt"]) {
            await Deno.writeTextFile(`${server.root}/clash/${name}`, `remote ${name}\n`);
          }
          await withUi(browser, server, async (fx, page) => {
            await Deno.writeTextFile(`${fx.local}/a.txt`, "local version, longer\n");
            await Deno.writeFile(`${fx.local}/big.bin`, big.subarray(0, 70_000));
            for (const name of ["m1.txt", "m2.txt", "m3.txt"]) {
              await Deno.writeTextFile(`${fx.local}/${name}`, `local ${name}\n`);
            }
            await row(page, "remote", "clash").dblclick();
            await row(page, "remote", "a.txt").waitFor();

            // Skip: nothing changes.
            await row(page, "remote", "a.txt").dblclick();
            await page.waitForSelector("#conflict-dialog[open]");
            assert.equal(await page.inputValue("#conflict-name"), "a.1.txt");
            assert.equal(await page.isDisabled('#conflict-dialog [data-choice="resume"]'), true);
            await screenshot(page, "04-conflict");
            await answerConflict(page, "skip");
            assert.equal((await settled(page))["a.txt"], "skipped");
            assert.equal(await Deno.readTextFile(`${fx.local}/a.txt`), "local version, longer\n");

            // Rename: the suggested name, the original kept.
            await page.click("#clear-finished");
            await row(page, "remote", "a.txt").dblclick();
            await answerConflict(page, "rename");
            assert.equal((await settled(page))["a.txt"], "done");
            assert.equal(await Deno.readTextFile(`${fx.local}/a.txt`), "local version, longer\n");
            assert.equal(await Deno.readTextFile(`${fx.local}/a.1.txt`), "remote version\n");

            // Overwrite.
            await page.click("#clear-finished");
            await row(page, "remote", "a.txt").dblclick();
            await answerConflict(page, "overwrite");
            assert.equal((await settled(page))["a.txt"], "done");
            assert.equal(await Deno.readTextFile(`${fx.local}/a.txt`), "remote version\n");

            // Resume: only the missing end moves (REST 70000).
            await page.click("#clear-finished");
            await row(page, "remote", "big.bin").dblclick();
            await page.waitForSelector("#conflict-dialog[open]");
            assert.equal(await page.isDisabled('#conflict-dialog [data-choice="resume"]'), false);
            await answerConflict(page, "resume");
            assert.equal((await settled(page))["big.bin"], "done");
            assertSameBytes(await Deno.readFile(`${fx.local}/big.bin`), big);
            await page.click("#log-panel summary");
            assert.match(await page.textContent("#log") ?? "", /> REST 70000/);

            // Apply to all: one answer for three conflicts.
            await page.click("#clear-finished");
            await row(page, "remote", "m1.txt").click();
            await row(page, "remote", "m3.txt").click({ modifiers: ["Shift"] });
            let dialogs = 0;
            await page.exposeFunction("__conflictShown", () => dialogs++);
            await page.evaluate(() => {
              // deno-lint-ignore no-explicit-any
              const g = globalThis as any;
              new g.MutationObserver(() => {
                if (g.document.getElementById("conflict-dialog").open) g.__conflictShown();
              }).observe(g.document.getElementById("conflict-dialog"), { attributes: true });
            });
            await page.click('#remote-pane [data-action="transfer"]');
            await answerConflict(page, "overwrite", { all: true });
            const states = await settled(page);
            assert.deepEqual(states, { "m1.txt": "done", "m2.txt": "done", "m3.txt": "done" });
            assert.equal(dialogs, 1);
            // Three files, --parallel 2 (the default): two transfer sessions besides browsing.
            const sessions = await page.locator("#log .who").allTextContents();
            assert.ok(sessions.includes("transfer 1") && sessions.includes("transfer 2"));
            for (const name of ["m1.txt", "m2.txt", "m3.txt"]) {
              assert.equal(await Deno.readTextFile(`${fx.local}/${name}`), `remote ${name}\n`);
            }
          });
        },
      );

      await t.step(
        "makes folders, renames and deletes (folders recursively) on both sides",
        async () => {
          await Deno.mkdir(`${server.root}/edit/full/inner`, { recursive: true });
          await Deno.writeTextFile(`${server.root}/edit/full/inner/x.txt`, "x");
          await Deno.writeTextFile(`${server.root}/edit/old.txt`, "old");
          await withUi(browser, server, async (fx, page) => {
            await row(page, "remote", "edit").dblclick();
            await row(page, "remote", "old.txt").click();
            await page.keyboard.press("F2");
            await page.fill("#ask-input", "new.txt");
            await page.click("#ask-ok");
            await row(page, "remote", "new.txt").waitFor();
            assert.equal(await Deno.readTextFile(`${server.root}/edit/new.txt`), "old");

            await page.click('#remote-pane [data-action="mkdir"]');
            await page.fill("#ask-input", "made");
            await page.keyboard.press("Enter");
            await row(page, "remote", "made").waitFor();
            assert.ok((await Deno.stat(`${server.root}/edit/made`)).isDirectory);

            await row(page, "remote", "full").click();
            await page.click('#remote-pane [data-action="delete"]');
            await page.waitForSelector("#ask-dialog[open]");
            assert.match(await page.textContent("#ask-text") ?? "", /everything inside/);
            await screenshot(page, "05-confirm-delete");
            await page.click("#ask-ok");
            await row(page, "remote", "full").waitFor({ state: "detached" });
            await assert.rejects(Deno.stat(`${server.root}/edit/full`), Deno.errors.NotFound);

            // Cancelling the confirmation keeps the file.
            await row(page, "remote", "new.txt").click();
            await page.keyboard.press("Delete");
            await page.click("#ask-cancel");
            assert.ok((await Deno.stat(`${server.root}/edit/new.txt`)).isFile);

            // The local side.
            await Deno.mkdir(`${fx.local}/tree/sub`, { recursive: true });
            await Deno.writeTextFile(`${fx.local}/tree/sub/y.txt`, "y");
            await page.click('#local-pane [data-action="refresh"]');
            await row(page, "local", "tree").click();
            await page.keyboard.press("F2");
            await page.fill("#ask-input", "renamed");
            await page.click("#ask-ok");
            await row(page, "local", "renamed").click();
            await page.keyboard.press("Delete");
            await page.click("#ask-ok");
            await row(page, "local", "renamed").waitFor({ state: "detached" });
            await assert.rejects(Deno.stat(`${fx.local}/renamed`), Deno.errors.NotFound);
          });
        },
      );

      await t.step("says why a wrong password was refused", async () => {
        const fx = await openUi(browser);
        try {
          await fx.page.fill("#host", "127.0.0.1");
          await fx.page.fill("#port", String(server.port));
          await fx.page.fill("#user", "alice");
          await fx.page.fill("#password", "not-the-password");
          await fx.page.click("#connect");
          await fx.page.waitForSelector("#message:not([hidden])");
          const text = await fx.page.textContent("#message-text") ?? "";
          assert.match(text, /Login refused by the server: 530/);
          assert.equal(await fx.page.isVisible("#disconnect"), false);
          await screenshot(fx.page, "06-wrong-password");
        } finally {
          await fx.close();
        }
      });

      await t.step("keeps local paths inside --local: no .., no symbolic link out", async () => {
        const outside = await Deno.makeTempDir({ prefix: "ferry-ui-outside-" });
        await Deno.writeTextFile(`${outside}/secret.txt`, "secret\n");
        await Deno.writeTextFile(`${server.root}/secret.txt`, "from the server\n");
        try {
          await withUi(browser, server, async (fx, page) => {
            await Deno.symlink(outside, `${fx.local}/out-dir`);
            await Deno.symlink(`${outside}/secret.txt`, `${fx.local}/secret.txt`);
            const api = (path: string) =>
              page.evaluate(async (url: string) => {
                const response = await fetch(url);
                return { status: response.status, body: await response.text() };
              }, path);
            for (const path of ["/..", "/../..", "/out-dir", "/out-dir/x", "/a/../.."]) {
              const result = await api(`/api/local/list?path=${encodeURIComponent(path)}`);
              assert.equal(result.status, 403, `${path}: ${result.body}`);
            }
            // A download never writes through the link.
            await row(page, "remote", "secret.txt").dblclick();
            const states = await settled(page);
            assert.equal(states["secret.txt"], "failed");
            assert.match((await queueTexts(page))["secret.txt"]!, /symbolic link/);
            assert.equal(await Deno.readTextFile(`${outside}/secret.txt`), "secret\n");
            // An upload cannot read through it either.
            const upload = await page.evaluate(async () => {
              const response = await fetch("/api/transfers", {
                method: "POST",
                headers: { "content-type": "application/json" },
                body: JSON.stringify({
                  direction: "upload",
                  localDir: "/out-dir",
                  remoteDir: "/",
                  entries: [{ name: "secret.txt", type: "file" }],
                }),
              });
              return response.status;
            });
            assert.equal(upload, 403);
          });
        } finally {
          await Deno.remove(outside, { recursive: true });
        }
      });

      await t.step(
        "connects with explicit and implicit FTPS to ferry, certificate checked",
        async () => {
          const { cert } = await testCertificate();
          const options = await tlsServerOptions({ implicitTlsPort: 0 });
          const tlsServer = await startTestServer(options);
          try {
            const data = pattern(100_000, 9);
            await Deno.writeFile(`${tlsServer.root}/secure.bin`, data);
            // Verified against the certificate given with --ca-file.
            const fx = await openUi(browser, { caFile: cert });
            try {
              await connect(fx.page, {
                port: tlsServer.port,
                ...ALICE,
                security: "explicit",
              });
              assert.match(
                await fx.page.textContent("#status") ?? "",
                /explicit FTPS, TLSv1\.[23]/,
              );
              await row(fx.page, "remote", "secure.bin").dblclick();
              assert.equal((await settled(fx.page))["secure.bin"], "done");
              assertSameBytes(await Deno.readFile(`${fx.local}/secure.bin`), data);
              await fx.page.click("#log-panel summary");
              assert.match(await fx.page.textContent("#log") ?? "", /> PROT P/);
              await screenshot(fx.page, "07-ftps");
            } finally {
              await fx.close();
            }
            // Without the CA the self-signed certificate is refused, with a message.
            const refused = await openUi(browser);
            try {
              await refused.page.fill("#host", "127.0.0.1");
              await refused.page.fill("#port", String(tlsServer.port));
              await refused.page.fill("#user", "alice");
              await refused.page.fill("#password", "wonderland");
              await refused.page.selectOption("#security", "explicit");
              await refused.page.click("#connect");
              await refused.page.waitForSelector("#message:not([hidden])");
              assert.match(await refused.page.textContent("#message-text") ?? "", /certificate/i);
              // Unchecking "Verify certificate" connects (implicit FTPS this time).
              const implicitPort = tlsServer.server.addresses.find((a) => a.implicitTls)?.port;
              assert.ok(implicitPort !== undefined);
              {
                await refused.page.fill("#port", String(implicitPort));
                await refused.page.selectOption("#security", "implicit");
                await refused.page.uncheck("#verify");
                await refused.page.fill("#password", "wonderland");
                await refused.page.click("#connect");
                await refused.page.waitForSelector("body.connected");
                assert.match(
                  await refused.page.textContent("#status") ?? "",
                  /certificate NOT verified/,
                );
                await row(refused.page, "remote", "secure.bin").waitFor();
              }
            } finally {
              await refused.close();
            }
          } finally {
            await tlsServer.close();
          }
        },
      );

      await t.step("cancels a running transfer and retries it", async () => {
        const slow = await startThrottledServer(48 * 1024);
        try {
          const data = pattern(1_000_000, 11);
          await Deno.writeFile(`${slow.root}/slow.bin`, data);
          // Some company for the screenshot the README shows.
          for (const dir of ["photos", "reports", "src"]) await Deno.mkdir(`${slow.root}/${dir}`);
          await Deno.writeTextFile(`${slow.root}/notes.txt`, "notes\n".repeat(300));
          await Deno.writeFile(`${slow.root}/backup-2026-12.tar.gz`, pattern(48_000, 2));
          const fx = await openUi(browser);
          try {
            await Deno.mkdir(`${fx.local}/Documents`);
            await Deno.mkdir(`${fx.local}/Downloads`);
            await Deno.writeTextFile(`${fx.local}/todo.md`, "- ship the browser client\n");
            await Deno.writeFile(`${fx.local}/slides.pdf`, pattern(812_000, 4));
            await fx.page.click('#local-pane [data-action="refresh"]');
            await connect(fx.page, { port: slow.port, user: slow.user, password: slow.password });
            await row(fx.page, "remote", "notes.txt").dblclick();
            await settled(fx.page);
            await row(fx.page, "remote", "slow.bin").dblclick();
            await fx.page.click("#log-panel summary");
            await fx.page.waitForFunction(() => {
              // deno-lint-ignore no-explicit-any
              const row = (globalThis as any).document.querySelector(
                '#queue-body tr[data-state="running"]',
              );
              return row?.dataset.state === "running" &&
                row.querySelector("td.rate").textContent !== "";
            });
            const eta = await fx.page.textContent('#queue-body tr[data-state="running"] td.eta');
            assert.match(eta ?? "", /^\d+:\d\d$/);
            await screenshot(fx.page, "08-running");
            await fx.page.click('#queue-body button[data-op="cancel"]');
            await fx.page.waitForSelector('#queue-body tr[data-state="cancelled"]');
            assert.equal((await settled(fx.page))["slow.bin"], "cancelled");
            const partial = (await Deno.stat(`${fx.local}/slow.bin`)).size;
            assert.ok(partial < data.length, `partial ${partial}`);
            // Retry: the partial file is there, so it asks; Resume finishes it.
            await fx.page.click('#queue-body button[data-op="retry"]');
            await answerConflict(fx.page, "resume");
            await fx.page.waitForSelector(
              '#queue-body tr[data-state="done"] + tr[data-state="done"]',
            );
            assert.equal((await settled(fx.page))["slow.bin"], "done");
            assertSameBytes(await Deno.readFile(`${fx.local}/slow.bin`), data);
          } finally {
            await fx.close();
          }
        } finally {
          await slow.stop();
        }
      });
    } finally {
      await browser.close();
      await server.close();
    }
  },
});
