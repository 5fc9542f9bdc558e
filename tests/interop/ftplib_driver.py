"""Drives an FTP server with Python's ftplib for ferry's interop tests.

Usage: python3 ftplib_driver.py '<json>' where the JSON is
  {"host": "::1", "port": 2121, "user": "alice", "password": "...",
   "passive": true, "ops": [["list", "docs folder"], ...]}

Logs in, runs each operation in order, quits, and prints one JSON object:
  {"results": [...one per op...], "commands": [...every line sent...]}
On an error it prints {"error": "...", "commands": [...]} and exits with 1.
"""

import base64
import ftplib
import json
import sys


class RecordingFTP(ftplib.FTP):
    """An FTP client that remembers every command line it sends."""

    def __init__(self, *args, **kwargs):
        self.sent = []
        super().__init__(*args, **kwargs)

    def putcmd(self, line):
        self.sent.append("PASS ****" if line.upper().startswith("PASS ") else line)
        super().putcmd(line)


def read_all(conn):
    chunks = []
    while True:
        chunk = conn.recv(65536)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def run_op(ftp, op, args):
    if op == "pwd":
        return ftp.pwd()
    if op == "cwd":
        return ftp.cwd(args[0])
    if op == "list":
        lines = []
        ftp.retrlines("LIST " + args[0] if args else "LIST", lines.append)
        return lines
    if op == "nlst":
        return ftp.nlst(*args)
    if op == "mlsd":
        return [[name, facts] for name, facts in ftp.mlsd(args[0] if args else "")]
    if op == "size":
        ftp.voidcmd("TYPE I")
        return ftp.size(args[0])
    if op == "stor":
        local, remote = args
        with open(local, "rb") as f:
            return ftp.storbinary("STOR " + remote, f)
    if op == "retr":
        remote, local = args
        with open(local, "wb") as f:
            return ftp.retrbinary("RETR " + remote, f.write)
    if op == "storlines":
        local, remote = args
        with open(local, "rb") as f:
            return ftp.storlines("STOR " + remote, f)
    if op == "retrlines":
        remote, local = args
        with open(local, "w", encoding="utf-8", newline="\n") as f:
            return ftp.retrlines("RETR " + remote, lambda line: f.write(line + "\n"))
    if op == "retr_ascii_raw":
        # The bytes exactly as they cross the data connection in TYPE A.
        ftp.voidcmd("TYPE A")
        conn = ftp.transfercmd("RETR " + args[0])
        with conn:
            data = read_all(conn)
        ftp.voidresp()
        return base64.b64encode(data).decode("ascii")
    if op == "retr_rest":
        remote, local, offset = args
        with open(local, "r+b") as f:
            f.seek(offset)
            f.truncate()
            return ftp.retrbinary("RETR " + remote, f.write, rest=offset)
    if op == "stor_rest":
        local, remote, offset = args
        with open(local, "rb") as f:
            f.seek(offset)
            return ftp.storbinary("STOR " + remote, f, rest=offset)
    if op == "rename":
        return ftp.rename(args[0], args[1])
    if op == "delete":
        return ftp.delete(args[0])
    if op == "mkd":
        return ftp.mkd(args[0])
    if op == "rmd":
        return ftp.rmd(args[0])
    if op == "sendcmd":
        return ftp.sendcmd(args[0])
    raise ValueError("unknown op " + op)


def main():
    spec = json.loads(sys.argv[1])
    ftp = RecordingFTP(timeout=spec.get("timeout", 20))
    try:
        ftp.connect(spec["host"], spec["port"])
        ftp.login(spec["user"], spec["password"])
        ftp.set_pasv(spec["passive"])
        results = [run_op(ftp, op[0], op[1:]) for op in spec["ops"]]
        ftp.quit()
    except Exception as error:  # report everything as JSON for the test
        print(json.dumps({"error": f"{type(error).__name__}: {error}", "commands": ftp.sent}))
        ftp.close()
        sys.exit(1)
    print(json.dumps({"results": results, "commands": ftp.sent}))


if __name__ == "__main__":
    main()
