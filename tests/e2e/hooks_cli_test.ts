import assert from "node:assert/strict";
import { formatCredentials, hashPassword } from "../../server/auth/mod.ts";
import { runProgram } from "../helpers/run_program.ts";
import { readReadyLine, startServe } from "./cli_helpers.ts";

async function credentials(dir: string): Promise<string> {
  const file = `${dir}/creds.txt`;
  const passwordHash = await hashPassword("pw", { cost: 1024 });
  await Deno.writeTextFile(
    file,
    formatCredentials([{ name: "bob", passwordHash, home: "/", permissions: "elradfmwMT" }]),
  );
  return file;
}

Deno.test("ferry serve --hook runs the hook from a child allowed to run only the hook commands", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const creds = await credentials(dir);
    const hook = `${dir}/on upload.sh`;
    await Deno.writeTextFile(hook, `#!/bin/sh\nprintf '%s' "$FERRY_PATH" > '${dir}/seen'\n`);
    await Deno.chmod(hook, 0o755);
    const server = startServe(dir, creds, {
      extra: ["--hook", `upload=["${hook}"]`, "--hook", "pre-delete=sh -c exit"],
    });
    try {
      const ready = await readReadyLine(server);
      const port = Number(/:(\d+) /.exec(ready)?.[1]);
      const pid = server.child.pid;
      const child = (await Deno.readTextFile(`/proc/${pid}/task/${pid}/children`)).trim();
      const cmdline = (await Deno.readTextFile(`/proc/${child}/cmdline`)).split("\0");
      assert.ok(cmdline.includes(`--allow-run=${hook},sh`), cmdline.join(" "));
      await Deno.writeTextFile(`${dir}/local.txt`, "x");
      const put = await runProgram("curl", [
        "-sS",
        "-T",
        `${dir}/local.txt`,
        `ftp://bob:pw@127.0.0.1:${port}/a%20b.txt`,
        "-Q",
        "-DELE a b.txt",
      ], { timeoutMs: 30_000 });
      assert.equal(put.code, 0, put.stderr);
      const deadline = Date.now() + 20_000;
      let seen = "";
      while (seen === "" && Date.now() < deadline) {
        seen = await Deno.readTextFile(`${dir}/seen`).catch(() => "");
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      assert.equal(seen, "/a b.txt");
    } finally {
      server.child.kill("SIGTERM");
      await server.child.status;
      await server.drained;
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ferry serve --hook without run permission for the command says which flag is missing", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const creds = await credentials(dir);
    await Deno.mkdir(`${dir}/srv`);
    const server = startServe(dir, creds, {
      extra: ["--hook", "upload=/bin/true"],
      permissions: [`--allow-read=${dir}`, `--allow-write=${dir}/srv`, "--allow-net"],
    });
    const status = await server.child.status;
    await server.drained;
    assert.equal(status.code, 1);
    assert.match(server.errors.join("\n"), /Missing Deno permissions: --allow-run=\/bin\/true/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
