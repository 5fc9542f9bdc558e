/**
 * Starts the real `ferry` CLI as a child process for end-to-end tests.
 *
 * @module
 */

const main = new URL("../../main.ts", import.meta.url).pathname;

/** A running CLI child whose stdout lines are collected. */
export interface CliProcess {
  child: Deno.ChildProcess;
  /** Lines printed on stdout so far. */
  lines: string[];
  /** Lines printed on stderr so far. */
  errors: string[];
  /** Resolves when both output streams have ended. */
  drained: Promise<void>;
}

async function collect(stream: ReadableStream<Uint8Array>, into: string[]): Promise<void> {
  const lines = stream.pipeThrough(new TextDecoderStream());
  let rest = "";
  for await (const chunk of lines) {
    rest += chunk;
    const parts = rest.split("\n");
    rest = parts.pop() ?? "";
    into.push(...parts);
  }
  if (rest) into.push(rest);
}

/** Starts `deno run <permissions> main.ts <args>`, draining stdout and stderr. */
export function startCli(args: string[], permissions: string[] = ["--allow-all"]): CliProcess {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...permissions, main, ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const lines: string[] = [];
  const errors: string[] = [];
  const drained = Promise.all([collect(child.stdout, lines), collect(child.stderr, errors)])
    .then(() => {});
  return { child, lines, errors, drained };
}

/** Waits (up to 20 s) for the first stdout line, the server's ready line. */
export async function readReadyLine(cli: CliProcess): Promise<string> {
  const deadline = Date.now() + 20_000;
  while (cli.lines.length === 0) {
    if (Date.now() > deadline) {
      cli.child.kill();
      throw new Error(`No ready line; stderr: ${cli.errors.join("\n")}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return cli.lines[0]!;
}

/**
 * Starts `ferry serve` on 127.0.0.1, port 0, serving `dir`/srv with the
 * given credentials file; `extra` adds serve options.
 */
export function startServe(
  dir: string,
  credentials: string,
  options: { extra?: string[]; permissions?: string[] } = {},
): CliProcess {
  return startCli(serveArgs(dir, credentials, options.extra), options.permissions);
}

/** The arguments of `ferry serve` on 127.0.0.1, port 0, serving `dir`/srv, plus `extra`. */
export function serveArgs(dir: string, credentials: string, extra: string[] = []): string[] {
  return [
    "serve",
    "--port",
    "0",
    "--host",
    "127.0.0.1",
    "--root",
    `${dir}/srv`,
    "--credentials",
    credentials,
    ...extra,
  ];
}
