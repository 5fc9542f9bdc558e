import assert from "node:assert/strict";
import { assertSameBytes } from "../helpers/assert_bytes.ts";
import { ExitCode } from "../../client/errors.ts";
import { startTestServer, type TestServer } from "../helpers/test_server.ts";
import { readTree, runClient } from "./cli_run.ts";

const COMMANDS = [
  "shell",
  "get",
  "put",
  "ls",
  "cat",
  "mkdir",
  "rm",
  "rmdir",
  "mv",
  "stat",
  "mirror",
  "quote",
];

/** Runs `body` with a fresh server and a fresh local directory. */
function withServer(
  name: string,
  body: (server: TestServer, url: string, local: string) => Promise<void>,
) {
  Deno.test(name, async () => {
    const server = await startTestServer();
    const local = await Deno.makeTempDir({ prefix: "ferry-local-" });
    try {
      await body(server, `ftp://alice:wonderland@127.0.0.1:${server.port}`, local);
    } finally {
      await server.close();
      await Deno.remove(local, { recursive: true });
    }
  });
}

function randomBytes(length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i += 65536) {
    crypto.getRandomValues(bytes.subarray(i, Math.min(length, i + 65536)));
  }
  // Line endings and NULs in the middle, which a TYPE A transfer would change.
  bytes.set([13, 10, 10, 0, 13], 100);
  return bytes;
}

function ok(result: { code: number; stderr: string }, what = "") {
  assert.equal(result.code, 0, `${what} exited ${result.code}: ${result.stderr}`);
}

Deno.test("ferry client and each client command print --help and exit 0", async () => {
  for (const args of [["--help"], ...COMMANDS.map((c) => [c, "--help"])]) {
    const result = await runClient(args);
    assert.equal(result.code, 0, args.join(" "));
    assert.match(result.stdout, /Usage: ferry client/);
  }
});

for (const mode of ["passive", "active"]) {
  withServer(
    `put and get move binary files byte for byte (${mode})`,
    async (server, url, local) => {
      const data = randomBytes(300_000);
      await Deno.writeFile(`${local}/data.bin`, data);
      const flags = mode === "active" ? ["--active", "-v"] : ["-v"];
      const up = await runClient(["put", ...flags, `${local}/data.bin`, `${url}/`]);
      ok(up, "put");
      assertSameBytes(await Deno.readFile(`${server.root}/data.bin`), data);
      assert.match(up.stderr, mode === "active" ? /> EPRT / : /> EPSV/);
      const down = await runClient(["get", ...flags, `${url}/data.bin`, `${local}/back.bin`]);
      ok(down, "get");
      assertSameBytes(await Deno.readFile(`${local}/back.bin`), data);
      assert.match(down.stderr, /> TYPE I/);
    },
  );
}

withServer(
  "--type ascii converts line endings both ways and round-trips text",
  async (server, url, local) => {
    await Deno.writeTextFile(`${local}/a.txt`, "one\ntwo\n\nthree");
    ok(await runClient(["put", "--type", "ascii", "-v", `${local}/a.txt`, `${url}/a.txt`]));
    assert.equal(await Deno.readTextFile(`${server.root}/a.txt`), "one\ntwo\n\nthree");
    const down = await runClient([
      "get",
      "--type",
      "ascii",
      "-v",
      `${url}/a.txt`,
      `${local}/b.txt`,
    ]);
    ok(down);
    assert.match(down.stderr, /> TYPE A/);
    assert.equal(await Deno.readTextFile(`${local}/b.txt`), "one\ntwo\n\nthree");
    const cat = await runClient(["cat", "--type", "ascii", `${url}/a.txt`]);
    assert.equal(cat.stdout, "one\ntwo\n\nthree");
  },
);

withServer(
  "--type auto sends text as ASCII but a binary .txt as binary",
  async (server, url, local) => {
    const binary = new Uint8Array([0x89, 0x50, 0x0d, 0x0a, 0x00, 0x0a, 0xff]);
    await Deno.writeFile(`${local}/fake.txt`, binary);
    await Deno.writeTextFile(`${local}/real.txt`, "x\ny\n");
    const result = await runClient(["put", "--type", "auto", "-v", `${local}/fake.txt`, `${url}/`]);
    ok(result);
    assert.doesNotMatch(result.stderr, /> TYPE A/);
    assertSameBytes(await Deno.readFile(`${server.root}/fake.txt`), binary);
    const text = await runClient(["put", "--type", "auto", "-v", `${local}/real.txt`, `${url}/`]);
    ok(text);
    assert.match(text.stderr, /> TYPE A/);
    assert.equal(await Deno.readTextFile(`${server.root}/real.txt`), "x\ny\n");
  },
);

withServer("cat writes a binary file to stdout unchanged", async (server, url) => {
  const data = randomBytes(70_000);
  await Deno.writeFile(`${server.root}/blob`, data);
  const result = await runClient(["cat", `${url}/blob`]);
  ok(result);
  assertSameBytes(result.stdoutBytes, data);
});

withServer(
  "get follows each existing-destination policy; the default exits 9",
  async (server, url, local) => {
    await Deno.writeTextFile(`${server.root}/f.txt`, "remote");
    await Deno.writeTextFile(`${local}/f.txt`, "local");
    const refused = await runClient(["get", `${url}/f.txt`, `${local}/f.txt`]);
    assert.equal(refused.code, ExitCode.Exists);
    assert.match(refused.stderr, /exists/);
    assert.equal(await Deno.readTextFile(`${local}/f.txt`), "local");
    ok(await runClient(["get", "--skip-existing", `${url}/f.txt`, `${local}/f.txt`]));
    assert.equal(await Deno.readTextFile(`${local}/f.txt`), "local");
    ok(await runClient(["get", "--rename", `${url}/f.txt`, `${local}/f.txt`]));
    assert.equal(await Deno.readTextFile(`${local}/f.txt`), "local");
    assert.equal(await Deno.readTextFile(`${local}/f.1.txt`), "remote");
    ok(await runClient(["get", "--overwrite", `${url}/f.txt`, local]));
    assert.equal(await Deno.readTextFile(`${local}/f.txt`), "remote");
    const both = await runClient(["get", "--overwrite", "-c", `${url}/f.txt`, local]);
    assert.equal(both.code, ExitCode.Usage);
  },
);

withServer(
  "put follows each existing-destination policy; the default exits 9",
  async (server, url, local) => {
    await Deno.writeTextFile(`${server.root}/f.txt`, "remote");
    await Deno.writeTextFile(`${local}/f.txt`, "local");
    const refused = await runClient(["put", `${local}/f.txt`, `${url}/`]);
    assert.equal(refused.code, ExitCode.Exists);
    assert.equal(await Deno.readTextFile(`${server.root}/f.txt`), "remote");
    ok(await runClient(["put", "--skip-existing", `${local}/f.txt`, `${url}/`]));
    assert.equal(await Deno.readTextFile(`${server.root}/f.txt`), "remote");
    ok(await runClient(["put", "--rename", `${local}/f.txt`, `${url}/f.txt`]));
    assert.equal(await Deno.readTextFile(`${server.root}/f.txt`), "remote");
    assert.equal(await Deno.readTextFile(`${server.root}/f.1.txt`), "local");
    ok(await runClient(["put", "--overwrite", `${local}/f.txt`, `${url}/f.txt`]));
    assert.equal(await Deno.readTextFile(`${server.root}/f.txt`), "local");
  },
);

withServer(
  "-c resumes a truncated download and a truncated upload with REST",
  async (server, url, local) => {
    const data = randomBytes(200_000);
    await Deno.writeFile(`${server.root}/big.bin`, data);
    await Deno.writeFile(`${local}/big.bin`, data.subarray(0, 77_777));
    const down = await runClient(["get", "-c", "-v", `${url}/big.bin`, `${local}/big.bin`]);
    ok(down);
    assert.match(down.stderr, /> REST 77777/);
    assertSameBytes(await Deno.readFile(`${local}/big.bin`), data);

    await Deno.writeFile(`${local}/up.bin`, data);
    await Deno.writeFile(`${server.root}/up.bin`, data.subarray(0, 123_456));
    const up = await runClient(["put", "--continue", "-v", `${local}/up.bin`, `${url}/up.bin`]);
    ok(up);
    assert.match(up.stderr, /> REST 123456/);
    assertSameBytes(await Deno.readFile(`${server.root}/up.bin`), data);
  },
);

withServer(
  "put --parallel 3 uploads several files over three sessions",
  async (server, url, local) => {
    const files: string[] = [];
    for (let i = 0; i < 6; i++) {
      await Deno.writeFile(`${local}/f${i}.bin`, randomBytes(50_000 + i));
      files.push(`${local}/f${i}.bin`);
    }
    const result = await runClient(["put", "--parallel", "3", "-v", ...files, `${url}/`]);
    ok(result);
    assert.equal(result.stderr.match(/> PASS \*\*\*\*/g)?.length, 3);
    for (let i = 0; i < 6; i++) {
      assertSameBytes(
        await Deno.readFile(`${server.root}/f${i}.bin`),
        await Deno.readFile(`${local}/f${i}.bin`),
      );
    }
    const single = await runClient(["put", ...files.slice(0, 2), `${url}/file`]);
    assert.equal(single.code, ExitCode.Usage);
  },
);

withServer(
  "mirror both ways gives identical trees, and a second mirror moves nothing",
  async (server, url, local) => {
    await Deno.mkdir(`${server.root}/src/a/b`, { recursive: true });
    await Deno.mkdir(`${server.root}/src/empty`);
    await Deno.writeFile(`${server.root}/src/top.bin`, randomBytes(40_000));
    await Deno.writeTextFile(`${server.root}/src/a/x.txt`, "x\n");
    await Deno.writeFile(`${server.root}/src/a/b/deep.bin`, randomBytes(1000));

    const down = await runClient(["mirror", "--parallel", "3", `${url}/src/`, `${local}/copy`]);
    ok(down, "mirror");
    assert.deepEqual(await readTree(`${local}/copy`), await readTree(`${server.root}/src`));
    const again = await runClient(["mirror", "-v", `${url}/src/`, `${local}/copy`]);
    ok(again);
    assert.doesNotMatch(again.stderr, /> RETR/);
    assert.match(again.stderr, /0 of 0 files transferred/);

    // A changed file moves again, and only that one.
    await Deno.writeTextFile(`${server.root}/src/a/x.txt`, "changed\n");
    const changed = await runClient(["mirror", "-v", `${url}/src/`, `${local}/copy`]);
    ok(changed);
    assert.equal(changed.stderr.match(/> RETR/g)?.length, 1);
    assert.equal(await Deno.readTextFile(`${local}/copy/a/x.txt`), "changed\n");

    const up = await runClient(["mirror", "-R", "--parallel", "3", `${local}/copy`, `${url}/dst/`]);
    ok(up, "mirror -R");
    assert.deepEqual(await readTree(`${server.root}/dst`), await readTree(`${local}/copy`));
    const upAgain = await runClient(["mirror", "-R", "-v", `${local}/copy`, `${url}/dst/`]);
    ok(upAgain);
    assert.doesNotMatch(upAgain.stderr, /> STOR/);

    // --delete removes what the source lacks.
    await Deno.writeTextFile(`${server.root}/dst/extra.txt`, "extra");
    await Deno.mkdir(`${server.root}/dst/old/sub`, { recursive: true });
    await Deno.writeTextFile(`${server.root}/dst/old/sub/f`, "f");
    ok(await runClient(["mirror", "-R", "--delete", `${local}/copy`, `${url}/dst/`]));
    assert.deepEqual(await readTree(`${server.root}/dst`), await readTree(`${local}/copy`));
    await Deno.writeTextFile(`${local}/copy/stray`, "s");
    ok(await runClient(["mirror", "--delete", `${url}/src/`, `${local}/copy`]));
    assert.deepEqual(await readTree(`${local}/copy`), await readTree(`${server.root}/src`));
  },
);

withServer("ls prints names, -l lines and --json; stat prints facts", async (server, url) => {
  await Deno.mkdir(`${server.root}/d`);
  await Deno.writeTextFile(`${server.root}/d/b.txt`, "12345");
  await Deno.mkdir(`${server.root}/d/sub`);
  const short = await runClient(["ls", `${url}/d/`]);
  ok(short);
  assert.equal(short.stdout, "b.txt\nsub\n");
  const long = await runClient(["ls", "-l", `${url}/d`]);
  ok(long);
  assert.match(long.stdout, /^-rw\S+ +\d+ \S+ +\S+ +5 .* b\.txt\nd\S+ .* sub\n$/);
  const json = JSON.parse((await runClient(["ls", "--json", `${url}/d/`])).stdout);
  assert.deepEqual(
    json.map((e: { name: string; type: string; size: number }) => [e.name, e.type, e.size]),
    [
      ["b.txt", "file", 5],
      ["sub", "dir", 0],
    ],
  );
  assert.ok(!Number.isNaN(Date.parse(json[0].mtime)));
  const stat = await runClient(["stat", `${url}/d/b.txt`]);
  ok(stat);
  assert.match(stat.stdout, /type: file\nsize: 5\nmtime: \d{4}-/);
  const statJson = JSON.parse((await runClient(["stat", "--json", `${url}/d/sub`])).stdout);
  assert.equal(statJson.type, "dir");
  assert.equal((await runClient(["stat", `${url}/nope`])).code, ExitCode.RemoteFile);
});

withServer("mkdir -p, mv, rm and rmdir change the server's tree", async (server, url) => {
  ok(await runClient(["mkdir", "-p", `${url}/a/b/c`]));
  assert.ok((await Deno.stat(`${server.root}/a/b/c`)).isDirectory);
  ok(await runClient(["mkdir", "-p", `${url}/a/b/c`]), "mkdir -p on an existing dir");
  // A server's refusal (an FtpReplyError) is reported by main.ts as `ferry: VERB: CODE text`.
  const refused = await runClient(["mkdir", `${url}/a`]);
  assert.equal(refused.code, ExitCode.RemoteFile);
  assert.equal(refused.stderr, "ferry: MKD: 550 File exists.\n");
  await Deno.writeTextFile(`${server.root}/a/f.txt`, "f");
  await Deno.writeTextFile(`${server.root}/a/g.txt`, "g");
  ok(await runClient(["mv", `${url}/a/f.txt`, "h.txt"]));
  assert.equal(await Deno.readTextFile(`${server.root}/a/h.txt`), "f");
  assert.equal((await runClient(["mv", `${url}/a/h.txt`, "g.txt"])).code, ExitCode.Exists);
  ok(await runClient(["mv", `${url}/a/h.txt`, "/a/b"]));
  assert.equal(await Deno.readTextFile(`${server.root}/a/b/h.txt`), "f");
  ok(await runClient(["rm", `${url}/a/b/h.txt`]));
  ok(await runClient(["rmdir", `${url}/a/b/c`]));
  assert.deepEqual(
    [...Deno.readDirSync(`${server.root}/a`)].map((e) => e.name).sort(),
    ["b", "g.txt"],
  );
  assert.equal((await runClient(["rm", `${url}/a/nope`])).code, ExitCode.RemoteFile);
});

withServer("quote prints the reply and exits non-zero on 4xx/5xx", async (_server, url) => {
  const syst = await runClient(["quote", `${url}/`, "SYST"]);
  ok(syst);
  assert.match(syst.stdout, /^215 /);
  const feat = await runClient(["quote", `${url}/`, "FEAT"]);
  assert.match(feat.stdout, /^211-.*\n(.*\n)*211 /);
  const bad = await runClient(["quote", `${url}/`, "SITE", "NOPE"]);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stdout, /^5\d\d /);
});

withServer(
  "exit codes: bad URL 2, refused 3, bad password 4, missing 5, local I/O 6",
  async (server, _url, local) => {
    assert.equal((await runClient(["ls", "http://example.org/"])).code, ExitCode.Usage);
    assert.equal((await runClient(["ls", "ftp://"])).code, ExitCode.Usage);
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const closedPort = listener.addr.port;
    listener.close();
    assert.equal(
      (await runClient(["ls", `ftp://alice:wonderland@127.0.0.1:${closedPort}/`])).code,
      ExitCode.Connect,
    );
    const base = `127.0.0.1:${server.port}`;
    const badLogin = await runClient(["ls", `ftp://alice:wrong@${base}/`]);
    assert.equal(badLogin.code, ExitCode.Login);
    assert.equal(badLogin.stderr, "ferry: PASS: 530 Login incorrect.\n");
    assert.equal((await runClient(["ls", `ftp://${base}/`])).code, ExitCode.Login, "anonymous");
    assert.equal(
      (await runClient(["get", `ftp://alice:wonderland@${base}/missing`, `${local}/m`])).code,
      ExitCode.RemoteFile,
    );
    await assert.rejects(Deno.stat(`${local}/m`));
    await Deno.writeTextFile(`${server.root}/f`, "f");
    await Deno.writeTextFile(`${local}/plain-file`, "");
    assert.equal(
      (await runClient(["get", `ftp://alice:wonderland@${base}/f`, `${local}/plain-file/sub/f`]))
        .code,
      ExitCode.LocalIo,
    );
    assert.equal(
      (await runClient(["put", `${local}/nope`, `ftp://alice:wonderland@${base}/`])).code,
      ExitCode.LocalIo,
    );
    assert.equal((await runClient(["get", "--parallel", "0", `ftp://${base}/f`])).code, 2);
  },
);

withServer(
  "credentials come from --user, FERRY_PASSWORD and ~/.netrc",
  async (server, _url, local) => {
    await Deno.writeTextFile(`${server.root}/f`, "f");
    const url = `ftp://127.0.0.1:${server.port}/`;
    ok(await runClient(["ls", "--user", "alice:wonderland", url]), "--user NAME:PASS");
    ok(
      await runClient(["ls", "--user", "alice", url], { env: { FERRY_PASSWORD: "wonderland" } }),
      "FERRY_PASSWORD",
    );
    ok(
      await runClient(["ls", `ftp://alice@127.0.0.1:${server.port}/`], {
        env: { FERRY_PASSWORD: "wonderland" },
      }),
      "URL user + FERRY_PASSWORD",
    );
    await Deno.writeTextFile(
      `${local}/.netrc`,
      "machine 127.0.0.1 login alice password wonderland\n",
    );
    ok(await runClient(["ls", url], { env: { HOME: local } }), "netrc");
    const noPassword = await runClient(["ls", "--user", "alice", url]);
    assert.equal(noPassword.code, ExitCode.Login);
  },
);

withServer("-v prints the control dialogue with the password masked", async (_server, url) => {
  const result = await runClient(["ls", "-v", `${url}/`]);
  ok(result);
  assert.match(result.stderr, /> USER alice/);
  assert.match(result.stderr, /> PASS \*\*\*\*/);
  assert.match(result.stderr, /< 230 /);
  assert.doesNotMatch(result.stderr, /wonderland/);
  const quiet = await runClient(["get", "-q", `${url}/missing`]);
  assert.doesNotMatch(quiet.stderr, /> USER/);
});

withServer(
  "without a TTY and with -q nothing but errors reaches stderr",
  async (server, url, local) => {
    await Deno.writeFile(`${server.root}/f.bin`, randomBytes(100_000));
    const result = await runClient(["get", "-q", `${url}/f.bin`, `${local}/f.bin`]);
    ok(result);
    assert.equal(result.stderr, "");
    assert.equal(result.stdout, "");
  },
);

withServer(
  "ferry client shell runs a script from stdin and exits with the failing line's code",
  async (server, url, local) => {
    await Deno.writeTextFile(`${server.root}/hello.txt`, "hello\n");
    const ok = await runClient(["shell", `${url}/`], {
      cwd: local,
      stdin: "ls\nget hello.txt\nquit\n",
    });
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /hello\.txt/);
    assert.equal(await Deno.readTextFile(`${local}/hello.txt`), "hello\n");
    const failing = await runClient(["shell", `${url}/`], {
      cwd: local,
      stdin: "get missing.txt\nls\n",
    });
    assert.equal(failing.code, ExitCode.RemoteFile);
    assert.match(failing.stderr + failing.stdout, /550/);
  },
);
