/**
 * Stopping a child process a test started: a signal by PID, then SIGKILL
 * if it has not exited after a grace period.
 *
 * @module
 */

/**
 * Sends `signal` to `child`, SIGKILL after `graceMs` if it is still running,
 * and resolves once it has exited (at once if it was gone already).
 *
 * @example
 * ```ts ignore
 * await stopChild(child, "SIGINT", 20_000);
 * ```
 */
export async function stopChild(
  child: Deno.ChildProcess,
  signal: Deno.Signal = "SIGTERM",
  graceMs = 5_000,
): Promise<void> {
  try {
    child.kill(signal);
  } catch {
    // Already gone: its status is settled.
  }
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch {
      // Gone meanwhile.
    }
  }, graceMs);
  try {
    await child.status;
  } finally {
    clearTimeout(timer);
  }
}
