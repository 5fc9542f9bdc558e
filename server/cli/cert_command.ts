/**
 * `ferry cert make`: writes a self-signed certificate and private key for a
 * quick FTPS set-up, made by the `selfsigned` library (no hand-rolled ASN.1).
 *
 * @module
 */

import { isIP } from "node:net";
import { CommandError, EXIT_FAILURE } from "../../cli/command_error.ts";

/** Thrown when the files cannot be written; the message says why. */
export class CertCommandError extends CommandError {
  /** Creates the error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, EXIT_FAILURE, options);
    this.name = "CertCommandError";
  }
}

/** Options for {@linkcode makeCertificate}. */
export interface CertOptions {
  /**
   * The certificate file to write.
   * @default {"cert.pem"}
   */
  outCert?: string;
  /**
   * The private key file to write (mode 0600).
   * @default {"key.pem"}
   */
  outKey?: string;
  /**
   * DNS names and IP addresses to certify.
   * @default {["localhost", "127.0.0.1", "::1"]}
   */
  host?: string[];
  /**
   * Days the certificate is valid.
   * @default {"365"}
   */
  days?: string | number;
  /**
   * Overwrite existing files.
   * @default {false}
   */
  force?: boolean;
}

/** What {@linkcode makeCertificate} wrote. */
export interface MadeCertificate {
  cert: string;
  key: string;
  hosts: string[];
}

const DEFAULT_HOSTS = ["localhost", "127.0.0.1", "::1"];

/**
 * Generates a 2048-bit RSA key and a self-signed certificate naming the
 * hosts (subjectAltName), and writes them as PEM; the key with mode 0600.
 *
 * @example
 * ```ts ignore
 * await makeCertificate({ outCert: "cert.pem", outKey: "key.pem", host: ["ftp.example"] });
 * ```
 */
export async function makeCertificate(options: CertOptions = {}): Promise<MadeCertificate> {
  const certFile = options.outCert ?? "cert.pem";
  const keyFile = options.outKey ?? "key.pem";
  const hosts = options.host && options.host.length > 0 ? options.host : DEFAULT_HOSTS;
  const days = Number(options.days ?? 365);
  if (!Number.isInteger(days) || days < 1 || days > 36500) {
    throw new RangeError(`Invalid --days "${options.days}", expected an integer 1-36500`);
  }
  for (const host of hosts) {
    if (
      isIP(host) === 0 && !/^[A-Za-z0-9*]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9-]+)*$/.test(host)
    ) {
      throw new RangeError(`Invalid --host "${host}", expected a DNS name or IP address`);
    }
  }
  const altNames = hosts.map((host) =>
    isIP(host) === 0 ? { type: 2 as const, value: host } : { type: 7 as const, ip: host }
  );
  if (!options.force) {
    for (const file of [certFile, keyFile]) {
      if (await Deno.lstat(file).then(() => true, () => false)) {
        throw new CertCommandError(`${file} exists; use --force to overwrite`);
      }
    }
  }
  const notBeforeDate = new Date(Date.now() - 60_000);
  const notAfterDate = new Date(notBeforeDate.getTime() + days * 86_400_000);
  // Loaded on use: the library takes ~180 ms to load, which every other command would pay.
  const { default: selfsigned } = await import("selfsigned");
  const pems = await selfsigned.generate([{ name: "commonName", value: hosts[0]! }], {
    notBeforeDate,
    notAfterDate,
    keySize: 2048,
    algorithm: "sha256",
    extensions: [
      { name: "basicConstraints", cA: false },
      { name: "keyUsage", digitalSignature: true, keyEncipherment: true },
      { name: "extKeyUsage", serverAuth: true },
      { name: "subjectAltName", altNames },
    ],
  });
  try {
    await Deno.writeTextFile(keyFile, pems.private, { mode: 0o600 });
    await Deno.chmod(keyFile, 0o600); // an existing file keeps its mode otherwise
    await Deno.writeTextFile(certFile, pems.cert, { mode: 0o644 });
  } catch (error) {
    throw new CertCommandError(`Cannot write the certificate: ${(error as Error).message}`, {
      cause: error,
    });
  }
  return { cert: certFile, key: keyFile, hosts };
}
