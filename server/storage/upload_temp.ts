/**
 * Temporary names for `--atomic-uploads`, unique per instance and session so
 * that several ferry instances can serve one shared root (NFS, CephFS, a
 * cluster filesystem): `.NAME.ferry-upload-HOST-PID-RAND-SESSION-XXXXXXXX`.
 * The host name is used when the server may read it (`--allow-sys=hostname`);
 * the process id and a random tag drawn at start-up tell instances apart
 * either way, the session id and 32 random bits tell uploads apart. The file
 * is created with O_EXCL, so even a clash could never share a file.
 *
 * @module
 */

import { posix } from "node:path";

const UPLOAD_TEMP = /^\..*\.ferry-upload-(?:[A-Za-z0-9-]{1,96}-)?[0-9a-f]{8}$/s;

function hex(bytes: number): string {
  return Array.from(
    crypto.getRandomValues(new Uint8Array(bytes)),
    (byte) => byte.toString(16).padStart(2, "0"),
  ).join("");
}

function hostTag(): string {
  try {
    if (Deno.permissions.querySync({ name: "sys", kind: "hostname" }).state !== "granted") {
      return "";
    }
    const name = Deno.hostname().replace(/[^A-Za-z0-9-]/g, "-").replace(/^-+|-+$/g, "");
    return name === "" ? "" : `${name.slice(0, 40)}-`;
  } catch {
    return "";
  }
}

/** This process's part of every temporary name: host (when readable), PID and a random tag. */
export const INSTANCE_TAG: string = `${hostTag()}${Deno.pid}-${hex(3)}`;

/**
 * True for the name of an `--atomic-uploads` temporary file: hidden from
 * listings and refused as a name.
 *
 * @example
 * ```ts
 * isUploadTemp(".report.pdf.ferry-upload-web1-4242-a1b2c3-7-0badcafe"); // true
 * isUploadTemp(".report.pdf.ferry-upload-0badcafe"); // true (older ferry)
 * ```
 */
export function isUploadTemp(name: string): boolean {
  return UPLOAD_TEMP.test(name);
}

/**
 * A fresh temporary name beside `path` for session `session`'s atomic upload
 * (the target's name cut to 150 bytes, so the whole stays under NAME_MAX).
 *
 * @example
 * ```ts
 * uploadTempPath("/docs/report.pdf", 7); // "/docs/.report.pdf.ferry-upload-web1-4242-a1b2c3-7-5f3e9a01"
 * ```
 */
export function uploadTempPath(path: string, session: number): string {
  const name = posix.basename(path).slice(0, 150);
  return posix.join(
    posix.dirname(path),
    `.${name}.ferry-upload-${INSTANCE_TAG}-${session}-${hex(4)}`,
  );
}
