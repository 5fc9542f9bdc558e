/**
 * The system's OpenSSL (libssl 3) through Deno's FFI, for both sides of
 * ferry. The client needs it for what Deno's own TLS cannot do: resume a TLS
 * session (FTPS servers such as vsftpd, ProFTPD and ferry require every PROT
 * P data connection to resume the control connection's session, RFC 4217
 * §10.2; Deno 2.9's `node:tls` ignores the `session` option). The server
 * uses it to bind data connections to their own control connection's
 * session exactly, and to move TLS data without an allocation per record
 * (`node:tls` in Deno costs new buffers in several JS streams per record).
 *
 * Loading needs `--allow-ffi` (asked for without a prompt) and libssl 3 on
 * the machine; without either, {@linkcode loadOpenSsl} returns undefined and
 * both sides use `node:tls`.
 *
 * TLS runs over memory BIOs: the caller moves encrypted bytes between the
 * BIOs and any socket, so OpenSSL never touches a file descriptor.
 *
 * @module
 */

/**
 * Where libssl 3 is looked for, absolute paths first: a process whose
 * `--allow-ffi` names one library (the server's narrowed permissions) may
 * load only that path, and a bare name is then refused.
 */
function libraryCandidates(): string[] {
  const arch = Deno.build.arch;
  switch (Deno.build.os) {
    case "linux":
      return [
        `/usr/lib/${arch}-linux-gnu/libssl.so.3`,
        `/lib/${arch}-linux-gnu/libssl.so.3`,
        "/usr/lib64/libssl.so.3",
        "/lib64/libssl.so.3",
        "/usr/lib/libssl.so.3",
        "/usr/local/lib64/libssl.so.3",
        "/usr/local/lib/libssl.so.3",
        "libssl.so.3",
      ];
    case "darwin":
      return [
        "/opt/homebrew/opt/openssl@3/lib/libssl.3.dylib",
        "/usr/local/opt/openssl@3/lib/libssl.3.dylib",
        "libssl.3.dylib",
      ];
    case "windows":
      return ["libssl-3-x64.dll"];
    default:
      return [];
  }
}

const SYMBOLS = {
  TLS_client_method: { parameters: [], result: "pointer" },
  TLS_server_method: { parameters: [], result: "pointer" },
  SSL_CTX_new: { parameters: ["pointer"], result: "pointer" },
  SSL_CTX_free: { parameters: ["pointer"], result: "void" },
  SSL_CTX_up_ref: { parameters: ["pointer"], result: "i32" },
  SSL_CTX_use_certificate: { parameters: ["pointer", "pointer"], result: "i32" },
  SSL_CTX_use_PrivateKey: { parameters: ["pointer", "pointer"], result: "i32" },
  SSL_CTX_check_private_key: { parameters: ["pointer"], result: "i32" },
  SSL_CTX_set_options: { parameters: ["pointer", "u64"], result: "u64" },
  SSL_CTX_set_timeout: { parameters: ["pointer", "i64"], result: "i64" },
  SSL_set_accept_state: { parameters: ["pointer"], result: "void" },
  SSL_set_session_id_context: { parameters: ["pointer", "buffer", "u32"], result: "i32" },
  SSL_set_num_tickets: { parameters: ["pointer", "usize"], result: "i32" },
  PEM_read_bio_PrivateKey: {
    parameters: ["pointer", "pointer", "pointer", "buffer"],
    result: "pointer",
  },
  EVP_PKEY_free: { parameters: ["pointer"], result: "void" },
  SSL_CTX_ctrl: { parameters: ["pointer", "i32", "i64", "pointer"], result: "i64" },
  SSL_CTX_set_verify: { parameters: ["pointer", "i32", "pointer"], result: "void" },
  SSL_CTX_set_default_verify_paths: { parameters: ["pointer"], result: "i32" },
  SSL_CTX_get_cert_store: { parameters: ["pointer"], result: "pointer" },
  SSL_new: { parameters: ["pointer"], result: "pointer" },
  SSL_free: { parameters: ["pointer"], result: "void" },
  SSL_ctrl: { parameters: ["pointer", "i32", "i64", "buffer"], result: "i64" },
  SSL_set_bio: { parameters: ["pointer", "pointer", "pointer"], result: "void" },
  SSL_set_connect_state: { parameters: ["pointer"], result: "void" },
  SSL_set1_host: { parameters: ["pointer", "buffer"], result: "i32" },
  SSL_get0_param: { parameters: ["pointer"], result: "pointer" },
  SSL_do_handshake: { parameters: ["pointer"], result: "i32" },
  SSL_read: { parameters: ["pointer", "buffer", "i32"], result: "i32" },
  SSL_write: { parameters: ["pointer", "buffer", "i32"], result: "i32" },
  SSL_shutdown: { parameters: ["pointer"], result: "i32" },
  SSL_get_error: { parameters: ["pointer", "i32"], result: "i32" },
  SSL_version: { parameters: ["pointer"], result: "i32" },
  SSL_get_verify_result: { parameters: ["pointer"], result: "i64" },
  SSL_set_session: { parameters: ["pointer", "pointer"], result: "i32" },
  SSL_get1_session: { parameters: ["pointer"], result: "pointer" },
  SSL_session_reused: { parameters: ["pointer"], result: "i32" },
  SSL_SESSION_free: { parameters: ["pointer"], result: "void" },
  BIO_s_mem: { parameters: [], result: "pointer" },
  BIO_new: { parameters: ["pointer"], result: "pointer" },
  BIO_new_mem_buf: { parameters: ["buffer", "i32"], result: "pointer" },
  BIO_free: { parameters: ["pointer"], result: "i32" },
  BIO_read: { parameters: ["pointer", "buffer", "i32"], result: "i32" },
  BIO_write: { parameters: ["pointer", "buffer", "i32"], result: "i32" },
  BIO_ctrl: { parameters: ["pointer", "i32", "i64", "pointer"], result: "i64" },
  BUF_MEM_new: { parameters: [], result: "pointer" },
  PEM_read_bio_X509: {
    parameters: ["pointer", "pointer", "pointer", "pointer"],
    result: "pointer",
  },
  X509_free: { parameters: ["pointer"], result: "void" },
  X509_STORE_add_cert: { parameters: ["pointer", "pointer"], result: "i32" },
  X509_VERIFY_PARAM_set1_ip_asc: { parameters: ["pointer", "buffer"], result: "i32" },
  X509_verify_cert_error_string: { parameters: ["i64"], result: "pointer" },
  ERR_get_error: { parameters: [], result: "u64" },
  ERR_error_string_n: { parameters: ["u64", "buffer", "usize"], result: "void" },
  ERR_clear_error: { parameters: [], result: "void" },
} as const satisfies Deno.ForeignLibraryInterface;

/** The libssl functions ferry calls. */
export type OpenSslSymbols = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

/** `SSL_get_error` results that matter here. */
export const SslError = {
  /** The operation needs more bytes from the peer. */
  WantRead: 2,
  /** The peer sent close_notify. */
  ZeroReturn: 6,
} as const;

/** `SSL_CTX_ctrl`/`SSL_ctrl`/`BIO_ctrl` commands used here. */
export const Ctrl = {
  SetMinProtoVersion: 123,
  SetMaxProtoVersion: 124,
  SetTlsextHostname: 55,
  /** `SSL_CTX_add1_chain_cert` (with larg 1). */
  ChainCert: 89,
  /** `SSL_CTX_set_mode`. */
  Mode: 33,
  /** `SSL_CTX_sess_set_cache_size`. */
  SetSessCacheSize: 42,
  /** `SSL_CTX_sess_number`. */
  SessNumber: 20,
  BioPending: 10,
  /** `BIO_set_mem_buf`: a memory BIO takes a new buffer (with larg 1, freeing its old one). */
  SetBufMem: 114,
} as const;

/** TLS protocol version numbers, as OpenSSL takes them. */
export const TLS_VERSIONS: Record<string, number> = {
  "TLSv1.2": 0x0303,
  "TLSv1.3": 0x0304,
};

/** The name of a protocol version number `SSL_version` returns ("TLSv1.3"). */
export function versionName(version: number): string {
  for (const [name, number] of Object.entries(TLS_VERSIONS)) if (number === version) return name;
  return `0x${version.toString(16)}`;
}

/** What {@linkcode loadOpenSsl} found, once it has looked. */
interface Loaded {
  symbols: OpenSslSymbols | undefined;
  /** The library loaded (as named to `dlopen`), or why none was. */
  path?: string;
  reason?: string;
}

let loaded: Loaded | undefined;

function load(): Loaded {
  let allowed = false;
  for (const name of libraryCandidates()) {
    const path = name.includes("/") ? name : undefined;
    if (
      Deno.permissions.querySync({ name: "ffi", ...(path ? { path } : {}) }).state !== "granted"
    ) {
      continue;
    }
    allowed = true;
    try {
      return { symbols: Deno.dlopen(name, SYMBOLS).symbols, path: name };
    } catch {
      // not here; try the next place
    }
  }
  return {
    symbols: undefined,
    reason: allowed ? "libssl 3 was not found" : "Deno's --allow-ffi was not given",
  };
}

/**
 * The libssl 3 functions, or undefined when this process may not use FFI
 * (no `--allow-ffi` for libssl; never prompts) or no libssl 3 is installed.
 * Loaded once.
 *
 * @example
 * ```ts ignore
 * const ssl = loadOpenSsl();
 * if (ssl) console.log("TLS sessions can be resumed");
 * ```
 */
export function loadOpenSsl(): OpenSslSymbols | undefined {
  loaded ??= load();
  return loaded.symbols;
}

/**
 * Where libssl was loaded from (for a narrowed `--allow-ffi`), or why it was
 * not: `{ path }` or `{ reason }`.
 *
 * @example
 * ```ts ignore
 * const { path, reason } = openSslOrigin();
 * ```
 */
export function openSslOrigin(): { path?: string; reason?: string } {
  loaded ??= load();
  return loaded.path ? { path: loaded.path } : { reason: loaded.reason ?? "not loaded" };
}

/** A NUL-terminated copy of `text`, for C string parameters. */
export function cString(text: string): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(`${text}\0`);
}

/**
 * Reads a C string that OpenSSL owns (never freed here); undefined when this
 * process may load only libssl (`--allow-ffi=PATH`), which Deno does not let
 * read memory through a pointer.
 */
export function readCString(pointer: Deno.PointerValue): string | undefined {
  if (pointer === null) return "";
  try {
    return Deno.UnsafePointerView.getCString(pointer);
  } catch {
    return undefined;
  }
}

/**
 * Takes OpenSSL's queued errors and returns the last one as text
 * ("error:0A000086:SSL routines::certificate verify failed"), or undefined.
 */
export function takeErrorText(ssl: OpenSslSymbols): string | undefined {
  let last = 0n;
  for (let code = ssl.ERR_get_error(); code !== 0n; code = ssl.ERR_get_error()) last = code;
  if (last === 0n) return undefined;
  const buffer = new Uint8Array(256);
  ssl.ERR_error_string_n(last, buffer, BigInt(buffer.length));
  const end = buffer.indexOf(0);
  return new TextDecoder().decode(buffer.subarray(0, end < 0 ? buffer.length : end));
}
