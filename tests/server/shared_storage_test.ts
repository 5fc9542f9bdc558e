import assert from "node:assert/strict";
import { posix } from "node:path";
import { INSTANCE_TAG, isUploadTemp, uploadTempPath } from "../../server/storage/upload_temp.ts";
import { RawClient } from "../helpers/raw_client.ts";
import { startFerryCluster } from "../helpers/ferry_instances.ts";

/** `size` bytes of one repeated byte: any mix of two such files is easy to spot. */
function filled(size: number, byte: number): Uint8Array {
  return new Uint8Array(size).fill(byte);
}

function uniform(data: Uint8Array): number | undefined {
  const first = data[0];
  return data.every((byte) => byte === first) ? first : undefined;
}

async function tempFiles(root: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(root)) {
    if (entry.name.includes(".ferry-upload-")) names.push(entry.name);
  }
  return names;
}

Deno.test("two ferry processes on one root: same-name uploads end as one whole file", async () => {
  const cluster = await startFerryCluster({
    hosts: ["127.0.0.1", "127.0.0.1"],
    args: ["--atomic-uploads"],
  });
  try {
    const [a, b] = cluster.instances as [typeof cluster.instances[0], typeof cluster.instances[0]];
    const clientA = await RawClient.login(a.port);
    const clientB = await RawClient.login(b.port);
    await clientA.expect("TYPE I", 200);
    await clientB.expect("TYPE I", 200);
    const size = 4 * 1024 * 1024;
    for (let round = 0; round < 4; round++) {
      const [fromA, fromB] = await Promise.all([
        clientA.upload("STOR shared.bin", filled(size, 0x41 + round)),
        clientB.upload("STOR shared.bin", filled(size, 0x61 + round)),
      ]);
      assert.equal(fromA.final.code, 226);
      assert.equal(fromB.final.code, 226);
      const stored = await Deno.readFile(`${cluster.root}/shared.bin`);
      assert.equal(stored.length, size, `round ${round}: whole size`);
      assert.ok(
        [0x41 + round, 0x61 + round].includes(uniform(stored) ?? -1),
        `round ${round}: one upload's bytes, not a mix`,
      );
    }
    // A rename onto a name the other instance is uploading: both end whole.
    await Deno.writeFile(`${cluster.root}/other.bin`, filled(1024, 0x7a));
    const upload = clientA.upload("STOR target.bin", filled(size, 0x51));
    await clientB.expect("RNFR other.bin", 350);
    await clientB.expect("RNTO target.bin", 250);
    assert.equal((await upload).final.code, 226);
    const target = await Deno.readFile(`${cluster.root}/target.bin`);
    assert.ok(
      (target.length === size && uniform(target) === 0x51) ||
        (target.length === 1024 && uniform(target) === 0x7a),
      "the target is one whole file",
    );
    // STOU from both at once: two different names, neither replaced.
    const [stouA, stouB] = await Promise.all([
      clientA.upload("STOU unique.txt", "from A"),
      clientB.upload("STOU unique.txt", "from B"),
    ]);
    const names = [stouA, stouB].map((r) =>
      /unique file name: ([^)]+)\)/.exec(r.final.lines.join(""))?.[1]
    );
    const stored = await Promise.all(
      names.filter((name) => name !== undefined).map((name) =>
        Deno.readTextFile(`${cluster.root}/${name}`)
      ),
    );
    assert.ok(stouA.final.code === 226 || stouB.final.code === 226);
    for (const [i, reply] of [stouA, stouB].entries()) {
      if (reply.final.code === 226) assert.ok(stored.includes(i === 0 ? "from A" : "from B"));
    }
    await clientA.close();
    await clientB.close();
    assert.deepEqual(await tempFiles(cluster.root), [], "no temporary file left behind");
    // The temporary names told the instances apart: host, PID, session.
    const pids = cluster.instances.map((instance) => instance.child.pid);
    assert.notEqual(pids[0], pids[1]);
  } finally {
    await cluster.close();
  }
});

Deno.test("uploadTempPath() names carry the instance (PID, random tag) and the session", () => {
  const first = uploadTempPath("/dir/report.pdf", 7);
  const second = uploadTempPath("/dir/report.pdf", 7);
  assert.notEqual(first, second);
  assert.ok(first.startsWith(`/dir/.report.pdf.ferry-upload-${INSTANCE_TAG}-7-`), first);
  assert.ok(INSTANCE_TAG.includes(String(Deno.pid)));
  assert.ok(isUploadTemp(posix.basename(first)));
  assert.ok(posix.basename(uploadTempPath(`/${"x".repeat(255)}`, 123456789)).length <= 255);
});
