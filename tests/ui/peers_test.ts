/**
 * `ferry client ui` in chromium against the other servers users have:
 * vsftpd, pure-ftpd and pyftpdlib (started by tests/interop/servers.ts).
 * Each: connect, browse into a folder, download byte-identical, upload
 * through the file chooser, make a folder, rename and delete.
 *
 * @module
 */

import assert from "node:assert/strict";
import { assertSameBytes } from "../helpers/assert_bytes.ts";
import { PEER_SERVERS, PEER_USER, peerServerMissing, startPeerServer } from "../interop/servers.ts";
import { browserMissing, connect, launchBrowser, openUi, row, settled } from "./ui_helpers.ts";

const onCi = Deno.env.get("CI") === "true";

for (const name of PEER_SERVERS) {
  const missing = browserMissing() ?? await peerServerMissing(name);
  Deno.test({
    name: `ferry client ui in chromium against ${name}`,
    ignore: missing !== undefined && !onCi,
    sanitizeOps: false,
    sanitizeResources: false,
    async fn() {
      if (missing) throw new Error(missing);
      await using peer = await startPeerServer(name);
      const data = crypto.getRandomValues(new Uint8Array(65536));
      await peer.mkdir("/pub");
      await peer.writeFile("/pub/data.bin", data);
      await peer.writeFile("/pub/old name.txt", "rename me\n");
      const desktop = await Deno.makeTempDir({ prefix: "ferry-ui-desktop-" });
      await Deno.writeTextFile(`${desktop}/up.txt`, `uploaded to ${name}\n`);
      const browser = await launchBrowser();
      try {
        const fx = await openUi(browser);
        try {
          const page = fx.page;
          await connect(page, {
            port: peer.port,
            user: PEER_USER.name,
            password: PEER_USER.password,
          });
          await row(page, "remote", "pub").dblclick();
          await row(page, "remote", "data.bin").dblclick();
          assert.equal((await settled(page))["data.bin"], "done");
          assertSameBytes(await Deno.readFile(`${fx.local}/data.bin`), data);
          await page.setInputFiles("#file-input", `${desktop}/up.txt`);
          assert.equal((await settled(page, 2))["up.txt"], "done");
          assert.equal(await Deno.readTextFile(peer.real("/pub/up.txt")), `uploaded to ${name}\n`);
          await row(page, "remote", "up.txt").waitFor();

          await page.click('#remote-pane [data-action="mkdir"]');
          await page.fill("#ask-input", "new dir");
          await page.click("#ask-ok");
          await row(page, "remote", "new dir").waitFor();
          await row(page, "remote", "old name.txt").click();
          await page.keyboard.press("F2");
          await page.fill("#ask-input", "new name.txt");
          await page.click("#ask-ok");
          await row(page, "remote", "new name.txt").waitFor();
          assert.equal(await Deno.readTextFile(peer.real("/pub/new name.txt")), "rename me\n");
          await row(page, "remote", "new dir").click();
          await page.keyboard.press("Delete");
          await page.click("#ask-ok");
          await row(page, "remote", "new dir").waitFor({ state: "detached" });
        } finally {
          await fx.close();
        }
      } finally {
        await browser.close();
        await Deno.remove(desktop, { recursive: true });
      }
    },
  });
}
