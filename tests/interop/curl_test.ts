/**
 * curl drives a ferry server over IPv4 and IPv6, in passive and active mode.
 *
 * @module
 */

import assert from "node:assert/strict";
import { assertSameBytes } from "../helpers/assert_bytes.ts";
import {
  assertDataConnections,
  describeVariant,
  DOCS,
  exists,
  type Fixture,
  peerTest,
  randomBytes,
  runOk,
  sampleText,
  startFixture,
  urlPath,
  USER,
  type Variant,
  VARIANTS,
} from "./peers.ts";

interface CurlRun {
  stdout: string;
  /** The commands curl sent, from its verbose output. */
  commands: string[];
}

async function curl(variant: Variant, args: string[]): Promise<CurlRun> {
  const result = await runOk("curl", [
    "--silent",
    "--show-error",
    "--verbose",
    "--max-time",
    "50",
    "--connect-timeout",
    "10",
    "--user",
    `${USER.name}:${USER.password}`,
    ...(variant.mode === "active" ? ["--ftp-port", variant.host] : []),
    ...args,
  ]);
  const commands = result.stderr.split("\n")
    .filter((line) => line.startsWith("> "))
    .map((line) => line.slice(2).trimEnd());
  return { stdout: result.stdout, commands };
}

function url(fixture: Fixture, variant: Variant, virtualPath: string): string {
  return `ftp://${variant.urlHost}:${fixture.server.port}/${urlPath(virtualPath)}`;
}

for (const variant of VARIANTS) {
  peerTest(
    "curl",
    `curl lists, transfers, resumes, renames and deletes ${describeVariant(variant)}`,
    async (_peer, t) => {
      const fixture = await startFixture();
      const commandsSent: string[] = [];
      const call = async (args: string[]) => {
        const run = await curl(variant, args);
        commandsSent.push(...run.commands);
        return run;
      };
      try {
        await t.step("logs in and lists a folder with LIST", async () => {
          const { stdout, commands } = await call([url(fixture, variant, `${DOCS}/`)]);
          assert.ok(commands.some((line) => line.startsWith("LIST")), commands.join("\n"));
          assert.match(stdout, /^-.* hello world\.txt$/m);
          assert.match(stdout, /^-.* 300001 .* photo data\.bin$/m);
        });

        await t.step("lists a folder with MLSD", async () => {
          const { stdout, commands } = await call([
            "--request",
            "MLSD",
            url(fixture, variant, `${DOCS}/`),
          ]);
          assert.ok(commands.includes("MLSD"), commands.join("\n"));
          const entries = new Map(
            stdout.trimEnd().split(/\r?\n/).map((line) => {
              const space = line.indexOf(" ");
              return [line.slice(space + 1), line.slice(0, space)] as const;
            }),
          );
          assert.match(entries.get("photo data.bin") ?? "", /(^|;)type=file;/);
          assert.match(entries.get("photo data.bin") ?? "", /(^|;)size=300001;/);
          assert.match(entries.get("hello world.txt") ?? "", /(^|;)type=file;/);
        });

        await t.step("uploads a binary file byte for byte", async () => {
          const content = randomBytes(200_003);
          await Deno.writeFile(`${fixture.local}/upload source.bin`, content);
          const { commands } = await call([
            "--upload-file",
            `${fixture.local}/upload source.bin`,
            url(fixture, variant, "uploaded binary.bin"),
          ]);
          assert.ok(commands.includes("TYPE I"), commands.join("\n"));
          assert.ok(commands.includes("STOR uploaded binary.bin"), commands.join("\n"));
          assertSameBytes(await Deno.readFile(fixture.real("uploaded binary.bin")), content);
        });

        await t.step("downloads a binary file byte for byte", async () => {
          await call([
            "--output",
            `${fixture.local}/downloaded photo.bin`,
            url(fixture, variant, `${DOCS}/photo data.bin`),
          ]);
          assertSameBytes(
            await Deno.readFile(`${fixture.local}/downloaded photo.bin`),
            fixture.binary,
          );
        });

        await t.step("uploads a text file in ASCII mode, stored with LF endings", async () => {
          const text = sampleText(500);
          await Deno.writeTextFile(`${fixture.local}/notes source.txt`, text);
          const { commands } = await call([
            "--use-ascii",
            "--upload-file",
            `${fixture.local}/notes source.txt`,
            url(fixture, variant, "ascii notes.txt"),
          ]);
          assert.ok(commands.includes("TYPE A"), commands.join("\n"));
          assert.equal(await Deno.readTextFile(fixture.real("ascii notes.txt")), text);
        });

        await t.step("downloads a text file in ASCII mode", async () => {
          const { commands } = await call([
            "--use-ascii",
            "--output",
            `${fixture.local}/hello copy.txt`,
            url(fixture, variant, `${DOCS}/hello world.txt`),
          ]);
          assert.ok(commands.includes("TYPE A"), commands.join("\n"));
          assert.equal(await Deno.readTextFile(`${fixture.local}/hello copy.txt`), fixture.text);
        });

        await t.step("resumes an interrupted download with REST", async () => {
          const partial = `${fixture.local}/partial photo.bin`;
          await Deno.writeFile(partial, fixture.binary.subarray(0, 123_456));
          const { commands } = await call([
            "--continue-at",
            "-",
            "--output",
            partial,
            url(fixture, variant, `${DOCS}/photo data.bin`),
          ]);
          assert.ok(commands.includes("REST 123456"), commands.join("\n"));
          assertSameBytes(await Deno.readFile(partial), fixture.binary);
        });

        await t.step("resumes an interrupted upload with APPE", async () => {
          const content = randomBytes(150_000);
          await Deno.writeFile(`${fixture.local}/whole upload.bin`, content);
          await Deno.writeFile(fixture.real("half upload.bin"), content.subarray(0, 70_000));
          const { commands } = await call([
            "--continue-at",
            "-",
            "--upload-file",
            `${fixture.local}/whole upload.bin`,
            url(fixture, variant, "half upload.bin"),
          ]);
          assert.ok(commands.includes("APPE half upload.bin"), commands.join("\n"));
          assertSameBytes(await Deno.readFile(fixture.real("half upload.bin")), content);
        });

        await t.step("renames a file with RNFR and RNTO", async () => {
          await Deno.writeTextFile(fixture.real("old name.txt"), "rename me\n");
          await call([
            "--head",
            "--quote",
            "RNFR old name.txt",
            "--quote",
            "RNTO new name.txt",
            url(fixture, variant, ""),
          ]);
          assert.equal(await exists(fixture.real("old name.txt")), false);
          assert.equal(await Deno.readTextFile(fixture.real("new name.txt")), "rename me\n");
        });

        await t.step("deletes a file with DELE", async () => {
          await Deno.writeTextFile(fixture.real("doomed file.txt"), "bye\n");
          await call([
            "--head",
            "--quote",
            "DELE doomed file.txt",
            url(fixture, variant, ""),
          ]);
          assert.equal(await exists(fixture.real("doomed file.txt")), false);
        });

        await t.step("creates folders on upload and removes them with RMD", async () => {
          await Deno.writeTextFile(`${fixture.local}/inner.txt`, "inside\n");
          const { commands } = await call([
            "--ftp-create-dirs",
            "--upload-file",
            `${fixture.local}/inner.txt`,
            url(fixture, variant, "new folder/inner folder/inner file.txt"),
          ]);
          assert.ok(commands.includes("MKD new folder"), commands.join("\n"));
          assert.equal(
            await Deno.readTextFile(fixture.real("new folder/inner folder/inner file.txt")),
            "inside\n",
          );
          await call([
            "--head",
            "--quote",
            "DELE new folder/inner folder/inner file.txt",
            "--quote",
            "RMD new folder/inner folder",
            "--quote",
            "RMD new folder",
            url(fixture, variant, ""),
          ]);
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
