/**
 * The one error type main.ts reports: a command's failure with the message to
 * print (`ferry: …`) and the exit code to end with. Each command's own error
 * class extends it, so main.ts need not load a command's modules to report it.
 *
 * @module
 */

/** Exit code for a failed command that has no more specific code. */
export const EXIT_FAILURE = 1;

/** A command failed; main.ts prints `ferry: <message>` and exits with `exitCode`. */
export class CommandError extends Error {
  /** The exit code the program ends with. */
  readonly exitCode: number;

  /** Creates the error with its exit code (default {@linkcode EXIT_FAILURE}). */
  constructor(message: string, exitCode: number = EXIT_FAILURE, options?: ErrorOptions) {
    super(message, options);
    this.name = "CommandError";
    this.exitCode = exitCode;
  }
}
