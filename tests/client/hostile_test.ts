import assert from "node:assert/strict";
import { readTree, runClient } from "./cli_run.ts";

/**
 * A tiny fake FTP server that speaks just enough FTP for a mirror: login,
 * FEAT (with or without MLST), EPSV, a listing of the root with hostile
 * names, and RETR of any file as "pwned".
 */
function startFakeServer(listing: "MLSD" | "LIST"): { port: number; close(): void } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const names = ["../evil", "/etc/x", "ok.txt", "a\\b", ".."];
  const encoder = new TextEncoder();
  const sessions: Promise<void>[] = [];
  const serve = async (conn: Deno.Conn) => {
    const send = (line: string) => conn.write(encoder.encode(`${line}\r\n`));
    let data: Deno.Listener<Deno.TcpConn, Deno.NetAddr> | undefined;
    const sendData = async (bytes: Uint8Array) => {
      const channel = await data!.accept();
      data!.close();
      data = undefined;
      await channel.write(bytes);
      channel.close();
    };
    await send("220 fake");
    let buffered = "";
    const buffer = new Uint8Array(4096);
    try {
      for (;;) {
        const n = await conn.read(buffer);
        if (n === null) break;
        buffered += new TextDecoder().decode(buffer.subarray(0, n));
        let end;
        while ((end = buffered.indexOf("\r\n")) >= 0) {
          const line = buffered.slice(0, end);
          buffered = buffered.slice(end + 2);
          const verb = line.split(" ")[0]!.toUpperCase();
          switch (verb) {
            case "USER":
              await send("331 Password");
              break;
            case "PASS":
              await send("230 Logged in");
              break;
            case "FEAT":
              await send(
                listing === "MLSD"
                  ? "211-Features:\r\n MLST type*;size*;modify*;\r\n211 End"
                  : "211-Features:\r\n SIZE\r\n211 End",
              );
              break;
            case "TYPE":
              await send("200 Type set");
              break;
            case "SIZE":
              await send("213 6");
              break;
            case "PWD":
              await send('257 "/"');
              break;
            case "CWD":
              await send("250 Okay");
              break;
            case "EPSV":
              data = Deno.listen({ hostname: "127.0.0.1", port: 0 });
              await send(`229 Entering Extended Passive Mode (|||${data!.addr.port}|)`);
              break;
            case "MLSD":
            case "LIST": {
              await send("150 Here it comes");
              const lines = names.map((name) =>
                verb === "MLSD"
                  ? `type=file;size=6;modify=20240101000000; ${name}`
                  : `-rw-r--r--   1 ftp ftp 6 Jan 01 2024 ${name}`
              );
              await sendData(encoder.encode(lines.join("\r\n") + "\r\n"));
              await send("226 Done");
              break;
            }
            case "RETR":
              await send("150 Here it comes");
              await sendData(encoder.encode("pwned\n"));
              await send("226 Done");
              break;
            case "QUIT":
              await send("221 Bye");
              conn.close();
              return;
            default:
              await send("502 Not implemented");
          }
        }
      }
    } catch {
      // the client went away
    } finally {
      data?.close();
      try {
        conn.close();
      } catch {
        // already closed
      }
    }
  };
  (async () => {
    try {
      for await (const conn of listener) sessions.push(serve(conn));
    } catch {
      // closed
    }
  })();
  return { port: listener.addr.port, close: () => listener.close() };
}

for (const listing of ["MLSD", "LIST"] as const) {
  Deno.test(`mirror skips hostile names from a ${listing} listing and writes nothing outside`, async () => {
    const fake = startFakeServer(listing);
    const outer = await Deno.makeTempDir({ prefix: "ferry-hostile-" });
    try {
      const result = await runClient([
        "mirror",
        `ftp://u:p@127.0.0.1:${fake.port}/`,
        `${outer}/target`,
      ]);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stderr, /skipped "\.\.\/evil": unsafe name/);
      assert.match(result.stderr, /skipped "\/etc\/x": unsafe name/);
      assert.match(result.stderr, /skipped "a\\\\b": unsafe name/);
      assert.deepEqual(
        await readTree(outer),
        new Map([["target/", ""], ["target/ok.txt", "70776e65640a"]]),
      );
    } finally {
      fake.close();
      await Deno.remove(outer, { recursive: true });
    }
  });
}
