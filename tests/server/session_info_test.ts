import assert from "node:assert/strict";
import { RawClient, text, withServer } from "../helpers/raw_client.ts";

Deno.test("NOOP answers 200", async () => {
  await withServer({}, async (server, track) => {
    const client = track(await RawClient.login(server.port));
    await client.expect("NOOP", 200);
    await client.expect("noop", 200);
  });
});

Deno.test("NOOP with an argument answers 501", async () => {
  await withServer({}, async (server, track) => {
    const client = track(await RawClient.login(server.port));
    await client.expect("NOOP now", 501);
  });
});

Deno.test("SYST answers 215 UNIX Type: L8", async () => {
  await withServer({}, async (server, track) => {
    const client = track(await RawClient.login(server.port));
    assert.equal(text(await client.expect("SYST", 215)), "UNIX Type: L8");
  });
});

Deno.test("FEAT answers a 211 multi-line reply naming every extension", async () => {
  await withServer({}, async (server, track) => {
    const client = track(await RawClient.login(server.port));
    const reply = await client.expect("FEAT", 211);
    assert.ok(reply.lines.length > 2);
    const features = reply.lines.slice(1, -1).map((line) => line.trim());
    for (const feature of ["EPSV", "EPRT", "SIZE", "MDTM", "REST STREAM", "UTF8"]) {
      assert.ok(features.includes(feature), `FEAT lists ${feature}`);
    }
    assert.ok(features.some((line) => /^MLST type\*;size\*;/.test(line)), "FEAT lists MLST");
  });
});

Deno.test("OPTS UTF8 ON answers 200", async () => {
  await withServer({}, async (server, track) => {
    const client = track(await RawClient.login(server.port));
    await client.expect("OPTS UTF8 ON", 200);
    await client.expect("OPTS UTF8 OFF", 504);
    await client.expect("OPTS NOSUCH x", 501);
  });
});

Deno.test("OPTS MLST selects the facts shown by FEAT", async () => {
  await withServer({}, async (server, track) => {
    const client = track(await RawClient.login(server.port));
    assert.equal(text(await client.expect("OPTS MLST type;size;", 200)), "MLST OPTS type;size;");
    const feat = await client.expect("FEAT", 211);
    assert.ok(feat.lines.some((line) => line.trim().startsWith("MLST type*;size*;modify;")));
  });
});

Deno.test("HELP answers 214 listing the commands", async () => {
  await withServer({}, async (server, track) => {
    const client = track(await RawClient.login(server.port));
    const reply = await client.expect("HELP", 214);
    const body = text(reply);
    for (const verb of ["RETR", "STOR", "EPSV", "MLSD", "XPWD"]) {
      assert.match(body, new RegExp(verb));
    }
  });
});

Deno.test("HELP with a command answers 214 with its syntax", async () => {
  await withServer({}, async (server, track) => {
    const client = track(await RawClient.login(server.port));
    assert.match(text(await client.expect("HELP RETR", 214)), /RETR <path>/);
    assert.match(text(await client.expect("HELP mfmt", 214)), /MFMT/);
    await client.expect("HELP FROB", 501);
  });
});

Deno.test("ALLO answers 202", async () => {
  await withServer({}, async (server, track) => {
    const client = track(await RawClient.login(server.port));
    await client.expect("ALLO 1000", 202);
    await client.expect("ALLO", 202);
  });
});

Deno.test("TYPE A, A N, I, L 8 and L8 answer 200", async () => {
  await withServer({}, async (server, track) => {
    const client = track(await RawClient.login(server.port));
    for (const type of ["A", "A N", "I", "L 8", "L8", "a", "i"]) {
      await client.expect(`TYPE ${type}`, 200);
    }
  });
});

Deno.test("TYPE L 8 behaves as binary", async () => {
  await withServer({}, async (server, track) => {
    await Deno.writeTextFile(`${server.root}/f.txt`, "a\nb\n");
    const client = track(await RawClient.login(server.port));
    await client.expect("TYPE L 8", 200);
    assert.equal(text(await client.expect("SIZE f.txt", 213)), "4");
    const result = await client.download("RETR f.txt");
    assert.equal(result.final.code, 226);
    assert.equal(new TextDecoder().decode(result.data), "a\nb\n");
  });
});

Deno.test("TYPE E, A T, A C and L 7 answer 504", async () => {
  await withServer({}, async (server, track) => {
    const client = track(await RawClient.login(server.port));
    for (const type of ["E", "A T", "A C", "L 7"]) await client.expect(`TYPE ${type}`, 504);
  });
});

Deno.test("TYPE with an unknown type answers 501 and without one 501", async () => {
  await withServer({}, async (server, track) => {
    const client = track(await RawClient.login(server.port));
    await client.expect("TYPE Z", 501);
    await client.expect("TYPE", 501);
  });
});

Deno.test("MODE S answers 200 and MODE B and C answer 504", async () => {
  await withServer({}, async (server, track) => {
    const client = track(await RawClient.login(server.port));
    await client.expect("MODE S", 200);
    await client.expect("MODE B", 504);
    await client.expect("MODE C", 504);
    await client.expect("MODE Z", 501);
  });
});

Deno.test("STRU F answers 200 and STRU R and P answer 504", async () => {
  await withServer({}, async (server, track) => {
    const client = track(await RawClient.login(server.port));
    await client.expect("STRU F", 200);
    await client.expect("STRU R", 504);
    await client.expect("STRU P", 504);
    await client.expect("STRU Z", 501);
  });
});

Deno.test("an unknown verb answers 502", async () => {
  await withServer({}, async (server, track) => {
    const client = track(await RawClient.login(server.port));
    await client.expect("FROB", 502);
    await client.expect("XYZZY", 500);
    await client.expect("NOOP", 200);
  });
});

Deno.test("an unknown verb answers 502 before login too", async () => {
  await withServer({}, async (server, track) => {
    const client = track(await RawClient.connect(server.port));
    await client.read();
    await client.expect("FROB", 502);
  });
});

Deno.test("commands missing their argument answer 501", async () => {
  await withServer({}, async (server, track) => {
    const client = track(await RawClient.login(server.port));
    for (
      const verb of [
        "RETR",
        "STOR",
        "APPE",
        "MKD",
        "RMD",
        "DELE",
        "RNFR",
        "SIZE",
        "MDTM",
        "MFMT",
        "REST",
        "PORT",
        "EPRT",
        "OPTS",
        "SITE",
        "MODE",
        "STRU",
        "USER",
      ]
    ) {
      assert.equal((await client.command(verb)).code, 501, verb);
    }
  });
});

Deno.test("STAT without an argument answers a 211 multi-line status", async () => {
  await withServer({}, async (server, track) => {
    const client = track(await RawClient.login(server.port));
    const reply = await client.expect("STAT", 211);
    assert.ok(reply.lines.length > 2);
    assert.match(text(reply), /Logged in as alice/);
    assert.match(client.transcript, /211-[^\r\n]*\r\n/);
  });
});

Deno.test("STAT works before login and says so", async () => {
  await withServer({}, async (server, track) => {
    const client = track(await RawClient.connect(server.port));
    await client.read();
    assert.match(text(await client.expect("STAT", 211)), /Not logged in/);
    await client.expect("STAT /", 530);
  });
});

Deno.test("STAT with a path answers 213 with a listing over the control connection", async () => {
  await withServer({}, async (server, track) => {
    await Deno.mkdir(`${server.root}/dir`);
    await Deno.writeTextFile(`${server.root}/dir/one.txt`, "1");
    await Deno.writeTextFile(`${server.root}/dir/two.txt`, "22");
    const client = track(await RawClient.login(server.port));
    const reply = await client.expect("STAT dir", 213);
    const body = text(reply);
    assert.match(body, /^ -rw[-rwx]{7} .* one\.txt$/m);
    assert.match(body, /^ -rw[-rwx]{7} .* two\.txt$/m);
    const file = await client.expect("STAT dir/one.txt", 213);
    assert.match(text(file), /one\.txt/);
    await client.expect("STAT missing", 550);
    await client.expect("NOOP", 200);
  });
});
