import assert from "node:assert/strict";
import * as net from "node:net";
import { parseEpsvReply, parsePasvReply } from "../../protocol/address.ts";
import { closeQuietly, RawClient, readAll, text, withServer } from "../helpers/raw_client.ts";

const decoder = new TextDecoder();

function ipv6Available(): boolean {
  try {
    const listener = Deno.listen({ hostname: "::1", port: 0 });
    listener.close();
    return true;
  } catch {
    return false;
  }
}

Deno.test("PASV answers 227 with the control address and a transfer works through it", async () => {
  await withServer({}, async (server, track) => {
    await Deno.writeTextFile(`${server.root}/f.txt`, "passive");
    const client = track(await RawClient.login(server.port));
    await client.expect("TYPE I", 200);
    const reply = await client.expect("PASV", 227);
    const target = parsePasvReply(text(reply));
    assert.equal(target.host, "127.0.0.1");
    assert.ok(target.port > 0);
    const conn = await Deno.connect({ hostname: target.host, port: target.port });
    await client.send("RETR f.txt");
    assert.ok([125, 150].includes((await client.read()).code));
    assert.equal(decoder.decode(await readAll(conn)), "passive");
    assert.equal((await client.read()).code, 226);
  });
});

Deno.test("EPSV answers 229 with a port and a transfer works through it", async () => {
  await withServer({}, async (server, track) => {
    const client = track(await RawClient.login(server.port));
    await client.expect("TYPE I", 200);
    const reply = await client.expect("EPSV", 229);
    assert.match(text(reply), /\(\|\|\|\d+\|\)/);
    const port = parseEpsvReply(text(reply));
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    const result = await client.upload("STOR f.txt", "extended", {
      conn: () => Promise.resolve(conn),
      close: () => closeQuietly(conn),
    });
    assert.equal(result.final.code, 226);
    assert.equal(await Deno.readTextFile(`${server.root}/f.txt`), "extended");
  });
});

Deno.test("EPSV 1 works on IPv4 and EPSV 2 answers 522", async () => {
  await withServer({}, async (server, track) => {
    const client = track(await RawClient.login(server.port));
    closeQuietly(await client.epsv("1"));
    assert.match(text(await client.expect("EPSV 2", 522)), /\(1\)/);
    await client.expect("EPSV 3", 522);
    await client.expect("EPSV x", 501);
  });
});

Deno.test("PORT answers 200 and the server connects for RETR and STOR", async () => {
  await withServer({}, async (server, track) => {
    await Deno.writeTextFile(`${server.root}/f.txt`, "active");
    const client = track(await RawClient.login(server.port));
    await client.expect("TYPE I", 200);
    const retrieved = await client.download("RETR f.txt", await client.portData());
    assert.equal(retrieved.preliminary?.code, 150);
    assert.equal(retrieved.final.code, 226);
    assert.equal(decoder.decode(retrieved.data), "active");
    const stored = await client.upload("STOR g.txt", "uploaded", await client.portData());
    assert.equal(stored.final.code, 226);
    assert.equal(await Deno.readTextFile(`${server.root}/g.txt`), "uploaded");
  });
});

Deno.test("EPRT |1| answers 200 and the server connects for LIST", async () => {
  await withServer({}, async (server, track) => {
    await Deno.writeTextFile(`${server.root}/f.txt`, "x");
    const client = track(await RawClient.login(server.port));
    const result = await client.download("NLST", await client.eprtData("127.0.0.1"));
    assert.equal(result.final.code, 226);
    assert.equal(decoder.decode(result.data), "f.txt\r\n");
  });
});

Deno.test("EPRT with the unspecified address connects back to the client (lftp over IPv6)", async () => {
  await withServer({}, async (server, track) => {
    await Deno.writeTextFile(`${server.root}/f.txt`, "x");
    const client = track(await RawClient.login(server.port));
    const listener = client.listen("127.0.0.1");
    await client.expect(`EPRT |1|0.0.0.0|${listener.port}|`, 200);
    const result = await client.download("NLST", {
      conn: () => listener.accept(),
      close: () => listener.close(),
    });
    assert.equal(result.final.code, 226);
    assert.equal(decoder.decode(result.data), "f.txt\r\n");
  });
});

Deno.test("STOU over PORT answers 150 FILE: name", async () => {
  await withServer({}, async (server, track) => {
    const client = track(await RawClient.login(server.port));
    const result = await client.upload("STOU", "active unique", await client.portData());
    assert.equal(result.preliminary?.code, 150);
    const name = /FILE: (\S+)/.exec(text(result.preliminary!))?.[1];
    assert.ok(name);
    assert.equal(await Deno.readTextFile(`${server.root}/${name}`), "active unique");
  });
});

Deno.test("PORT to a port nobody listens on makes the transfer answer 425", async () => {
  await withServer({}, async (server, track) => {
    await Deno.writeTextFile(`${server.root}/f.txt`, "x");
    const client = track(await RawClient.login(server.port));
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = listener.addr.port;
    listener.close();
    await client.expect(`PORT 127,0,0,1,${port >> 8},${port & 255}`, 200);
    await client.send("RETR f.txt");
    assert.equal((await client.read()).code, 150);
    assert.equal((await client.read()).code, 425);
    await client.expect("NOOP", 200);
  });
});

Deno.test("PORT and EPRT with a bad argument answer 501", async () => {
  await withServer({}, async (server, track) => {
    const client = track(await RawClient.login(server.port));
    await client.expect("PORT 1,2,3", 501);
    await client.expect("PORT 127,0,0,1,300,1", 501);
    await client.expect("EPRT nonsense", 501);
    await client.expect("EPRT |1|not-an-ip|5000|", 501);
  });
});

Deno.test("PORT or EPRT to another address than the client's answers 501 (no bounce)", async () => {
  await withServer({}, async (server, track) => {
    const client = track(await RawClient.login(server.port));
    await client.expect("PORT 127,0,0,2,39,16", 501);
    await client.expect("PORT 192,0,2,1,39,16", 501);
    await client.expect("EPRT |1|127.0.0.2|10000|", 501);
  });
});

Deno.test("PORT or EPRT to a privileged port answers 501", async () => {
  await withServer({}, async (server, track) => {
    const client = track(await RawClient.login(server.port));
    await client.expect("PORT 127,0,0,1,0,21", 501);
    await client.expect("PORT 127,0,0,1,3,255", 501);
    await client.expect("EPRT |1|127.0.0.1|25|", 501);
    await client.expect("PORT 127,0,0,1,4,0", 200);
  });
});

Deno.test("EPRT with protocol 3 answers 522", async () => {
  await withServer({}, async (server, track) => {
    const client = track(await RawClient.login(server.port));
    const reply = await client.expect("EPRT |3|127.0.0.1|5000|", 522);
    assert.match(text(reply), /\(1,2\)/);
  });
});

Deno.test("after EPSV ALL, PASV, PORT and EPRT are refused but EPSV works", async () => {
  await withServer({}, async (server, track) => {
    await Deno.writeTextFile(`${server.root}/f.txt`, "all");
    const client = track(await RawClient.login(server.port));
    await client.expect("EPSV ALL", 200);
    await client.expect("PASV", 503);
    await client.expect("PORT 127,0,0,1,39,16", 503);
    await client.expect("EPRT |1|127.0.0.1|10000|", 503);
    const result = await client.download(
      "RETR f.txt",
      await (async () => {
        const conn = await client.epsv();
        return { conn: () => Promise.resolve(conn), close: () => closeQuietly(conn) };
      })(),
    );
    assert.equal(result.final.code, 226);
  });
});

Deno.test("RETR, STOR and LIST without PORT or PASV answer 425", async () => {
  await withServer({}, async (server, track) => {
    await Deno.writeTextFile(`${server.root}/f.txt`, "x");
    const client = track(await RawClient.login(server.port));
    await client.expect("RETR f.txt", 425);
    await client.expect("STOR g.txt", 425);
    await client.expect("LIST", 425);
    await client.expect("NOOP", 200);
  });
});

Deno.test("a data connection is used once: a second RETR needs a new PASV", async () => {
  await withServer({}, async (server, track) => {
    await Deno.writeTextFile(`${server.root}/f.txt`, "x");
    const client = track(await RawClient.login(server.port));
    assert.equal((await client.download("RETR f.txt")).final.code, 226);
    await client.expect("RETR f.txt", 425);
  });
});

Deno.test("a second PASV replaces the first: the session's listener is armed again on its port", async () => {
  await withServer({}, async (server, track) => {
    await Deno.writeTextFile(`${server.root}/f.txt`, "second");
    const client = track(await RawClient.login(server.port));
    const first = parsePasvReply(text(await client.expect("PASV", 227)));
    const second = parsePasvReply(text(await client.expect("PASV", 227)));
    assert.equal(second.port, first.port);
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: second.port });
    await client.send("RETR f.txt");
    assert.ok([125, 150].includes((await client.read()).code));
    assert.equal(decoder.decode(await readAll(conn)), "second");
    assert.equal((await client.read()).code, 226);
  });
});

function connectFrom(localAddress: string, port: number): Promise<{ data: number }> {
  return new Promise((resolve, reject) => {
    let data = 0;
    const socket = net.connect({ host: "127.0.0.1", port, localAddress });
    socket.on("data", (chunk: Uint8Array) => data += chunk.length);
    socket.on("error", () => {});
    socket.on("close", () => resolve({ data }));
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error("The server did not drop the foreign data connection"));
    }, 5000);
    socket.on("close", () => clearTimeout(timer));
  });
}

Deno.test("a PASV data connection from another address is dropped and the client's works", async () => {
  await withServer({}, async (server, track) => {
    await Deno.writeTextFile(`${server.root}/secret.txt`, "secret");
    const client = track(await RawClient.login(server.port));
    await client.expect("TYPE I", 200);
    const { port } = parsePasvReply(text(await client.expect("PASV", 227)));
    const intruder = await connectFrom("127.0.0.2", port);
    assert.equal(intruder.data, 0);
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    await client.send("RETR secret.txt");
    assert.ok([125, 150].includes((await client.read()).code));
    assert.equal(decoder.decode(await readAll(conn)), "secret");
    assert.equal((await client.read()).code, 226);
  });
});

Deno.test("over IPv6, EPRT |2| and EPSV work and PASV and PORT answer 522", async () => {
  if (!ipv6Available()) {
    // No ::1 here: the IPv6 path cannot be exercised, nothing to check.
    return;
  }
  await withServer({ config: { hosts: ["::1"] } }, async (server, track) => {
    await Deno.writeTextFile(`${server.root}/f.txt`, "six");
    const client = track(
      await RawClient.login(server.port, "alice", "wonderland", { hostname: "::1" }),
    );
    await client.expect("TYPE I", 200);
    await client.expect("PASV", 522);
    await client.expect("PORT 127,0,0,1,39,16", 522);
    await client.expect("EPSV 1", 522);
    const active = await client.download("RETR f.txt", await client.eprtData("::1"));
    assert.equal(active.final.code, 226);
    assert.equal(decoder.decode(active.data), "six");
    const conn = await client.epsv();
    const passive = await client.download("RETR f.txt", {
      conn: () => Promise.resolve(conn),
      close: () => closeQuietly(conn),
    });
    assert.equal(passive.final.code, 226);
    assert.equal(decoder.decode(passive.data), "six");
    closeQuietly(await client.epsv("2"));
  });
});

Deno.test("a PASV the client never connects to makes the transfer answer 425", async () => {
  await withServer({ config: { dataTimeoutMs: 300 } }, async (server, track) => {
    await Deno.writeTextFile(`${server.root}/f.txt`, "x");
    const client = track(await RawClient.login(server.port));
    await client.expect("PASV", 227);
    await client.send("RETR f.txt");
    assert.equal((await client.read()).code, 150);
    assert.equal((await client.read()).code, 425);
    await client.expect("NOOP", 200);
  });
});
