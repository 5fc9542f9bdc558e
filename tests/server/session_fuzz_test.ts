import assert from "node:assert/strict";
import fc from "fast-check";
import { format, RawClient, withServer } from "../helpers/raw_client.ts";

const encoder = new TextEncoder();

/** Pieces that make random input likelier to reach interesting states. */
const FRAGMENTS = [
  "USER alice",
  "PASS wonderland",
  "PASS x",
  "NOOP",
  "RETR ",
  "STOR ",
  "CWD ..",
  "REST 10",
  "RNFR a",
  "RNTO b",
  "PASV",
  "EPSV ALL",
  "PORT 127,0,0,1,0,21",
  "TYPE ",
  "MKD ",
  "SITE CHMOD 777 /",
  "OPTS MLST ",
  "AUTH TLS",
  "\r\n",
  "\n",
  "\r",
  "\0",
].map((fragment) => encoder.encode(fragment));

/** Telnet IAC sequences and other bytes the command reader treats specially. */
const SPECIAL = [0xff, 0xf4, 0xf2, 0xf0, 0xfa, 0xfb, 0xfc, 0xfd, 0xfe, 0x00, 0x0d, 0x0a, 0x20];

const chunk = fc.oneof(
  fc.uint8Array({ minLength: 1, maxLength: 64 }),
  fc.constantFrom(...FRAGMENTS),
  fc.array(fc.constantFrom(...SPECIAL), { minLength: 1, maxLength: 8 }).map((bytes) =>
    Uint8Array.from(bytes)
  ),
  // Invalid UTF-8: lone continuation bytes, truncated and overlong sequences.
  fc.constantFrom([0x80], [0xc0, 0xaf], [0xe2, 0x82], [0xf8, 0x88, 0x80, 0x80, 0x80], [
    0xed,
    0xa0,
    0x80,
  ])
    .map((bytes) => Uint8Array.from(bytes)),
);

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/**
 * Ends any Telnet state the random bytes left the reader in (IAC SE twice
 * closes even a subnegotiation), ends the line, then asks for a reply no
 * random input can produce by chance.
 */
const RESYNC = Uint8Array.from([0xff, 0xf0, 0xff, 0xf0, 0x0d, 0x0a]);
const MARKER = "HELP NOOP";

/** A reply line: `ddd text` or `ddd-text`, or a continuation line of a multi-line reply. */
const REPLY_LINE = /^(\d{3}[ -][^\r\n\0]*| [^\r\n\0]*)$/;

Deno.test("random bytes on live sessions get only well-formed replies, never crash the server, and leave a parallel session working", async () => {
  await withServer(
    { config: { maxLineLength: 512, idleTimeoutMs: 10_000 } },
    async (server, track) => {
      const bystander = track(await RawClient.login(server.port));
      await bystander.expect("TYPE I", 200);
      let runs = 0;
      let answeredRuns = 0;
      await fc.assert(
        fc.asyncProperty(
          fc.boolean(),
          fc.array(chunk, { minLength: 1, maxLength: 40 }),
          fc.integer({ min: 1, max: 4 }),
          async (login, parts, writes) => {
            runs++;
            const client = login
              ? await RawClient.login(server.port, "alice", "wonderland", { timeoutMs: 5000 })
              : await RawClient.connect(server.port, { timeoutMs: 5000 });
            try {
              if (!login) assert.equal((await client.read()).code, 220);
              const bytes = concat(parts);
              // Sent in a few writes, so lines are split at random places too.
              const step = Math.ceil(bytes.length / writes);
              for (let offset = 0; offset < bytes.length; offset += step) {
                await client.sendRaw(bytes.subarray(offset, offset + step)).catch(() => {});
              }
              await client.sendRaw(RESYNC).catch(() => {});
              await client.send(MARKER).catch(() => {});
              let answered = false;
              while (true) {
                const reply = await client.read().catch(() => undefined);
                if (!reply) break; // the session was closed (QUIT, too many failed logins)
                assert.ok(reply.code >= 100 && reply.code < 600, format(reply));
                if (reply.code === 214 && reply.lines.join(" ").includes("Syntax: NOOP")) {
                  answered = true;
                  break;
                }
              }
              const lines = client.transcript.split("\r\n");
              assert.equal(lines.pop(), "", "the transcript ends with CRLF");
              for (const line of lines) assert.match(line, REPLY_LINE);
              if (answered) answeredRuns++;
              else {
                assert.match(client.transcript, /^(221|421) /m, "closed only with 221 or 421");
              }
            } finally {
              await client.close();
            }
            if (runs % 25 === 0) await bystander.expect("NOOP", 200);
          },
        ),
        { numRuns: 150, interruptAfterTimeLimit: 60_000 },
      );
      assert.ok(
        answeredRuns > runs / 2,
        `the marker was answered in ${answeredRuns} of ${runs} runs`,
      );
      await bystander.expect("NOOP", 200);
      assert.equal((await bystander.upload("STOR after-fuzz.bin", "intact")).final.code, 226);
      assert.equal(await Deno.readTextFile(`${server.root}/after-fuzz.bin`), "intact");
    },
  );
});
