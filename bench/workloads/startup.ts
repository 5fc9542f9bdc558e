/**
 * Workload 8: start-up, the cost a script pays for every `ferry client get`
 * in a loop. Whole processes, timed from spawn to exit, in turn (A B C A B C
 * …) after warm-up runs: an empty `deno run` program (the floor any Deno
 * program pays), `ferry client get` of a 3-byte file from the ferry server,
 * `curl` getting the same file, and `ferry --version`. ferry runs as the
 * installed command does (`deno task install`): with
 * `--unstable-lazy-dynamic-imports`, so that start-up does not walk the
 * modules of commands it does not run (the server, commander).
 *
 * @module
 */

import * as path from "node:path";
import { timed, type Workload, type WorkloadContext } from "../workload.ts";

const REPO = path.resolve(import.meta.dirname ?? ".", "../..");
const SMALL = "/startup.txt";
const WARM_UP = 3;
/** Counted runs of each command: start-up figures are short and noisy, so more than the rest. */
const RUNS = 20;

/** The subject names of the start-up table. */
export const STARTUP_SUBJECTS = ["empty deno run", "ferry", "curl"] as const;

async function _run(argv: readonly string[]): Promise<number> {
  const [program, ...args] = argv;
  const { ms, value: output } = await timed(() =>
    new Deno.Command(program!, { args, stdin: "null", stdout: "null", stderr: "piped" }).output()
  );
  if (!output.success) {
    throw new Error(
      `${argv.join(" ")} exited with ${output.code}: ${
        new TextDecoder().decode(output.stderr).trim()
      }`,
    );
  }
  return ms;
}

/** Whole-process time of the empty program, `ferry client get`, curl and `ferry --version`, in ms. */
export const startupWorkload: Workload = {
  name: "startup",
  title: "start-up: ferry client get of 3 bytes and ferry --version beside an empty " +
    "deno run program and curl (ms per process)",
  async run(context: WorkloadContext): Promise<void> {
    const server = context.servers.find((each) => each.name === "ferry");
    if (!server) {
      context.log("  startup: skipped (needs the ferry server in --servers)");
      return;
    }
    const local = await Deno.makeTempDir({ dir: context.tmp.dir, prefix: "ferry-bench-startup-" });
    const empty = `${local}/empty.ts`;
    await Deno.writeTextFile(empty, "");
    await server.createFile(SMALL, 3);
    const url = `ftp://${server.user}:${server.password}@${server.host}:${server.port}${SMALL}`;
    const deno = Deno.execPath();
    const main = `${REPO}/main.ts`;
    const ferry = [deno, "run", "--unstable-lazy-dynamic-imports", "-A", main];
    const commands: { metric: string; subject: string; argv: string[] }[] = [
      { metric: "get 3 B", subject: "empty deno run", argv: [deno, "run", "-A", empty] },
      {
        metric: "get 3 B",
        subject: "ferry",
        argv: [...ferry, "client", "get", "-q", "--overwrite", url, `${local}/f`],
      },
      { metric: "get 3 B", subject: "curl", argv: ["curl", "-sS", "-o", `${local}/c`, url] },
      { metric: "--version", subject: "empty deno run", argv: [deno, "run", "-A", empty] },
      { metric: "--version", subject: "ferry", argv: [...ferry, "--version"] },
    ];
    try {
      for (let i = 0; i < WARM_UP; i++) {
        for (const command of commands) await _run(command.argv);
      }
      const figure = { workload: "startup", unit: "ms", better: "lower" } as const;
      for (let run = 0; run < Math.max(RUNS, context.runs); run++) {
        for (const { metric, subject, argv } of commands) {
          context.record({ ...figure, metric, subject }, await _run(argv));
        }
      }
      if ((await Deno.readTextFile(`${local}/f`)).length !== 3) {
        throw new Error("ferry client get did not write the 3 bytes");
      }
    } finally {
      await server.remove(SMALL);
      await Deno.remove(local, { recursive: true });
    }
  },
};
