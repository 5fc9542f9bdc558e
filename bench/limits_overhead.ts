/**
 * The cost of limits that are set but not reached, without the noise of
 * whole transfers: what one small-file upload's quota bookkeeping costs
 * (`UploadQuota.begin`, one charged 4 KiB write, `settle`), and what one
 * 4 KiB write or read through a data connection paced by two rate caps far
 * above its speed costs, beside the same without limits, in microseconds.
 *
 * ```
 * deno run bench/limits_overhead.ts
 * ```
 *
 * @module
 */

import type { DataStream } from "../transport/data_stream.ts";
import type { StorageFile } from "../server/storage/storage.ts";
import { QuotaLedger } from "../server/user_limits/quota_ledger.ts";
import { chargedFile, UploadQuota } from "../server/user_limits/upload_quota.ts";
import { pacedStream } from "../server/user_limits/paced_stream.ts";
import { UserLimits } from "../server/user_limits/user_limits.ts";

const ROUNDS = 200_000;
const CHUNK = new Uint8Array(4096);

async function measure(label: string, step: (index: number) => Promise<void>): Promise<number> {
  for (let i = 0; i < 20_000; i++) await step(i); // warm up
  const started = performance.now();
  for (let i = 0; i < ROUNDS; i++) await step(i);
  const us = ((performance.now() - started) * 1000) / ROUNDS;
  console.log(`${label.padEnd(58)} ${us.toFixed(2).padStart(7)} µs`);
  return us;
}

const nullFile: StorageFile = {
  read: () => Promise.resolve(null),
  write: () => Promise.resolve(),
  close: () => {},
};
const nullConn: DataStream = {
  read: (buffer) => Promise.resolve(Math.min(buffer.length, CHUNK.length)),
  write: (data) => Promise.resolve(data.length),
  close: () => {},
};

if (import.meta.main) {
  const far = {
    quotaSize: 2 ** 40,
    quotaFiles: 10_000_000,
    uploadRate: 64 * 2 ** 30,
    downloadRate: 64 * 2 ** 30,
  };
  for (const [name, settings] of [["no limits", {}], ["limits set, not reached", far]] as const) {
    const ledger = new QuotaLedger(() => Promise.resolve({ bytes: 0, files: 0 }));
    ledger.limit("/", settings);
    const account = { ledger, home: "/", settings };
    await measure(`upload bookkeeping, ${name}`, async (i) => {
      const quota = await UploadQuota.begin(account, `/f${i % 2000}`, undefined, 0);
      await chargedFile(nullFile, quota).write(CHUNK);
      quota.settle();
    });
    const limits = new UserLimits({
      ...(name === "no limits" ? {} : { maxUploadRate: far.uploadRate }),
      ...(name === "no limits" ? {} : { maxDownloadRate: far.downloadRate }),
    });
    const signal = new AbortController().signal;
    const buffer = new Uint8Array(1 << 20);
    await measure(`data connection opened + 4 KiB written, ${name}`, async () => {
      const conn = pacedStream(nullConn, limits.buckets("bench", settings, "download"), signal);
      await conn.write(CHUNK);
    });
    await measure(`data connection opened + 4 KiB read, ${name}`, async () => {
      const conn = pacedStream(nullConn, limits.buckets("bench", settings, "upload"), signal);
      await conn.read(buffer);
    });
  }
}
