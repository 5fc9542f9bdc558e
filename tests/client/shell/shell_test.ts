import assert from "node:assert/strict";
import { assertSameBytes } from "../../helpers/assert_bytes.ts";
import { runShell } from "../../../client/shell/shell.ts";
import { shellCompleter } from "../../../client/shell/completion.ts";
import { streamLineSource } from "../../../client/shell/input.ts";
import { ShellSession } from "../../../client/shell/session.ts";
import { globToRegExp, splitWords } from "../../../client/shell/words.ts";
import {
  startTestServer,
  type TestServer,
  type TestServerOptions,
} from "../../helpers/test_server.ts";

const encoder = new TextEncoder();

/** A running server, a fresh local directory, and a way to run shell scripts against them. */
interface Fixture {
  server: TestServer;
  local: string;
  url: string;
  /** Runs a script (non-interactive) and returns its exit code and everything printed. */
  run(script: string, options?: { url?: string; localDir?: string }): Promise<Run>;
}

interface Run {
  code: number;
  out: string;
}

function bounded<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

async function withFixture(
  body: (fixture: Fixture) => Promise<void>,
  serverOptions: TestServerOptions = {},
): Promise<void> {
  const server = await startTestServer(serverOptions);
  const local = await Deno.makeTempDir({ prefix: "ferry-shell-local-" });
  const fixture: Fixture = {
    server,
    local,
    url: `ftp://alice:wonderland@127.0.0.1:${server.port}`,
    async run(script, options = {}) {
      const chunks: string[] = [];
      const code = await bounded(
        runShell({
          input: ReadableStream.from([encoder.encode(script)]),
          output: (text) => chunks.push(text),
          localDir: options.localDir ?? local,
          timeoutMs: 5_000,
          ...(options.url !== undefined ? { url: options.url } : {}),
        }),
        20_000,
        "runShell",
      );
      return { code, out: chunks.join("") };
    },
  };
  try {
    await body(fixture);
  } finally {
    await server.close();
    await Deno.remove(local, { recursive: true });
  }
}

function randomBytes(length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i += 65536) {
    crypto.getRandomValues(bytes.subarray(i, Math.min(length, i + 65536)));
  }
  bytes[0] = 0; // surely binary
  bytes[1] = 13;
  bytes[2] = 10;
  return bytes;
}

async function exists(file: string): Promise<boolean> {
  try {
    await Deno.lstat(file);
    return true;
  } catch {
    return false;
  }
}

Deno.test("splitWords() keeps quoted and escaped spaces", () => {
  assert.deepEqual(splitWords(`put "my file.txt" 'a b' c\\ d  e`), [
    "put",
    "my file.txt",
    "a b",
    "c d",
    "e",
  ]);
  assert.deepEqual(splitWords(`get ""`), ["get", ""]);
  assert.throws(() => splitWords(`get "open`), SyntaxError);
});

Deno.test("globToRegExp() handles * ? [..] and hides dot files", () => {
  assert.equal(globToRegExp("*.txt").test("a.txt"), true);
  assert.equal(globToRegExp("*.txt").test("a.txt.bak"), false);
  assert.equal(globToRegExp("*.txt").test(".hidden.txt"), false);
  assert.equal(globToRegExp(".*").test(".hidden"), true);
  assert.equal(globToRegExp("file?.bin").test("file1.bin"), true);
  assert.equal(globToRegExp("file?.bin").test("file10.bin"), false);
  assert.equal(globToRegExp("[ab]*").test("beta"), true);
  assert.equal(globToRegExp("[!ab]*").test("beta"), false);
  assert.equal(globToRegExp("a+b(1).txt").test("a+b(1).txt"), true);
});

Deno.test("runShell() says a command needs a connection, then a login", async () => {
  await withFixture(async (f) => {
    let result = await f.run("ls\n");
    assert.equal(result.code, 3);
    assert.match(result.out, /^Not connected\. Use open HOST first\.\n$/);
    for (const command of ["get a", "put a", "cd /", "pwd", "mkdir x", "quote NOOP", "close"]) {
      result = await f.run(`${command}\n`);
      assert.match(result.out, /Not connected\. Use open HOST first\./, command);
    }
    result = await f.run(`open 127.0.0.1:${f.server.port}\nls\n`);
    assert.equal(result.code, 4);
    assert.match(result.out, /Connected to 127\.0\.0\.1\.\n220 /);
    assert.match(result.out, /Not logged in\. Use user NAME first\.\n$/);
  });
});

Deno.test("runShell() logs in with user and the password on the next line", async () => {
  await withFixture(async (f) => {
    const result = await f.run(
      `open 127.0.0.1 ${f.server.port}\nuser alice\nwonderland\npwd\nstatus\nquit\nls\n`,
    );
    assert.equal(result.code, 0, result.out);
    assert.match(result.out, /Logged in as alice\. Remote directory: \/\n/);
    assert.match(result.out, /Remote directory: \/\n/);
    assert.match(result.out, /Connected to 127\.0\.0\.1 port \d+ as alice\./);
    assert.match(result.out, /Type: binary; mode: stream; structure: file\./);
    assert.doesNotMatch(result.out, /wonderland/);
    assert.doesNotMatch(result.out, /Not connected/); // nothing ran after quit
  });
});

Deno.test("runShell() reports a refused login with the server's reply and code 4", async () => {
  await withFixture(async (f) => {
    const result = await f.run(`open 127.0.0.1:${f.server.port}\nuser alice nope\npwd\n`);
    assert.equal(result.code, 4);
    assert.match(result.out, /530 /);
    assert.doesNotMatch(result.out, /Remote directory/);
  });
});

Deno.test("runShell() opens the url option and changes to its directory", async () => {
  await withFixture(async (f) => {
    await Deno.mkdir(`${f.server.root}/pub`);
    const result = await f.run("pwd\n", { url: `${f.url}/pub/` });
    assert.equal(result.code, 0, result.out);
    assert.match(result.out, /Remote directory: \/pub\n$/);
    const bad = await f.run("pwd\n", { url: "ftp://alice:wonderland@127.0.0.1:1/" });
    assert.equal(bad.code, 3);
    assert.match(bad.out, /Cannot connect/);
  });
});

Deno.test("runShell() prints a server error as its reply and stops the script with code 5", async () => {
  await withFixture(async (f) => {
    const result = await f.run(`open ${f.url}\nget missing.txt\npwd\n`);
    assert.equal(result.code, 5);
    assert.match(result.out, /\n550 No such file or directory\.\n$/, "nothing ran after it");
    assert.equal(await exists(`${f.local}/missing.txt`), false, "no empty file left behind");
  });
});

Deno.test("runShell() ignores errors on lines starting with '-'", async () => {
  await withFixture(async (f) => {
    const result = await f.run(`open ${f.url}\n-get missing.txt\n- rm missing.txt\npwd\nquit\n`);
    assert.equal(result.code, 0, result.out);
    assert.equal(result.out.match(/550 /g)?.length, 2);
    assert.match(result.out, /Remote directory: \//);
  });
});

Deno.test("runShell() manages remote directories: mkdir cd pwd ls dir rename rm rmdir", async () => {
  await withFixture(async (f) => {
    await Deno.writeTextFile(`${f.server.root}/old.txt`, "content");
    const result = await f.run(
      [
        `open ${f.url}`,
        "mkdir docs",
        "rename old.txt docs/new.txt",
        "cd docs",
        "pwd",
        "ls",
        "dir",
        "cwd ..",
        "ls docs",
        "mkdir empty",
        "rmdir empty",
        "delete docs/new.txt",
        "rmdir docs",
        "ls",
        "quit",
      ].join("\n"),
    );
    assert.equal(result.code, 0, result.out);
    assert.match(result.out, /^257 /m);
    assert.match(result.out, /Remote directory: \/docs\n/);
    assert.match(result.out, /^new\.txt$/m);
    assert.match(result.out, /^-\S+\s+.*\s7\s.*new\.txt$/m, "dir shows a long listing");
    assert.deepEqual([...Deno.readDirSync(f.server.root)], []);
  });
});

Deno.test("runShell() put and get move binary files byte for byte", async () => {
  await withFixture(async (f) => {
    const data = randomBytes(300_000);
    await Deno.writeFile(`${f.local}/blob.bin`, data);
    const result = await f.run(
      `open ${f.url}\nput blob.bin\nput blob.bin copy.bin\nget copy.bin back.bin\nquit\n`,
    );
    assert.equal(result.code, 0, result.out);
    assert.match(result.out, /blob\.bin: 300000 bytes sent \(binary\)/);
    assert.match(result.out, /copy\.bin: 300000 bytes received \(binary\)/);
    assertSameBytes(await Deno.readFile(`${f.server.root}/blob.bin`), data);
    assertSameBytes(await Deno.readFile(`${f.local}/back.bin`), data);
  });
});

Deno.test("runShell() refuses an existing destination in a script by default", async () => {
  await withFixture(async (f) => {
    await Deno.writeTextFile(`${f.server.root}/a.txt`, "remote");
    await Deno.writeTextFile(`${f.local}/a.txt`, "local");
    let result = await f.run(`open ${f.url}\nget a.txt\n`);
    assert.equal(result.code, 9);
    assert.match(result.out, /local file a\.txt exists\. Use set existing /);
    assert.equal(await Deno.readTextFile(`${f.local}/a.txt`), "local");
    result = await f.run(`open ${f.url}\nput a.txt\n`);
    assert.equal(result.code, 9);
    assert.match(result.out, /remote file a\.txt exists\. Use set existing /);
    assert.equal(await Deno.readTextFile(`${f.server.root}/a.txt`), "remote");
  });
});

Deno.test("runShell() set existing rename keeps both files, overwrite and skip do what they say", async () => {
  await withFixture(async (f) => {
    await Deno.writeTextFile(`${f.server.root}/a.txt`, "remote");
    await Deno.writeTextFile(`${f.local}/a.txt`, "local");
    let result = await f.run(`open ${f.url}\nset existing rename\nget a.txt\nput a.txt\n`);
    assert.equal(result.code, 0, result.out);
    assert.match(result.out, /a\.txt: 6 bytes received as a\.1\.txt \(binary\)/);
    assert.equal(await Deno.readTextFile(`${f.local}/a.txt`), "local");
    assert.equal(await Deno.readTextFile(`${f.local}/a.1.txt`), "remote");
    assert.equal(await Deno.readTextFile(`${f.server.root}/a.txt`), "remote");
    assert.equal(await Deno.readTextFile(`${f.server.root}/a.1.txt`), "local");

    result = await f.run(`open ${f.url}\nset existing skip\nget a.txt\n`);
    assert.equal(result.code, 0, result.out);
    assert.match(result.out, /a\.txt: skipped/);
    assert.equal(await Deno.readTextFile(`${f.local}/a.txt`), "local");

    result = await f.run(`open ${f.url}\nset existing overwrite\nget a.txt\n`);
    assert.equal(result.code, 0, result.out);
    assert.equal(await Deno.readTextFile(`${f.local}/a.txt`), "remote");

    result = await f.run("set existing sometimes\n");
    assert.equal(result.code, 2);
  });
});

Deno.test("runShell() set existing continue resumes a partial download", async () => {
  await withFixture(async (f) => {
    const data = randomBytes(100_000);
    await Deno.writeFile(`${f.server.root}/big.bin`, data);
    await Deno.writeFile(`${f.local}/big.bin`, data.subarray(0, 40_000));
    const result = await f.run(`open ${f.url}\nset existing continue\nget big.bin\n`);
    assert.equal(result.code, 0, result.out);
    assert.match(result.out, /big\.bin: 60000 bytes received/);
    assertSameBytes(await Deno.readFile(`${f.local}/big.bin`), data);
  });
});

Deno.test("runShell() mget and mput expand globs", async () => {
  await withFixture(async (f) => {
    await Deno.mkdir(`${f.server.root}/sub`);
    for (const name of ["a.txt", "b.txt", "c.bin", "sub/d.txt"]) {
      await Deno.writeTextFile(`${f.server.root}/${name}`, name);
    }
    let result = await f.run(`open ${f.url}\nmget *.txt sub/?.txt\n`);
    assert.equal(result.code, 0, result.out);
    const local = [...Deno.readDirSync(f.local)].map((entry) => entry.name).sort();
    assert.deepEqual(local, ["a.txt", "b.txt", "d.txt"]);
    assert.equal(await Deno.readTextFile(`${f.local}/d.txt`), "sub/d.txt");

    await Deno.writeTextFile(`${f.local}/x1.dat`, "1");
    await Deno.writeTextFile(`${f.local}/x2.dat`, "2");
    await Deno.writeTextFile(`${f.local}/y.dat`, "3");
    result = await f.run(`open ${f.url}\ncd sub\nmput x[0-9].dat\n`);
    assert.equal(result.code, 0, result.out);
    assert.equal(await Deno.readTextFile(`${f.server.root}/sub/x1.dat`), "1");
    assert.equal(await Deno.readTextFile(`${f.server.root}/sub/x2.dat`), "2");
    assert.equal(await exists(`${f.server.root}/sub/y.dat`), false);

    result = await f.run(`open ${f.url}\nmget *.none\n`);
    assert.equal(result.code, 5);
    assert.match(result.out, /No remote files match \*\.none/);
    result = await f.run(`open ${f.url}\nmput *.none\n`);
    assert.equal(result.code, 6);
    assert.match(result.out, /No local files match \*\.none/);
  });
});

Deno.test("runShell() type auto sends .txt text as ascii and binary as binary", async () => {
  await withFixture(async (f) => {
    const text = "line one\nline two\n";
    const data = randomBytes(5000);
    await Deno.writeTextFile(`${f.local}/notes.txt`, text);
    await Deno.writeFile(`${f.local}/image.png`, data);
    await Deno.writeFile(`${f.local}/fake.txt`, data); // a text name, binary content
    let result = await f.run(
      `open ${f.url}\ntype auto\ndebug on\nput notes.txt\nput image.png\nput fake.txt\n` +
        "get notes.txt notes-back.txt\nget image.png image-back.png\n",
    );
    assert.equal(result.code, 0, result.out);
    assert.match(result.out, /notes\.txt: 18 bytes sent \(ascii\)/);
    assert.match(result.out, /image\.png: 5000 bytes sent \(binary\)/);
    assert.match(result.out, /fake\.txt: 5000 bytes sent \(binary\)/);
    assert.match(result.out, /notes\.txt: \d+ bytes received \(ascii\)/);
    assert.match(result.out, /> TYPE A/);
    assert.match(result.out, /> TYPE I/);
    assert.equal(await Deno.readTextFile(`${f.server.root}/notes.txt`), text);
    assert.equal(await Deno.readTextFile(`${f.local}/notes-back.txt`), text);
    assertSameBytes(await Deno.readFile(`${f.server.root}/image.png`), data);
    assertSameBytes(await Deno.readFile(`${f.server.root}/fake.txt`), data);
    assertSameBytes(await Deno.readFile(`${f.local}/image-back.png`), data);

    // Even type ascii never sends a binary file as ASCII.
    result = await f.run(`open ${f.url}\nset existing overwrite\ntype ascii\nput image.png\n`);
    assert.equal(result.code, 0, result.out);
    assert.match(result.out, /image\.png is not text: sending it as binary/);
    assertSameBytes(await Deno.readFile(`${f.server.root}/image.png`), data);
    result = await f.run("type ebcdic\n");
    assert.equal(result.code, 2);
  });
});

Deno.test("runShell() passive off lists and transfers in active mode", async () => {
  await withFixture(async (f) => {
    await Deno.writeTextFile(`${f.server.root}/a.txt`, "active");
    const result = await f.run(
      `passive off\nopen ${f.url}\ndebug on\nls\nget a.txt\npassive\nls\nstatus\n`,
    );
    assert.equal(result.code, 0, result.out);
    assert.match(result.out, /Passive mode off \(active mode\)\./);
    assert.match(result.out, /> (EPRT|PORT) /);
    assert.match(result.out, /Passive mode on\./);
    assert.match(result.out, /> (EPSV|PASV)/);
    assert.equal(await Deno.readTextFile(`${f.local}/a.txt`), "active");
  });
});

Deno.test("runShell() quote sends raw commands but not data transfers", async () => {
  await withFixture(async (f) => {
    let result = await f.run(`open ${f.url}\nquote NOOP\nliteral syst\n`);
    assert.equal(result.code, 0, result.out);
    assert.match(result.out, /^200 /m);
    assert.match(result.out, /^215 /m);
    result = await f.run(`open ${f.url}\nquote RETR a.txt\n`);
    assert.equal(result.code, 2);
    assert.match(result.out, /use get, put, ls or dir/);
    result = await f.run(`open ${f.url}\nquote CWD /nowhere\n`);
    assert.equal(result.code, 5);
    assert.match(result.out, /^550 /m);
    result = await f.run(`open ${f.url}\nquote XYZZY\n`);
    assert.equal(result.code, 2, "the client refuses to send an unknown verb");
  });
});

Deno.test("runShell() mode, stru, help, usage and unknown commands", async () => {
  await withFixture(async (f) => {
    let result = await f.run("mode\nmode stream\nstru file\nhelp\nhelp get\n? mget\n");
    assert.equal(result.code, 0, result.out);
    assert.match(result.out, /Mode: stream\./);
    assert.match(result.out, /Structure: file\./);
    assert.match(result.out, /stops at the first failing command/);
    assert.match(result.out, /get REMOTE \[LOCAL\] \(also recv\)/);
    assert.match(result.out, /mget GLOB\.\.\./);
    for (
      const [line, pattern] of [
        ["mode block", /Only mode stream is supported/],
        ["stru record", /Only structure file is supported/],
        ["frobnicate", /Unknown command frobnicate\. Type help for a list\./],
        ["get", /Usage: get REMOTE \[LOCAL\]/],
        ["rename a", /Usage: rename FROM TO/],
        ["!ls", /Local shell escapes \(!\) are not supported\./],
        [`get "unterminated`, /Unterminated " quote/],
      ] as const
    ) {
      result = await f.run(`${line}\n`);
      assert.equal(result.code, 2, line);
      assert.match(result.out, pattern);
    }
  });
});

Deno.test("runShell() lcd and lpwd move the local side; close and open again", async () => {
  await withFixture(async (f) => {
    await Deno.mkdir(`${f.local}/in`);
    await Deno.writeTextFile(`${f.server.root}/a.txt`, "x");
    const result = await f.run(
      `lcd in\nlpwd\nopen ${f.url}\nget a.txt\nclose\n-ls\nopen ${f.url}\nstatus\nbye\n`,
    );
    assert.equal(result.code, 0, result.out);
    assert.match(result.out, /Local directory: .*\/in\n/);
    assert.equal(await Deno.readTextFile(`${f.local}/in/a.txt`), "x");
    assert.match(result.out, /Disconnected\.\nNot connected\. Use open HOST first\./);
    assert.match(result.out, /as alice\./);
    const bad = await f.run("lcd nowhere\n");
    assert.equal(bad.code, 6);
  });
});

Deno.test("runShell() notices a lost connection", async () => {
  await withFixture(async (f) => {
    const chunks: string[] = [];
    const lines = new TransformStream<Uint8Array, Uint8Array>();
    const writer = lines.writable.getWriter();
    const running = runShell({
      input: lines.readable,
      output: (text) => chunks.push(text),
      localDir: f.local,
      timeoutMs: 5_000,
    });
    await writer.write(encoder.encode(`open ${f.url}\n`));
    const deadline = Date.now() + 10_000;
    while (!chunks.join("").includes("Logged in as alice")) {
      assert.ok(Date.now() < deadline, "logged in");
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    // The server's idle timeout closes the session with a 421 reply.
    await new Promise((resolve) => setTimeout(resolve, 700));
    await writer.write(encoder.encode("-ls\n-ls\nstatus\n"));
    await writer.close();
    assert.equal(await bounded(running, 20_000, "runShell"), 0);
    const out = chunks.join("");
    assert.match(out, /Connection lost\. Use open HOST to reconnect\./);
    assert.match(out, /Not connected\. Use open HOST first\./);
    assert.match(out, /^Not connected\.$/m);
  }, { config: { idleTimeoutMs: 300 } });
});

Deno.test("shellCompleter() completes commands, keywords, remote and local names", async () => {
  await withFixture(async (f) => {
    await Deno.mkdir(`${f.server.root}/docs`);
    await Deno.writeTextFile(`${f.server.root}/docs/read me.txt`, "x");
    await Deno.writeTextFile(`${f.server.root}/data.bin`, "x");
    await Deno.writeTextFile(`${f.local}/upload.txt`, "x");
    const session = new ShellSession({
      print: () => {},
      error: () => {},
      input: streamLineSource(ReadableStream.from([])),
    }, { localDir: f.local, timeoutMs: 5_000 });
    const complete = shellCompleter(session);
    try {
      assert.deepEqual(await complete("mg"), [["mget"], "mg"]);
      assert.deepEqual(await complete("type a"), [["ascii", "auto"], "a"]);
      assert.deepEqual(await complete("get d"), [[], "d"], "nothing remote before login");
      await session.connect("127.0.0.1", f.server.port);
      await session.login("alice", "wonderland");
      assert.deepEqual(await complete("get d"), [["data.bin", "docs/"], "d"]);
      assert.deepEqual(await complete("get docs/r"), [["docs/read\\ me.txt"], "docs/r"]);
      assert.deepEqual(await complete("put up"), [["upload.txt"], "up"]);
    } finally {
      await session.disconnect();
    }
  });
});

const PTY_DRIVER = String.raw`
import json, os, pty, select, sys, time
args = json.loads(sys.argv[1])
pid, fd = pty.fork()
if pid == 0:
    os.execvp(args[0], args)
transcript = b""
def expect(text, start, timeout=15):
    global transcript
    end = time.time() + timeout
    while time.time() < end:
        if text.encode() in transcript[start:]:
            return
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            try:
                transcript += os.read(fd, 65536)
            except OSError:
                break
    raise SystemExit("timed out waiting for %r; transcript: %r" % (text, transcript))
def mark(text):
    global transcript
    transcript += ("\n[[%s]]\n" % text).encode()
steps = json.loads(sys.stdin.read())
for send, wait in steps:
    start = len(transcript)
    if send is not None:
        mark("send " + send)
        os.write(fd, send.encode())
    expect(wait, start)
_, status = os.waitpid(pid, 0)
sys.stdout.write(json.dumps({"transcript": transcript.decode("utf-8", "replace"), "status": os.waitstatus_to_exitcode(status)}))
`;

Deno.test({
  name: "runShell() on a terminal completes remote names, recalls history and hides the password",
  ignore: Deno.build.os === "windows",
  async fn() {
    await withFixture(async (f) => {
      await Deno.writeTextFile(`${f.server.root}/hello-world.txt`, "hi\n");
      await Deno.writeTextFile(`${f.server.root}/other.bin`, "x");
      const driver = `${f.local}/driver.ts`;
      const shellModule = new URL("../../../client/shell/shell.ts", import.meta.url).href;
      await Deno.writeTextFile(
        driver,
        `import { runShell } from ${JSON.stringify(shellModule)};\n` +
          `const encoder = new TextEncoder();\n` +
          `const code = await runShell({ input: "tty", localDir: ${JSON.stringify(f.local)},\n` +
          `  output: (text) => Deno.stdout.writeSync(encoder.encode(text)), timeoutMs: 5000 });\n` +
          `Deno.stdout.writeSync(encoder.encode("EXIT " + code + "\\n"));\n` +
          `Deno.exit(code);\n`,
      );
      const steps: [string | null, string][] = [
        [null, "ferry> "],
        [`open 127.0.0.1:${f.server.port}\r`, "Name (127.0.0.1): "],
        ["alice\r", "Password: "],
        ["wonderland\r", "Logged in as alice"],
        ["get hel\t", "hello-world.txt"],
        ["\r", "bytes received"],
        ["\x1b[A", "get hello-world.txt"],
        ["\r", "[r]ename (keep both)"],
        ["r\r", "received as hello-world.1.txt"],
        ["quit\r", "EXIT 0"],
      ];
      const child = new Deno.Command("python3", {
        args: ["-c", PTY_DRIVER, JSON.stringify([Deno.execPath(), "run", "-A", driver])],
        stdin: "piped",
        stdout: "piped",
        stderr: "piped",
        signal: AbortSignal.timeout(60_000),
      }).spawn();
      const writer = child.stdin.getWriter();
      await writer.write(encoder.encode(JSON.stringify(steps)));
      await writer.close();
      const output = await child.output();
      const stderr = new TextDecoder().decode(output.stderr);
      assert.equal(output.code, 0, stderr);
      const { transcript, status } = JSON.parse(new TextDecoder().decode(output.stdout));
      assert.equal(status, 0, transcript);
      if (Deno.env.get("SHOW_TRANSCRIPT")) console.log(JSON.stringify(transcript));
      const afterTab = transcript.split("[[send get hel\t]]")[1].split("[[send \r]]")[0];
      assert.match(afterTab, /lo-world\.txt/, "Tab completed the remote name");
      const afterUp = transcript.split("[[send \x1b[A]]")[1].split("[[send")[0];
      assert.match(afterUp, /get hello-world\.txt/, "up arrow recalled the last command");
      const afterPassword = transcript.split("[[send wonderland\r]]")[1];
      assert.doesNotMatch(afterPassword, /wonderland/, "the password is not echoed");
      assert.equal(await Deno.readTextFile(`${f.local}/hello-world.txt`), "hi\n");
      assert.equal(await Deno.readTextFile(`${f.local}/hello-world.1.txt`), "hi\n");
    });
  },
});
