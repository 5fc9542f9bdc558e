/**
 * How much starting hook processes holds up the server's event loop: the
 * lag of a 1 ms timer loop while 60 `/bin/true` hooks run four at a time,
 * started on the main thread and then on the hooks' worker thread
 * ({@linkcode CommandThread}).
 *
 * ```
 * deno run --allow-all bench/hook_spawn_lag.ts
 * ```
 *
 * @module
 */

import { CommandThread } from "../server/hooks/command_thread.ts";
async function lagDuring(work: () => Promise<void>): Promise<number[]> {
  const lags: number[] = [];
  let running = true;
  const probe = (async () => {
    while (running) {
      const t = performance.now();
      await new Promise((r) => setTimeout(r, 1));
      lags.push(performance.now() - t - 1);
    }
  })();
  await work();
  running = false;
  await probe;
  return lags.sort((a, b) => a - b);
}
const N = 60;
const direct = await lagDuring(async () => {
  const running: Promise<unknown>[] = [];
  for (let i = 0; i < N; i++) {
    const c = new Deno.Command("/bin/true", { stdin: "null", stdout: "piped", stderr: "piped" })
      .spawn();
    running.push(Promise.all([c.status, c.stdout.cancel(), c.stderr.cancel()]));
    if (running.length >= 4) await running.shift();
    await new Promise((r) => setTimeout(r, 0));
  }
  await Promise.all(running);
});
const thread = new CommandThread();
await thread.run(["/bin/true"], {}, 5000); // start the worker first
const worker = await lagDuring(async () => {
  const running: Promise<unknown>[] = [];
  for (let i = 0; i < N; i++) {
    running.push(thread.run(["/bin/true"], {}, 5000));
    if (running.length >= 4) await running.shift();
    await new Promise((r) => setTimeout(r, 0));
  }
  await Promise.all(running);
});
thread.close();
const q = (a: number[], p: number) =>
  a[Math.min(a.length - 1, Math.floor(a.length * p))]!.toFixed(1);
console.log(
  `main-thread spawn: event-loop lag p50 ${q(direct, 0.5)} p99 ${q(direct, 0.99)} max ${
    q(direct, 1)
  } ms`,
);
console.log(
  `worker spawn:      event-loop lag p50 ${q(worker, 0.5)} p99 ${q(worker, 0.99)} max ${
    q(worker, 1)
  } ms`,
);
