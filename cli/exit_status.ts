/**
 * A quiet request to end the program with a given exit code, for commands
 * that report their own outcome (the shell, a relaunched server). main.ts
 * turns it into the exit code without printing anything.
 *
 * @module
 */
/** A command that has already reported its outcome asks to end with this exit code, silently. */
export class ExitStatus extends Error {
  /** The exit code. */
  readonly exitCode: number;

  /** Creates the request for `exitCode`. */
  constructor(exitCode: number) {
    super(`Exit with status ${exitCode}`);
    this.name = "ExitStatus";
    this.exitCode = exitCode;
  }
}
