/**
 * CPU time a server has used, read from `/proc/PID/stat` (user + system,
 * every thread): what a workload costs the server regardless of how long
 * the shared machine made it wait. Only ferry and its variants are one
 * process; the peers fork per session, so their figures would miss most
 * of the work, and none are given for them.
 *
 * @module
 */

import { type BenchServer, isFerry } from "./bench_server.ts";

let _ticksPerSecond: number | undefined;

async function _clockTicks(): Promise<number> {
  if (_ticksPerSecond === undefined) {
    const output = await new Deno.Command("getconf", { args: ["CLK_TCK"], stdout: "piped" })
      .output()
      .catch(() => undefined);
    const value = Number(new TextDecoder().decode(output?.stdout ?? new Uint8Array()).trim());
    _ticksPerSecond = Number.isFinite(value) && value > 0 ? value : 100;
  }
  return _ticksPerSecond;
}

/**
 * The CPU time (user + system) process `pid` has used so far, in
 * milliseconds (to the kernel's clock tick, usually 10 ms).
 *
 * @example
 * ```ts
 * const before = await processCpuMs(Deno.pid);
 * ```
 */
export async function processCpuMs(pid: number): Promise<number> {
  const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
  // The command name (field 2) may hold spaces: count the fields after its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]); // utime and stime, fields 14 and 15
  return (ticks * 1000) / await _clockTicks();
}

/**
 * Measures the CPU time `server` spends while `action` runs, for ferry and
 * its variants; undefined for the peers (see the module's note).
 *
 * @example
 * ```ts ignore
 * const { cpuMs } = await serverCpu(server, () => client.retrieve("/big.bin"));
 * ```
 */
export async function serverCpu<T>(
  server: BenchServer,
  action: () => Promise<T>,
): Promise<{ value: T; cpuMs: number | undefined }> {
  if (!isFerry(server.name)) return { value: await action(), cpuMs: undefined };
  const before = await processCpuMs(server.pid);
  const value = await action();
  return { value, cpuMs: (await processCpuMs(server.pid)) - before };
}
