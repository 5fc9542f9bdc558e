/**
 * Workload 7: ferry's own client against curl and lftp, each getting and
 * putting one large file from and to the ferry server, timed as whole
 * commands (process start to exit), after one warm-up run of each.
 *
 * @module
 */

import * as path from "node:path";
import { patternBlock } from "../bench_server.ts";
import { formatSize, MiB, timed, type Workload, type WorkloadContext } from "../workload.ts";

const REPO = path.resolve(import.meta.dirname ?? ".", "../..");
const REMOTE = "/clients.bin";
const WARM = "/warm.bin";
const UPLOAD = "/clients-up.bin";

/** A client under test: the command lines of a get and of a put. */
interface _Tool {
  name: string;
  get(url: string, local: string): string[];
  put(local: string, url: string): string[];
}

function _lftp(script: (file: string, remote: string) => string) {
  return (url: URL, file: string) => {
    const { username, password, host } = url;
    return [
      "lftp",
      "-c",
      "set cmd:fail-exit yes; set ftp:passive-mode on; set xfer:clobber on; " +
      `set net:max-retries 1; open -u ${username},${password} ftp://${host}; ` +
      script(file, url.pathname),
    ];
  };
}

const _lftpGet = _lftp((file, remote) => `get ${remote} -o ${file}`);
const _lftpPut = _lftp((file, remote) => `put ${file} -o ${remote}`);

const TOOLS: readonly _Tool[] = [
  {
    name: "ferry client",
    get: (url, local) => [
      Deno.execPath(),
      "run",
      "-A",
      `${REPO}/main.ts`,
      "client",
      "get",
      "-q",
      "--overwrite",
      url,
      local,
    ],
    put: (local, url) => [
      Deno.execPath(),
      "run",
      "-A",
      `${REPO}/main.ts`,
      "client",
      "put",
      "-q",
      "--overwrite",
      local,
      url,
    ],
  },
  {
    name: "curl",
    get: (url, local) => ["curl", "-sS", "-o", local, url],
    put: (local, url) => ["curl", "-sS", "-T", local, url],
  },
  {
    name: "lftp",
    get: (url, local) => _lftpGet(new URL(url), local),
    put: (local, url) => _lftpPut(new URL(url), local),
  },
];

async function _run(argv: string[]): Promise<number> {
  const [program, ...args] = argv;
  const { ms, value: output } = await timed(() =>
    new Deno.Command(program!, { args, stdin: "null", stdout: "null", stderr: "piped" }).output()
  );
  if (!output.success) {
    throw new Error(
      `${argv.slice(0, 6).join(" ")}… exited with ${output.code}: ${
        new TextDecoder().decode(output.stderr).trim()
      }`,
    );
  }
  return ms;
}

async function _writeLocal(file: string, size: number): Promise<void> {
  const block = patternBlock();
  using handle = await Deno.open(file, { write: true, create: true, truncate: true });
  for (let written = 0; written < size; written += block.length) {
    const part = block.subarray(0, Math.min(block.length, size - written));
    let offset = 0;
    while (offset < part.length) offset += await handle.write(part.subarray(offset));
  }
}

/** get and put of 1 GiB (128 MiB with --quick) by ferry client, curl and lftp, in seconds. */
export const clientsWorkload: Workload = {
  name: "clients",
  title: "ferry client vs curl and lftp: get and put 1 GiB from/to ferry (s per command)",
  async run(context: WorkloadContext): Promise<void> {
    const server = context.servers.find((each) => each.name === "ferry");
    if (!server) {
      context.log("  clients: skipped (needs the ferry server in --servers)");
      return;
    }
    const size = context.quick ? 128 * MiB : 1024 * MiB;
    const base = `ftp://${server.user}:${server.password}@${server.host}:${server.port}`;
    const local = await Deno.makeTempDir({ dir: context.tmp.dir, prefix: "ferry-bench-clients-" });
    const source = `${local}/source.bin`;
    const target = `${local}/target.bin`;
    await server.createFile(REMOTE, size);
    await server.createFile(WARM, MiB);
    await _writeLocal(source, size);
    try {
      for (const tool of TOOLS) await _run(tool.get(`${base}${WARM}`, target));
      for (let run = 0; run < context.runs; run++) {
        for (const tool of TOOLS) {
          const get = await _run(tool.get(`${base}${REMOTE}`, target));
          const got = (await Deno.stat(target)).size;
          if (got !== size) throw new Error(`${tool.name} got ${got} of ${size} bytes`);
          await Deno.remove(target);
          const put = await _run(tool.put(source, `${base}${UPLOAD}`));
          await server.remove(UPLOAD);
          const figure = { workload: "clients", unit: "s", better: "lower" } as const;
          context.record(
            { ...figure, metric: `get ${formatSize(size)}`, subject: tool.name },
            get / 1000,
          );
          context.record(
            { ...figure, metric: `put ${formatSize(size)}`, subject: tool.name },
            put / 1000,
          );
        }
      }
    } finally {
      await server.remove(REMOTE);
      await server.remove(WARM);
      await server.remove(UPLOAD);
      await Deno.remove(local, { recursive: true });
    }
  },
};
