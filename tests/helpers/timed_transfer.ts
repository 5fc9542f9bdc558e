/**
 * A separate process that logs in, runs one download (RETR or a listing)
 * and reads it with 4 MiB reads as fast as it comes, printing the wall-clock
 * times (ms since the epoch) at which the transfer started and ended:
 * `start <ms>` and `end <ms> <bytes>`. A fast reader in its own process, so
 * that the test process can watch how the server treats other sessions.
 *
 * Usage: deno run --allow-net timed_transfer.ts PORT USER PASSWORD COMMAND
 *
 * @module
 */

import { BenchFtpClient } from "../../bench/ftp_bench_client.ts";

const [port, user, password, ...words] = Deno.args;
const client = await BenchFtpClient.connect("127.0.0.1", Number(port));
await client.login(user!, password!);
const [verb, path] = [words[0]!, words.slice(1).join(" ")];
console.log(`start ${Date.now()}`);
const bytes = verb === "RETR"
  ? await client.retrieve(path)
  : (await client.listing(verb, path))?.bytes ?? -1;
console.log(`end ${Date.now()} ${bytes}`);
await client.quit();
