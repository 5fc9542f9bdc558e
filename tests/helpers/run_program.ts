/**
 * Runs a program to completion for a test: optional text on stdin (closed
 * at once otherwise), a timeout, and its exit code and output.
 *
 * @module
 */

/** Options for {@linkcode runProgram}. */
export interface RunProgramOptions {
  /** Text fed to stdin (stdin is closed when absent). */
  stdin?: string;
  /** Working directory (the test process's when absent). */
  cwd?: string;
  /** Environment overrides. */
  env?: Record<string, string>;
  /**
   * Kill the program after this long, in milliseconds.
   * @default {60000}
   */
  timeoutMs?: number;
}

/** What a finished program returned and printed. */
export interface ProgramResult {
  code: number;
  stdout: string;
  stdoutBytes: Uint8Array;
  stderr: string;
}

/**
 * Runs `program` with `args` and waits for it to exit.
 *
 * @example
 * ```ts ignore
 * const { code, stdout } = await runProgram("deno", ["--version"]);
 * ```
 */
export async function runProgram(
  program: string,
  args: string[],
  options: RunProgramOptions = {},
): Promise<ProgramResult> {
  const child = new Deno.Command(program, {
    args,
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(options.timeoutMs ?? 60_000),
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    ...(options.env === undefined ? {} : { env: options.env }),
  }).spawn();
  if (options.stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(options.stdin));
    await writer.close();
  }
  const output = await child.output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stdoutBytes: output.stdout,
    stderr: decoder.decode(output.stderr),
  };
}
