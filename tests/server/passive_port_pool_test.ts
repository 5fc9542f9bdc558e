import assert from "node:assert/strict";
import * as net from "node:net";
import { ControlPeer } from "../../server/data/control_peer.ts";
import { PassiveListener } from "../../server/data/passive_listener.ts";
import { PassivePortPool } from "../../server/data/passive_port_pool.ts";
import { RawClient, withServer } from "../helpers/raw_client.ts";

function freePort(): number {
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = probe.addr.port;
  probe.close();
  return port;
}

function nodeListen(port: number): Promise<net.Server> {
  const server = net.createServer();
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host: "127.0.0.1", port, exclusive: true }, () => resolve(server));
  });
}

Deno.test("ControlPeer is the one peer check: the same host in any notation", () => {
  const peer = new ControlPeer("::ffff:127.0.0.1");
  assert.equal(peer.matches("::ffff:127.0.0.1"), true);
  assert.equal(peer.matches("127.0.0.1"), true);
  assert.equal(peer.matches("127.0.0.2"), false);
  assert.equal(new ControlPeer("::1").matches("::1"), true);
});

Deno.test("one pool serves the clear (Deno) and TLS (node:net) listeners: an idle clear listener gives its port to a TLS one", async () => {
  const port = freePort();
  const pool = new PassivePortPool([port, port]);
  const peer = new ControlPeer("127.0.0.1");
  const clear = await PassiveListener.open({ hostname: "127.0.0.1", peer, pool });
  assert.equal(clear.port, port);
  // The port is held: a second listen finds nothing free without trying it.
  assert.equal(await pool.listen(nodeListen), undefined);
  // Armed and disarmed, the clear listener is idle; the TLS path takes its port back.
  clear.cancel(clear.arm(10_000));
  assert.equal(await pool.releaseIdle(), true);
  const server = await pool.listen(nodeListen);
  assert.ok(server);
  assert.equal((server.address() as net.AddressInfo).port, port);
  await new Promise((resolve) => server.close(resolve));
});

Deno.test("two servers in one process keep their own passive pools", async () => {
  const port = freePort();
  const config = { pasvPorts: [port, port] as [number, number] };
  await withServer({ config }, async (first, track) => {
    const a = track(await RawClient.login(first.port));
    const announced = (await a.expect("PASV", 227)).lines[0]!;
    await a.expect("ABOR", 225); // disarmed: the first server's listener is idle, holding the port
    await withServer({ config }, async (second, trackSecond) => {
      const b = trackSecond(await RawClient.login(second.port));
      // The second server may not take the first one's idle listener away: its range is full.
      await b.expect("PASV", 425);
    });
    // The first server still has its listener, on the same port.
    assert.equal((await a.expect("PASV", 227)).lines[0], announced);
  });
});
