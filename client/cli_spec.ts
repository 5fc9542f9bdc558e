/**
 * The `ferry client …` commands as data: each command's arguments, flags
 * and help lines. `client/cli.ts` parses a command line against it (with
 * `node:util`'s `parseArgs`) and `client/cli_help.ts` prints help from it,
 * so a flag is declared once.
 *
 * @module
 */

/** One flag. */
export interface OptionSpec {
  /** The long name without dashes ("skip-existing"); the value's key is its camelCase. */
  long: string;
  /** One-letter alias. */
  short?: string;
  /** The value's placeholder ("<n>") when the flag takes a value; absent for a switch. */
  value?: string;
  /** The help line. */
  description: string;
  /** The allowed values. */
  choices?: readonly string[];
  /** The value when the flag is absent. */
  default?: string | number;
  /** Turns the text into the value; throws a `RangeError` whose message says what is allowed. */
  parse?: (text: string) => number;
}

/** One `ferry client` command. */
export interface CommandSpec {
  /** The command word. */
  name: string;
  /** The arguments as help shows them: `<url> [local]`, `<files...>`. */
  args: string;
  /** The usage line after the command word, when it says more than the arguments. */
  usage?: string;
  /** The help text. */
  description: string;
  /** The flags it takes. */
  options: readonly OptionSpec[];
}

function positiveInteger(value: string): number {
  const number = Number(value);
  if (!Number.isSafeInteger(number) || number < 1) {
    throw new RangeError("Must be a whole number of 1 or more.");
  }
  return number;
}

function seconds(value: string): number {
  const number = Number(value);
  if (!Number.isFinite(number) || number <= 0) {
    throw new RangeError("Must be a number of seconds above 0.");
  }
  return number;
}

const TIMEOUT: OptionSpec = {
  long: "timeout",
  value: "<seconds>",
  description: "connect and reply timeout",
  parse: seconds,
  default: 30,
};
const CA_FILE: OptionSpec = {
  long: "ca-file",
  value: "<file>",
  description: "also trust the certificates in this PEM file",
};

/** `--verify` of get and put. */
const VERIFY: OptionSpec = {
  long: "verify",
  description: "compare the server's checksum with the local file's afterwards",
};

/** The flags every client command but `shell` takes. */
const COMMON: readonly OptionSpec[] = [
  {
    long: "user",
    value: "<name[:pass]>",
    description: "log in as this user (the URL's user wins)",
  },
  { long: "active", description: "active mode data connections (EPRT, then PORT)" },
  {
    long: "type",
    value: "<type>",
    description: "representation type; auto picks per file",
    choices: ["binary", "ascii", "auto"],
    default: "binary",
  },
  { long: "overwrite", description: "replace an existing destination" },
  { long: "skip-existing", description: "leave an existing destination alone" },
  { long: "rename", description: "keep both: write to NAME.1.EXT, NAME.2.EXT, …" },
  { long: "continue", short: "c", description: "resume into an existing destination (REST)" },
  {
    long: "parallel",
    value: "<n>",
    description: "sessions for several files or a tree",
    parse: positiveInteger,
    default: 1,
  },
  { long: "quiet", short: "q", description: "no progress bar or notices" },
  {
    long: "verbose",
    short: "v",
    description: "print the control dialogue on stderr (passwords masked)",
  },
  TIMEOUT,
  {
    long: "tls",
    description: "explicit FTPS on ftp:// URLs: AUTH TLS, then PROT P (ftps:// is implicit)",
  },
  CA_FILE,
  { long: "insecure", description: "do not verify the server's TLS certificate (warns)" },
];

/** What `ferry client --help` says first. */
export const CLIENT_DESCRIPTION = "FTP client commands: URLs are " +
  "ftp://[user[:password]@]host[:port]/path " +
  "(ftps://… for implicit FTPS, port 990; --tls for explicit FTPS).";

/** The client commands, in the order help lists them. */
export const CLIENT_COMMANDS: readonly CommandSpec[] = [
  {
    name: "get",
    args: "<url> [local]",
    description: "Download a remote file (to LOCAL, or into LOCAL if it is a directory).",
    options: [...COMMON, VERIFY],
  },
  {
    name: "put",
    args: "<files...>",
    usage: "[options] <local...> <url>",
    description: 'Upload files: several into a directory URL ending in "/", one to a file URL.',
    options: [...COMMON, VERIFY],
  },
  {
    name: "hash",
    args: "<urls...>",
    description: "Print the server's checksum of remote files as sha256sum does: HEX  NAME.",
    options: [
      ...COMMON,
      {
        long: "algo",
        value: "<name>",
        description: "checksum algorithm",
        choices: ["sha256", "sha1", "sha512", "md5", "crc32"],
        default: "sha256",
      },
    ],
  },
  {
    name: "ls",
    args: "<url>",
    description: "List a remote directory: names, or -l lines, or --json.",
    options: [
      ...COMMON,
      { long: "long", short: "l", description: "ls -l style lines" },
      { long: "json", description: "a JSON array of {name, type, size, mtime}" },
    ],
  },
  { name: "cat", args: "<url>", description: "Write a remote file to stdout.", options: COMMON },
  {
    name: "mkdir",
    args: "<url>",
    description: "Make a remote directory.",
    options: [
      ...COMMON,
      {
        long: "parents",
        short: "p",
        description: "make missing parents; an existing directory is fine",
      },
    ],
  },
  { name: "rm", args: "<url>", description: "Delete a remote file.", options: COMMON },
  {
    name: "rmdir",
    args: "<url>",
    description: "Remove an empty remote directory.",
    options: COMMON,
  },
  {
    name: "mv",
    args: "<url> <newpath>",
    description: "Rename on the server; NEWPATH is absolute or relative to the URL's directory.",
    options: COMMON,
  },
  {
    name: "stat",
    args: "<url>",
    description: "Show a remote path's type, size and modification time.",
    options: [...COMMON, { long: "json", description: "print a JSON object" }],
  },
  {
    name: "mirror",
    args: "<source> <target>",
    usage: "[options] <url> <dir>  |  -R [options] <dir> <url>",
    description: "Mirror a remote tree into DIR (or DIR to the server with -R), moving only " +
      "files whose size or time differ.",
    options: [
      ...COMMON,
      { long: "reverse", short: "R", description: "upload: mirror the local DIR to the URL" },
      { long: "delete", description: "delete target files and directories the source lacks" },
    ],
  },
  {
    name: "shell",
    args: "[url]",
    description: "Interactive shell (open, ls, cd, get, put, mget, mput, …; `help` lists them). " +
      "With a script on stdin it stops at the first failing line.",
    options: [
      TIMEOUT,
      {
        long: "tls",
        description: "explicit FTPS (AUTH TLS) for hosts and ftp:// URLs (set tls on)",
      },
      CA_FILE,
      { long: "insecure", description: "do not verify FTPS certificates (warns)" },
      { long: "quiet", short: "q", description: "no --insecure warning" },
    ],
  },
  {
    name: "ui",
    args: "[url]",
    description: "Browser client: a local web app on loopback (two panes, transfer queue, " +
      "command log); prints a one-time link and opens the browser.",
    options: [
      {
        long: "local",
        value: "<dir>",
        description: "local folder the page shows and is jailed to",
        default: ".",
      },
      {
        long: "listen",
        value: "<addr:port>",
        description: "loopback address and port to serve on",
        default: "127.0.0.1:0",
      },
      { long: "no-open", description: "do not open a browser, only print the link" },
      {
        long: "parallel",
        value: "<n>",
        description: "transfers at once, each on its own session",
        parse: positiveInteger,
        default: 2,
      },
      CA_FILE,
      TIMEOUT,
    ],
  },
  {
    name: "quote",
    args: "<url> <command...>",
    description: "Send a raw command and print the reply (exit non-zero on 4xx/5xx).",
    options: COMMON,
  },
];

/** The help flag every command takes. */
export const HELP_OPTION: OptionSpec = {
  long: "help",
  short: "h",
  description: "display help for command",
};
