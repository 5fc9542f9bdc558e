/**
 * Events and hooks: commands and webhooks run on login, upload, download,
 * delete, rename, mkdir, rmdir, logout…, and pre-upload / pre-delete checks
 * that may refuse the operation.
 *
 * @module
 */

export * from "./command_thread.ts";
export * from "./command_worker.ts";
export * from "./hook_config.ts";
export * from "./hook_event.ts";
export * from "./hook_runner.ts";
export * from "./hook_stats.ts";
export * from "./pre_hook.ts";
export * from "./reply_line.ts";
export * from "./run_hook.ts";
