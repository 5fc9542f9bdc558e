/**
 * The memory of a whole process tree, from /proc: a server's process and all
 * its descendants (vsftpd and pure-ftpd fork per session), each process's
 * VmRSS added up, and its proportional share (Pss) beside it, which does not
 * count pages the forked processes share once per process.
 *
 * @module
 */

/** What a process tree holds. */
export interface TreeMemory {
  /** How many processes the tree has. */
  processes: number;
  /** The sum of every process's VmRSS, in KiB. */
  rssKiB: number;
  /** The sum of every process's Pss, in KiB (0 where smaps_rollup is unreadable). */
  pssKiB: number;
}

async function _readText(path: string): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(path);
  } catch {
    return undefined; // the process ended meanwhile
  }
}

/** The parent pid from /proc/PID/stat (the field after the state, past the command's parens). */
function _parentPid(stat: string): number | undefined {
  const close = stat.lastIndexOf(")");
  if (close === -1) return undefined;
  const fields = stat.slice(close + 2).split(" ");
  const parent = Number(fields[1]);
  return Number.isInteger(parent) ? parent : undefined;
}

/**
 * The pid and every descendant's pid.
 *
 * @example
 * ```ts
 * const pids = await processTree(Deno.pid);
 * ```
 */
export async function processTree(pid: number): Promise<number[]> {
  const children = new Map<number, number[]>();
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    const stat = await _readText(`/proc/${entry.name}/stat`);
    if (stat === undefined) continue;
    const parent = _parentPid(stat);
    if (parent === undefined) continue;
    const list = children.get(parent) ?? [];
    list.push(Number(entry.name));
    children.set(parent, list);
  }
  const tree: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const next = queue.pop()!;
    tree.push(next);
    queue.push(...(children.get(next) ?? []));
  }
  return tree;
}

function _field(text: string | undefined, name: string): number {
  const match = text === undefined ? null : new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(text);
  return match ? Number(match[1]) : 0;
}

/**
 * The memory of `pid` and all its descendants.
 *
 * @example
 * ```ts ignore
 * const { rssKiB, processes } = await treeMemory(server.pid);
 * ```
 */
export async function treeMemory(pid: number): Promise<TreeMemory> {
  const pids = await processTree(pid);
  let rssKiB = 0;
  let pssKiB = 0;
  let processes = 0;
  for (const each of pids) {
    const status = await _readText(`/proc/${each}/status`);
    if (status === undefined) continue;
    processes++;
    rssKiB += _field(status, "VmRSS");
    pssKiB += _field(await _readText(`/proc/${each}/smaps_rollup`), "Pss");
  }
  return { processes, rssKiB, pssKiB };
}
