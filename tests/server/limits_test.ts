import assert from "node:assert/strict";
import * as net from "node:net";
import { parsePasvReply } from "../../protocol/address.ts";
import {
  closeQuietly,
  format,
  RawClient,
  readAll,
  text,
  withServer,
  withTimeout,
} from "../helpers/raw_client.ts";

const decoder = new TextDecoder();

/** The number of open file descriptors of this process (the in-process server's included). */
async function openFds(): Promise<number> {
  let count = 0;
  for await (const _ of Deno.readDir("/proc/self/fd")) count++;
  return count;
}

/** A port below Linux's ephemeral range (32768+), so no outgoing connection takes it meanwhile. */
function freePortOutsideEphemeralRange(): number {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 10_000);
    try {
      Deno.listen({ hostname: "127.0.0.1", port }).close();
      return port;
    } catch {
      // taken: try another
    }
  }
  throw new Error("No free port found in 20000-29999");
}

/** Connects from `localAddress` and returns the first reply line, then disconnects. */
function greetingFrom(localAddress: string, port: number): Promise<string> {
  return withTimeout(
    new Promise((resolve, reject) => {
      let received = "";
      const socket = net.connect({ host: "127.0.0.1", port, localAddress });
      socket.on("data", (chunk: Uint8Array) => {
        received += decoder.decode(chunk);
        if (received.includes("\r\n")) {
          socket.destroy();
          resolve(received.split("\r\n")[0]!);
        }
      });
      socket.on("error", reject);
      socket.on("close", () => resolve(received.split("\r\n")[0]!));
    }),
    5000,
    `a greeting from ${localAddress}`,
  );
}

/** Times one PASS, in milliseconds. */
async function timedPass(client: RawClient, password: string) {
  const started = performance.now();
  const reply = await client.command(`PASS ${password}`);
  return { reply, ms: performance.now() - started };
}

Deno.test("a brute-force loop over several connections is slowed down, cut off with 421, and cannot tell users apart", async () => {
  await withServer({ config: { maxLoginFailures: 3 } }, async (server, track) => {
    // The throttle starts at 250 ms and doubles per failure from the address.
    const expected = [250, 500, 1000, 2000];
    const attempts: { user: string; ms: number; userReply: string; passReply: string }[] = [];
    const first = track(await RawClient.connect(server.port));
    await first.read();
    for (const [i, user] of ["alice", "nosuchuser", "alice"].entries()) {
      const userReply = await first.command(`USER ${user}`);
      assert.equal(userReply.code, 331);
      const { reply, ms } = await timedPass(first, "guess-1234");
      attempts.push({ user, ms, userReply: text(userReply), passReply: format(reply) });
      assert.equal(reply.code, i < 2 ? 530 : 421, format(reply));
    }
    assert.equal(await first.waitForClose(), true, "closed after --max-login-failures");
    // A new connection from the same address does not start over.
    const second = track(await RawClient.connect(server.port));
    await second.read();
    const userReply = await second.command("USER nosuchuser");
    const { reply, ms } = await timedPass(second, "guess-5678");
    assert.equal(reply.code, 530);
    attempts.push({ user: "nosuchuser", ms, userReply: text(userReply), passReply: format(reply) });

    for (const [i, attempt] of attempts.entries()) {
      const delay = expected[i]!;
      assert.ok(
        attempt.ms >= delay - 20 && attempt.ms < delay + 750,
        `attempt ${i + 1} (${attempt.user}) took ${Math.round(attempt.ms)} ms, expected ~${delay}`,
      );
    }
    // The same words whether or not the user exists.
    assert.equal(attempts[0]!.userReply, attempts[1]!.userReply);
    assert.equal(attempts[0]!.passReply, attempts[1]!.passReply);
    assert.equal(attempts[0]!.passReply, attempts[3]!.passReply);

    // A successful login forgets the address's failures.
    const good = track(await RawClient.login(server.port));
    await good.expect("NOOP", 200);
    const third = track(await RawClient.connect(server.port));
    await third.read();
    await third.expect("USER alice", 331);
    const after = await timedPass(third, "wrong");
    assert.equal(after.reply.code, 530);
    assert.ok(after.ms < 250 + 750, `after a success the delay restarts (${after.ms} ms)`);
  });
});

Deno.test("an unknown user and a wrong password cost the same time on fresh servers", async () => {
  const times: Record<string, number> = {};
  const replies: Record<string, string> = {};
  for (const user of ["alice", "nosuchuser"]) {
    await withServer({}, async (server, track) => {
      const client = track(await RawClient.connect(server.port));
      await client.read();
      replies[`USER ${user}`] = format(await client.command(`USER ${user}`));
      const { reply, ms } = await timedPass(client, "not-the-password");
      times[user] = ms;
      replies[`PASS ${user}`] = format(reply);
    });
  }
  assert.equal(replies["USER alice"], replies["USER nosuchuser"]);
  assert.equal(replies["PASS alice"], replies["PASS nosuchuser"]);
  assert.ok(
    Math.abs(times["alice"]! - times["nosuchuser"]!) < 200,
    `wrong password ${times["alice"]} ms, unknown user ${times["nosuchuser"]} ms`,
  );
});

Deno.test("a flood of sessions beyond --max-sessions gets 421 while the admitted sessions keep working", async () => {
  await withServer({ config: { maxSessions: 4 } }, async (server, track) => {
    const admitted = [];
    for (let i = 0; i < 4; i++) admitted.push(track(await RawClient.login(server.port)));
    const flood = await Promise.all(
      Array.from({ length: 30 }, async () => {
        const client = await RawClient.connect(server.port);
        try {
          const reply = await client.read();
          return { reply: format(reply), closed: await client.waitForClose() };
        } finally {
          await client.close();
        }
      }),
    );
    for (const { reply, closed } of flood) {
      assert.equal(reply, "421 Too many users, try again later.");
      assert.equal(closed, true);
    }
    for (const [i, client] of admitted.entries()) {
      await client.expect("NOOP", 200);
      await client.expect("TYPE I", 200);
      assert.equal((await client.upload(`STOR f${i}`, `data ${i}`)).final.code, 226);
    }
    // A freed slot is given to the next connection.
    await admitted.pop()!.close();
    const deadline = Date.now() + 5000;
    let greeting = "";
    while (Date.now() < deadline) {
      const client = track(await RawClient.connect(server.port));
      greeting = format(await client.read());
      if (greeting.startsWith("220")) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.match(greeting, /^220 /);
  });
});

Deno.test("sessions beyond --max-sessions-per-ip get 421 but other addresses are admitted", async () => {
  await withServer({ config: { maxSessionsPerIp: 2 } }, async (server, track) => {
    const first = track(await RawClient.login(server.port));
    const second = track(await RawClient.login(server.port));
    for (let i = 0; i < 5; i++) {
      assert.equal(
        await greetingFrom("127.0.0.1", server.port),
        "421 Too many connections from your address.",
      );
    }
    assert.match(await greetingFrom("127.0.0.2", server.port), /^220 /);
    await first.expect("NOOP", 200);
    await second.expect("PWD", 257);
  });
});

Deno.test("an idle session is closed with 421 before login too, and a partial line does not keep it open", async () => {
  await withServer({ config: { idleTimeoutMs: 300 } }, async (server, track) => {
    const fresh = track(await RawClient.connect(server.port));
    assert.equal((await fresh.read()).code, 220);
    const started = performance.now();
    const reply = await fresh.read();
    assert.equal(format(reply), "421 Idle timeout; closing control connection.");
    assert.ok(performance.now() - started < 3000);
    assert.equal(await fresh.waitForClose(), true);

    const halfLine = track(await RawClient.connect(server.port));
    await halfLine.read();
    await halfLine.expect("USER alice", 331);
    await halfLine.sendRaw("PASS wonder");
    assert.equal((await halfLine.read()).code, 421);
    assert.equal(await halfLine.waitForClose(), true);

    const loggedIn = track(await RawClient.login(server.port));
    assert.equal((await loggedIn.read()).code, 421);
    assert.equal(await loggedIn.waitForClose(), true);
  });
});

Deno.test("a STOR whose PASV the client never connects to answers 425 and creates no file", async () => {
  await withServer({ config: { dataTimeoutMs: 300 } }, async (server, track) => {
    const client = track(await RawClient.login(server.port));
    await client.expect("EPSV", 229);
    await client.send("STOR never.bin");
    assert.equal((await client.read()).code, 150);
    assert.equal((await client.read()).code, 425);
    await assert.rejects(Deno.stat(`${server.root}/never.bin`), Deno.errors.NotFound);
    await client.expect("NOOP", 200);
  });
});

Deno.test("repeated PASV keep one listener per session, on one port", async () => {
  await withServer({}, async (server, track) => {
    const client = track(await RawClient.login(server.port));
    const ports = new Set<number>();
    for (let i = 0; i < 5; i++) {
      ports.add(parsePasvReply(text(await client.expect("PASV", 227))).port);
    }
    assert.equal(ports.size, 1);
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: [...ports][0]! });
    closeQuietly(conn);
  });
});

Deno.test("thousands of PASV and EPSV in a row leak no listener or file descriptor", async () => {
  await withServer({}, async (server, track) => {
    await Deno.writeTextFile(`${server.root}/f.txt`, "still works");
    const client = track(await RawClient.login(server.port));
    await client.expect("PASV", 227);
    const before = await openFds();
    for (let batch = 0; batch < 30; batch++) {
      const verb = batch % 2 === 0 ? "PASV" : "EPSV";
      await client.sendRaw(`${verb}\r\n`.repeat(100));
      for (let i = 0; i < 100; i++) {
        const reply = await client.read();
        assert.ok([227, 229].includes(reply.code), format(reply));
      }
    }
    // Closed listeners free their descriptors a moment later (when their accept settles).
    let after = await openFds();
    for (let wait = 0; after - before > 3 && wait < 40; wait++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      after = await openFds();
    }
    assert.ok(after - before <= 3, `open fds went from ${before} to ${after}`);
    const result = await client.download("RETR f.txt");
    assert.equal(decoder.decode(result.data), "still works");
    assert.equal(result.final.code, 226);
  });
});

Deno.test("PASV on a one-port range can be repeated: each new listener waits for the old port", async () => {
  const low = freePortOutsideEphemeralRange();
  await withServer({ config: { pasvPorts: [low, low] } }, async (server, track) => {
    const client = track(await RawClient.login(server.port));
    for (let batch = 0; batch < 5; batch++) {
      await client.sendRaw("PASV\r\n".repeat(100));
      for (let i = 0; i < 100; i++) {
        const reply = await client.read();
        assert.equal(reply.code, 227, format(reply));
        const { port } = parsePasvReply(text(reply));
        assert.equal(port, low);
      }
    }
  });
});

Deno.test("16 MB without a line end: 500 at the cap, 421 after 1 MiB, another session keeps working", async () => {
  // Issue 11 changed this: a line past the cap is answered at once (it used to wait for the
  // LF), and a peer that streams more than 1 MiB of one line is disconnected.
  await withServer({}, async (server, track) => {
    const flooder = track(await RawClient.login(server.port));
    const other = track(await RawClient.login(server.port));
    const chunk = new Uint8Array(64 * 1024).fill("A".charCodeAt(0));
    let sent = 0;
    try {
      for (let i = 0; i < 256; i++) {
        await flooder.sendRaw(chunk);
        sent += chunk.length;
        if (i % 64 === 0) await other.expect("NOOP", 200);
      }
    } catch {
      // the server closed the flooder's connection
    }
    assert.equal(format(await flooder.read()), "500 Command line too long.");
    assert.equal((await flooder.read()).code, 421);
    assert.equal(await flooder.waitForClose(), true);
    assert.ok(sent > 1024 * 1024, `sent ${sent} bytes before the close`);
    await other.expect("PWD", 257);
  });
});

Deno.test("500 pipelined commands in one write are answered in order", async () => {
  await withServer({}, async (server, track) => {
    const client = track(await RawClient.login(server.port));
    const lines = Array.from({ length: 500 }, (_, i) => (i % 3 === 0 ? "PWD" : "NOOP"));
    await client.sendRaw(lines.map((line) => `${line}\r\n`).join("") + "QUIT\r\n");
    for (const line of lines) {
      assert.equal((await client.read()).code, line === "PWD" ? 257 : 200);
    }
    assert.equal((await client.read()).code, 221);
    assert.equal(await client.waitForClose(), true);
  });
});

Deno.test("a data transfer still works after a pipelined burst with a PASV in it", async () => {
  await withServer({}, async (server, track) => {
    await Deno.writeTextFile(`${server.root}/f.txt`, "pipelined");
    const client = track(await RawClient.login(server.port));
    await client.sendRaw("TYPE I\r\nNOOP\r\nPASV\r\n");
    assert.equal((await client.read()).code, 200);
    assert.equal((await client.read()).code, 200);
    const { port } = parsePasvReply(text(await client.read()));
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    await client.send("RETR f.txt");
    assert.equal((await client.read()).code, 125);
    assert.equal(decoder.decode(await readAll(conn)), "pipelined");
    assert.equal((await client.read()).code, 226);
  });
});
