import assert from "node:assert/strict";
import { FtpClient } from "../../client/ftp_client.ts";
import { FtpReplyError } from "../../client/errors.ts";

/**
 * A scripted server: answers RETR with 450 `busyTimes` times, then sends
 * "hello" over the data connection.
 */
function startBusyServer(busyTimes: number) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const retrs: string[] = [];
  const tasks: Promise<void>[] = [];
  const serve = async (conn: Deno.Conn) => {
    const encoder = new TextEncoder();
    const send = (line: string) => conn.write(encoder.encode(`${line}\r\n`));
    let data: Deno.TcpListener | undefined;
    await send("220 busy server");
    const buffer = new Uint8Array(4096);
    let pending = "";
    while (true) {
      const n = await conn.read(buffer).catch(() => null);
      if (n === null) break;
      pending += new TextDecoder().decode(buffer.subarray(0, n));
      let end: number;
      while ((end = pending.indexOf("\r\n")) >= 0) {
        const line = pending.slice(0, end);
        pending = pending.slice(end + 2);
        const verb = line.split(" ")[0]!.toUpperCase();
        if (verb === "USER") await send("331 password");
        else if (verb === "PASS") await send("230 ok");
        else if (verb === "FEAT") await send("211 no features");
        else if (verb === "TYPE") await send("200 ok");
        else if (verb === "EPSV") {
          data?.close();
          data = Deno.listen({ hostname: "127.0.0.1", port: 0 });
          await send(`229 Entering Extended Passive Mode (|||${data.addr.port}|)`);
        } else if (verb === "RETR") {
          retrs.push(line);
          const accepted = await data!.accept();
          data!.close();
          data = undefined;
          if (retrs.length <= busyTimes) {
            accepted.close();
            await send("450 file busy");
          } else {
            await send("150 here it comes");
            await accepted.write(encoder.encode("hello"));
            accepted.close();
            await send("226 done");
          }
        } else if (verb === "QUIT") {
          await send("221 bye");
          conn.close();
          return;
        } else await send("502 no");
      }
    }
    conn.close();
  };
  (async () => {
    for await (const conn of listener) tasks.push(serve(conn));
  })().catch(() => {});
  return {
    port: listener.addr.port,
    retrs,
    async close() {
      listener.close();
      await Promise.all(tasks);
    },
  };
}

async function download(port: number): Promise<string> {
  const client = await FtpClient.connect({ host: "127.0.0.1", port, user: "u", password: "p" });
  try {
    const chunks: string[] = [];
    await client.download("/f", (chunk) => {
      chunks.push(new TextDecoder().decode(chunk));
      return Promise.resolve();
    });
    return chunks.join("");
  } finally {
    await client.quit();
  }
}

Deno.test("FtpClient retries a transfer refused with 450 before any data moved", async () => {
  const server = startBusyServer(2);
  try {
    assert.equal(await download(server.port), "hello");
    assert.equal(server.retrs.length, 3);
  } finally {
    await server.close();
  }
});

Deno.test("FtpClient gives up after two retries of a 450 and reports the reply", async () => {
  const server = startBusyServer(10);
  try {
    await assert.rejects(
      download(server.port),
      (error: unknown) => error instanceof FtpReplyError && error.code === 450,
    );
    assert.equal(server.retrs.length, 3);
  } finally {
    await server.close();
  }
});
