/**
 * What main.ts reports: a command's failure with the message to print
 * (`ferry: …`) and the exit code to end with. {@linkcode CommandFailure} is
 * the shape main.ts checks, so it need not load a command's modules to
 * report its errors; {@linkcode CommandError} is the plain class most
 * commands extend. An error class that must extend another one (the
 * client's `FtpReplyError` is the protocol's `ReplyError`) implements
 * {@linkcode CommandFailure} instead.
 *
 * @module
 */

/** Exit code for a failed command that has no more specific code. */
export const EXIT_FAILURE = 1;

/** A command's failure: main.ts prints `ferry: <message>` and exits with `exitCode`. */
export interface CommandFailure extends Error {
  /** The exit code the program ends with. */
  readonly exitCode: number;
}

/**
 * Whether `error` is a {@linkcode CommandFailure}: an `Error` with an
 * integer `exitCode`. Structural, so any command's error class qualifies
 * without main.ts importing it. Other errors carry an `exitCode` too
 * (commander's, `ExitStatus`): check for those first.
 *
 * @example
 * ```ts
 * isCommandFailure(new CommandError("Bad input", 2)); // true
 * isCommandFailure(new Error("boom")); // false
 * ```
 */
export function isCommandFailure(error: unknown): error is CommandFailure {
  return error instanceof Error &&
    Number.isInteger((error as { exitCode?: unknown }).exitCode);
}

/** A command failed; main.ts prints `ferry: <message>` and exits with `exitCode`. */
export class CommandError extends Error implements CommandFailure {
  /** The exit code the program ends with. */
  readonly exitCode: number;

  /** Creates the error with its exit code (default {@linkcode EXIT_FAILURE}). */
  constructor(message: string, exitCode: number = EXIT_FAILURE, options?: ErrorOptions) {
    super(message, options);
    this.name = "CommandError";
    this.exitCode = exitCode;
  }
}
