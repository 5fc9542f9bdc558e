/**
 * Python's ftplib drives a ferry server over IPv4 and IPv6, in passive and
 * active mode, through `ftplib_driver.py`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { assertSameBytes } from "../helpers/assert_bytes.ts";
import { fileURLToPath } from "node:url";
import {
  assertDataConnections,
  describeVariant,
  DOCS,
  exists,
  type Fixture,
  peerTest,
  randomBytes,
  run,
  sampleText,
  startFixture,
  USER,
  type Variant,
  VARIANTS,
} from "./peers.ts";

import { crc32Reference, referenceHash } from "../helpers/checksum_reference.ts";

const DRIVER = fileURLToPath(new URL("./ftplib_driver.py", import.meta.url));

type Op = [string, ...(string | number)[]];

interface DriverRun {
  results: unknown[];
  commands: string[];
}

async function ftplib(fixture: Fixture, variant: Variant, ops: Op[]): Promise<DriverRun> {
  const spec = {
    host: variant.host,
    port: fixture.server.port,
    user: USER.name,
    password: USER.password,
    passive: variant.mode === "passive",
    ops,
  };
  const result = await run("python3", [DRIVER, JSON.stringify(spec)]);
  let report: { results?: unknown[]; commands?: string[]; error?: string };
  try {
    report = JSON.parse(result.stdout.trim().split("\n").at(-1) ?? "");
  } catch {
    throw new Error(`ftplib driver printed no report: exit ${result.code}\n${result.stderr}`);
  }
  if (result.code !== 0 || report.error !== undefined) {
    throw new Error(
      `ftplib failed: ${report.error}\ncommands sent:\n${
        (report.commands ?? []).join("\n")
      }\n${result.stderr}`,
    );
  }
  return { results: report.results ?? [], commands: report.commands ?? [] };
}

for (const variant of VARIANTS) {
  peerTest(
    "python3",
    `ftplib lists, transfers, resumes, renames and deletes ${describeVariant(variant)}`,
    async (_peer, t) => {
      const fixture = await startFixture();
      const commandsSent: string[] = [];
      const call = async (ops: Op[]) => {
        const report = await ftplib(fixture, variant, ops);
        commandsSent.push(...report.commands);
        return report;
      };
      try {
        await t.step("logs in and lists a folder with LIST and NLST", async () => {
          const { results } = await call([["pwd"], ["list", DOCS], ["nlst", DOCS]]);
          assert.equal(results[0], "/");
          const lines = results[1] as string[];
          assert.ok(
            lines.some((line) => /^-.* 300001 .* photo data\.bin$/.test(line)),
            lines.join("\n"),
          );
          assert.deepEqual(
            (results[2] as string[]).map((name) => name.split("/").at(-1)).sort(),
            ["hello world.txt", "photo data.bin"],
          );
        });

        await t.step("lists a folder with MLSD", async () => {
          const { results, commands } = await call([["mlsd", DOCS]]);
          assert.ok(commands.includes(`MLSD ${DOCS}`), commands.join("\n"));
          const entries = new Map(results[0] as [string, Record<string, string>][]);
          assert.equal(entries.get("photo data.bin")?.type, "file");
          assert.equal(entries.get("photo data.bin")?.size, "300001");
          assert.equal(entries.get("hello world.txt")?.type, "file");
        });

        await t.step("uploads a binary file byte for byte", async () => {
          const content = randomBytes(200_003);
          await Deno.writeFile(`${fixture.local}/upload source.bin`, content);
          const { commands } = await call([
            ["stor", `${fixture.local}/upload source.bin`, "uploaded binary.bin"],
          ]);
          assert.ok(commands.includes("TYPE I"), commands.join("\n"));
          assertSameBytes(await Deno.readFile(fixture.real("uploaded binary.bin")), content);
        });

        await t.step("reads checksums with HASH, OPTS HASH and XCRC", async () => {
          const file = `${DOCS}/photo data.bin`;
          const { results } = await call([
            ["sendcmd", "OPTS HASH SHA-512"],
            ["sendcmd", `HASH ${file}`],
            ["sendcmd", `XCRC ${file}`],
            ["sendcmd", `XSHA256 ${file} 1000 2000`],
          ]);
          assert.equal(results[0], "200 SHA-512");
          const real = fixture.real(file);
          const sha512 = await referenceHash("sha512sum", real);
          assert.equal(results[1], `213 SHA-512 0-300000 ${sha512} ${file}`);
          assert.equal(results[2], `250 ${await crc32Reference(real)}`);
          const part = await referenceHash("sha256sum", real, { skip: 1000, count: 1000 });
          assert.equal(results[3], `250 ${part}`);
        });

        await t.step("downloads a binary file byte for byte", async () => {
          await call([["retr", `${DOCS}/photo data.bin`, `${fixture.local}/downloaded.bin`]]);
          assertSameBytes(await Deno.readFile(`${fixture.local}/downloaded.bin`), fixture.binary);
        });

        await t.step("uploads text with storlines, stored with LF endings", async () => {
          const text = sampleText(500);
          await Deno.writeTextFile(`${fixture.local}/notes source.txt`, text);
          const { commands } = await call([
            ["storlines", `${fixture.local}/notes source.txt`, "ascii notes.txt"],
          ]);
          assert.ok(commands.includes("TYPE A"), commands.join("\n"));
          assert.equal(await Deno.readTextFile(fixture.real("ascii notes.txt")), text);
        });

        await t.step("downloads text with retrlines", async () => {
          await call([["retrlines", `${DOCS}/hello world.txt`, `${fixture.local}/hello.txt`]]);
          assert.equal(await Deno.readTextFile(`${fixture.local}/hello.txt`), fixture.text);
        });

        await t.step("sends CRLF line endings on the wire in TYPE A", async () => {
          const { results } = await call([["retr_ascii_raw", `${DOCS}/hello world.txt`]]);
          const wire = new TextDecoder().decode(
            Uint8Array.from(atob(results[0] as string), (c) => c.charCodeAt(0)),
          );
          assert.equal(wire, fixture.text.replaceAll("\n", "\r\n"));
        });

        await t.step("resumes an interrupted download with REST", async () => {
          const partial = `${fixture.local}/partial photo.bin`;
          await Deno.writeFile(partial, fixture.binary.subarray(0, 123_456));
          const { commands } = await call([
            ["retr_rest", `${DOCS}/photo data.bin`, partial, 123_456],
          ]);
          assert.ok(commands.includes("REST 123456"), commands.join("\n"));
          assertSameBytes(await Deno.readFile(partial), fixture.binary);
        });

        await t.step("resumes an interrupted upload with REST and STOR", async () => {
          const content = randomBytes(150_000);
          await Deno.writeFile(`${fixture.local}/whole upload.bin`, content);
          await Deno.writeFile(fixture.real("half upload.bin"), content.subarray(0, 70_000));
          const { results, commands } = await call([
            ["size", "half upload.bin"],
            ["stor_rest", `${fixture.local}/whole upload.bin`, "half upload.bin", 70_000],
            ["size", "half upload.bin"],
          ]);
          assert.equal(results[0], 70_000);
          assert.ok(commands.includes("REST 70000"), commands.join("\n"));
          assert.equal(results[2], 150_000);
          assertSameBytes(await Deno.readFile(fixture.real("half upload.bin")), content);
        });

        await t.step("renames a file", async () => {
          await Deno.writeTextFile(fixture.real("old name.txt"), "rename me\n");
          await call([["rename", "old name.txt", "new name.txt"]]);
          assert.equal(await exists(fixture.real("old name.txt")), false);
          assert.equal(await Deno.readTextFile(fixture.real("new name.txt")), "rename me\n");
        });

        await t.step("deletes a file", async () => {
          await Deno.writeTextFile(fixture.real("doomed file.txt"), "bye\n");
          await call([["delete", "doomed file.txt"]]);
          assert.equal(await exists(fixture.real("doomed file.txt")), false);
        });

        await t.step("makes and removes a folder", async () => {
          const { results } = await call([["mkd", "new folder"], ["mkd", "new folder/inner one"]]);
          assert.equal(results[0], "/new folder");
          assert.equal(results[1], "/new folder/inner one");
          assert.ok((await Deno.stat(fixture.real("new folder/inner one"))).isDirectory);
          await call([["rmd", "new folder/inner one"], ["rmd", "new folder"]]);
          assert.equal(await exists(fixture.real("new folder")), false);
        });

        await t.step(`opened every data connection ${describeVariant(variant)}`, () => {
          assertDataConnections(commandsSent, variant);
        });
      } finally {
        await fixture.close();
      }
    },
  );
}
