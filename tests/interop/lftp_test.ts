/**
 * lftp drives a ferry server over IPv4 and IPv6, in passive and active mode.
 *
 * @module
 */

import assert from "node:assert/strict";
import { assertSameBytes } from "../helpers/assert_bytes.ts";
import {
  assertDataConnections,
  describeRun,
  describeVariant,
  DOCS,
  exists,
  type Fixture,
  peerTest,
  randomBytes,
  run,
  type RunResult,
  sampleText,
  startFixture,
  USER,
  type Variant,
  VARIANTS,
} from "./peers.ts";

/** Quotes a word for lftp's command line. */
function q(word: string): string {
  return `"${word.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`;
}

interface LftpRun extends RunResult {
  /** The commands lftp sent, from its debug log. */
  commands: string[];
  /** Everything lftp logged about the session. */
  log: string;
}

let runs = 0;

/** Runs lftp commands in a fresh session; the settings make any failure exit non-zero. */
async function lftpRun(
  fixture: Fixture,
  variant: Variant,
  commands: string[],
  settings: string[] = [],
): Promise<LftpRun> {
  const log = `${fixture.local}/lftp-${++runs}.log`;
  const script = [
    "set net:max-retries 1",
    "set net:timeout 10",
    "set net:reconnect-interval-base 1",
    "set cmd:fail-exit yes",
    "set ftp:ssl-allow no",
    `set ftp:passive-mode ${variant.mode === "passive" ? "on" : "off"}`,
    ...settings,
    `debug -o ${q(log)} 9`,
    `open -u ${USER.name},${USER.password} -p ${fixture.server.port} ftp://${variant.urlHost}`,
    `lcd ${q(fixture.local)}`,
    ...commands,
  ].join("; ");
  const result = await run("lftp", ["-c", script]);
  const text = await Deno.readTextFile(log).catch(() => "");
  const sent = text.split("\n")
    .filter((line) => line.startsWith("---> "))
    .map((line) => line.slice(5).trimEnd().replace(/^PASS .*/, "PASS ****"));
  return { ...result, commands: sent, log: text };
}

/** Like {@linkcode lftpRun}, but throws with lftp's output and log unless it succeeds. */
async function lftp(
  fixture: Fixture,
  variant: Variant,
  commands: string[],
  settings: string[] = [],
): Promise<LftpRun> {
  const result = await lftpRun(fixture, variant, commands, settings);
  if (result.code !== 0) {
    throw new Error(`lftp failed: ${describeRun(result)}\n--- debug log ---\n${result.log}`);
  }
  return result;
}

/**
 * Checks that a transfer ran in TYPE A. lftp, knowing that RFC 959 makes ASCII
 * the default, sends no TYPE A on a fresh connection, so ASCII mode shows as a
 * TYPE A or as no TYPE at all before the transfer.
 */
function assertAsciiTransfer(commands: string[]): void {
  const transfer = commands.findIndex((line) => /^(RETR|STOR|APPE) /.test(line));
  assert.ok(transfer >= 0, `no transfer command sent:\n${commands.join("\n")}`);
  const lastType = commands.slice(0, transfer).findLast((line) => line.startsWith("TYPE "));
  assert.ok(lastType === undefined || lastType === "TYPE A", commands.join("\n"));
}

for (const variant of VARIANTS) {
  peerTest(
    "lftp",
    `lftp lists, transfers, resumes, renames and deletes ${describeVariant(variant)}`,
    async (_peer, t) => {
      const fixture = await startFixture();
      const commandsSent: string[] = [];
      const call = async (commands: string[], settings: string[] = []) => {
        const result = await lftp(fixture, variant, commands, settings);
        commandsSent.push(...result.commands);
        return result;
      };
      try {
        await t.step("logs in and lists a folder with LIST", async () => {
          const { stdout, commands } = await call([`ls ${q(DOCS)}`]);
          assert.ok(commands.includes(`LIST ${DOCS}`), commands.join("\n"));
          assert.match(stdout, /^-.* 300001 .* photo data\.bin$/m);
          assert.match(stdout, /^-.* hello world\.txt$/m);
        });

        await t.step("lists a folder with MLSD", async () => {
          const { stdout, commands } = await call([`cls -l ${q(DOCS)}`], [
            "set ftp:use-mlsd on",
          ]);
          assert.ok(commands.includes("MLSD"), commands.join("\n"));
          assert.match(stdout, /^-.* 300001 .*docs folder\/photo data\.bin$/m);
          assert.match(stdout, /^-.*docs folder\/hello world\.txt$/m);
        });

        await t.step("uploads a binary file byte for byte", async () => {
          const content = randomBytes(200_003);
          await Deno.writeFile(`${fixture.local}/upload source.bin`, content);
          const { commands } = await call([
            `put ${q(`${fixture.local}/upload source.bin`)} -o ${q("uploaded binary.bin")}`,
          ]);
          assert.ok(commands.includes("TYPE I"), commands.join("\n"));
          assert.ok(commands.includes("STOR uploaded binary.bin"), commands.join("\n"));
          assertSameBytes(await Deno.readFile(fixture.real("uploaded binary.bin")), content);
        });

        await t.step("downloads a binary file byte for byte", async () => {
          await call([
            `get ${q(`${DOCS}/photo data.bin`)} -o ${q(`${fixture.local}/downloaded.bin`)}`,
          ]);
          assertSameBytes(await Deno.readFile(`${fixture.local}/downloaded.bin`), fixture.binary);
        });

        await t.step("uploads a text file in ASCII mode, stored with LF endings", async () => {
          const text = sampleText(500);
          await Deno.writeTextFile(`${fixture.local}/notes source.txt`, text);
          const { commands } = await call([
            `put -a ${q(`${fixture.local}/notes source.txt`)} -o ${q("ascii notes.txt")}`,
          ]);
          assertAsciiTransfer(commands);
          assert.equal(await Deno.readTextFile(fixture.real("ascii notes.txt")), text);
        });

        await t.step("downloads a text file in ASCII mode", async () => {
          const { commands } = await call([
            `get -a ${q(`${DOCS}/hello world.txt`)} -o ${q(`${fixture.local}/hello.txt`)}`,
          ]);
          assertAsciiTransfer(commands);
          assert.equal(await Deno.readTextFile(`${fixture.local}/hello.txt`), fixture.text);
        });

        await t.step("resumes an interrupted download with REST", async () => {
          const partial = `${fixture.local}/partial photo.bin`;
          await Deno.writeFile(partial, fixture.binary.subarray(0, 123_456));
          const { commands } = await call([
            `get -c ${q(`${DOCS}/photo data.bin`)} -o ${q(partial)}`,
          ]);
          assert.ok(commands.includes("REST 123456"), commands.join("\n"));
          assertSameBytes(await Deno.readFile(partial), fixture.binary);
        });

        await t.step("resumes an interrupted upload with REST and STOR", async () => {
          const content = randomBytes(150_000);
          await Deno.writeFile(`${fixture.local}/whole upload.bin`, content);
          await Deno.writeFile(fixture.real("half upload.bin"), content.subarray(0, 70_000));
          const { commands } = await call([
            `put -c ${q(`${fixture.local}/whole upload.bin`)} -o ${q("half upload.bin")}`,
          ]);
          assert.ok(commands.includes("REST 70000"), commands.join("\n"));
          assertSameBytes(await Deno.readFile(fixture.real("half upload.bin")), content);
        });

        await t.step("renames a file", async () => {
          await Deno.writeTextFile(fixture.real("old name.txt"), "rename me\n");
          await call([`mv ${q("old name.txt")} ${q("new name.txt")}`]);
          assert.equal(await exists(fixture.real("old name.txt")), false);
          assert.equal(await Deno.readTextFile(fixture.real("new name.txt")), "rename me\n");
        });

        await t.step("deletes a file", async () => {
          await Deno.writeTextFile(fixture.real("doomed file.txt"), "bye\n");
          await call([`rm ${q("doomed file.txt")}`]);
          assert.equal(await exists(fixture.real("doomed file.txt")), false);
        });

        await t.step("makes and removes folders", async () => {
          await call([`mkdir -p ${q("new folder/inner one")}`]);
          assert.ok((await Deno.stat(fixture.real("new folder/inner one"))).isDirectory);
          await call([`rmdir ${q("new folder/inner one")}`, `rmdir ${q("new folder")}`]);
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
