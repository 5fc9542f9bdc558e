/**
 * Runs `ferry client …` as a child process for the client's end-to-end tests.
 *
 * @module
 */

import { type ProgramResult, runProgram } from "../helpers/run_program.ts";

const main = new URL("../../main.ts", import.meta.url).pathname;

/** What a finished CLI run printed and returned. */
export type CliResult = ProgramResult;

/** Options for {@linkcode runClient}. */
export interface RunOptions {
  cwd?: string;
  /** Environment overrides; HOME defaults to an empty directory so ~/.netrc is not read. */
  env?: Record<string, string>;
  /** Text fed to stdin (closed when absent). */
  stdin?: string;
  /**
   * Deno permission flags for the child.
   * @default {["--allow-all"]}
   */
  permissions?: string[];
}

let emptyHome: string | undefined;

/** Runs `deno run -A main.ts client <args>` (or other permissions) with stdin closed, up to 60 s. */
export async function runClient(args: string[], options: RunOptions = {}): Promise<CliResult> {
  emptyHome ??= await Deno.makeTempDir({ prefix: "ferry-home-" });
  return await runProgram(
    Deno.execPath(),
    ["run", ...(options.permissions ?? ["--allow-all"]), main, "client", ...args],
    {
      ...(options.stdin === undefined ? {} : { stdin: options.stdin }),
      cwd: options.cwd ?? Deno.cwd(),
      env: { HOME: emptyHome, ...options.env },
    },
  );
}

/** Every file under `dir` (relative POSIX path to bytes), directories as "dir/". */
export async function readTree(dir: string): Promise<Map<string, string>> {
  const tree = new Map<string, string>();
  const walk = async (relative: string) => {
    const names: string[] = [];
    for await (const entry of Deno.readDir(relative ? `${dir}/${relative}` : dir)) {
      names.push(entry.name);
    }
    for (const name of names.sort()) {
      const child = relative ? `${relative}/${name}` : name;
      const info = await Deno.stat(`${dir}/${child}`);
      if (info.isDirectory) {
        tree.set(`${child}/`, "");
        await walk(child);
      } else {
        const bytes = await Deno.readFile(`${dir}/${child}`);
        tree.set(child, Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(""));
      }
    }
  };
  await walk("");
  return tree;
}
