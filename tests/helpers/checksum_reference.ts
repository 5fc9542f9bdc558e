/**
 * Reference checksums from the system's own tools (coreutils' sha*sum,
 * md5sum and cksum, gzip's CRC-32, Python's zlib), and sparse test files made with
 * `truncate`, for the checksum tests.
 *
 * @module
 */

async function run(script: string, args: string[]): Promise<Uint8Array> {
  const output = await new Deno.Command("bash", {
    args: ["-c", script, "bash", ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (output.code !== 0) {
    throw new Error(`${script} failed: ${new TextDecoder().decode(output.stderr)}`);
  }
  return output.stdout;
}

/** Options for {@linkcode referenceHash}: a byte range of the file. */
export interface ReferenceRange {
  /** Bytes to skip. */
  skip?: number;
  /** Bytes to hash after them (the rest of the file when absent). */
  count?: number;
}

/**
 * The hex checksum `command` (sha256sum, sha1sum, sha512sum, md5sum) prints
 * for a file, or for a range of it cut with `tail -c` and `head -c`.
 */
export async function referenceHash(
  command: string,
  file: string,
  range: ReferenceRange = {},
): Promise<string> {
  const script = range.skip === undefined && range.count === undefined
    ? `${command} -- "$1"`
    : `tail -c +$(($2 + 1)) -- "$1" | ${
      range.count === undefined ? "cat" : `head -c $3`
    } | ${command}`;
  const out = await run(script, [file, String(range.skip ?? 0), String(range.count ?? 0)]);
  return new TextDecoder().decode(out).split(/\s/)[0]!;
}

/** The hex checksum `cksum -a ALGORITHM` prints for a file. */
export async function cksum(algorithm: string, file: string): Promise<string> {
  const out = await run(`cksum -a "$1" --untagged -- "$2"`, [algorithm, file]);
  return new TextDecoder().decode(out).split(/\s/)[0]!;
}

/** The CRC-32 gzip stores in its trailer for a file, as 8 hex digits. */
export async function crc32Reference(file: string): Promise<string> {
  const gz = await run(`gzip -c -- "$1"`, [file]);
  const crc = new DataView(gz.buffer, gz.byteOffset + gz.length - 8, 4).getUint32(0, true);
  return crc.toString(16).padStart(8, "0");
}

/** The CRC-32 of a file by Python's zlib (streamed: fast on multi-GiB files), as 8 hex digits. */
export async function crc32Python(file: string): Promise<string> {
  const script = "import sys, zlib\n" +
    "c = 0\n" +
    "with open(sys.argv[1], 'rb') as f:\n" +
    "    for block in iter(lambda: f.read(1 << 22), b''):\n" +
    "        c = zlib.crc32(block, c)\n" +
    "print('%08x' % c)\n";
  const out = await run(`python3 -c "$1" "$2"`, [script, file]);
  return new TextDecoder().decode(out).trim();
}

/**
 * Makes a sparse file of `size` bytes with `truncate -s`, with a few bytes
 * of data written at each offset in `dataAt`, so its checksum is not just
 * that of zeros.
 */
export async function makeSparseFile(path: string, size: number, dataAt: number[]): Promise<void> {
  await run(`truncate -s "$2" -- "$1"`, [path, String(size)]);
  const file = await Deno.open(path, { write: true });
  try {
    for (const offset of dataAt) {
      await file.seek(offset, Deno.SeekMode.Start);
      await file.write(
        new TextEncoder().encode(`ferry@${offset}`.slice(0, Math.min(32, size - offset))),
      );
    }
  } finally {
    file.close();
  }
}
