"""Downloads one file from a ferry server over explicit FTPS (PROT P), pausing after PASV.

Usage: ftps_paused_retr_driver.py PORT TLS_VERSION(1.2|1.3) FILE

Logs in as alice, sends PBSZ 0, PROT P, TYPE I and PASV, prints the passive
port as one JSON line and waits for a line on stdin (the test does something
to that port meanwhile). Then it connects, sends RETR FILE, makes the data
connection TLS resuming the control connection's session (as ferry requires)
and prints one JSON line: both replies, the bytes (hex) and whether the
session was reused, or the error that stopped it.
"""

import ftplib
import json
import os
import socket
import ssl
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "helpers"))
from ftps_session import login, report_and_quit  # noqa: E402

port, version, name = int(sys.argv[1]), sys.argv[2], sys.argv[3]

ftp = login(port, version)
ftp.voidcmd("TYPE I")
_, data_port = ftplib.parse227(ftp.sendcmd("PASV"))
print(json.dumps({"port": data_port}), flush=True)
sys.stdin.readline()

result = {}
try:
    conn = socket.create_connection(("127.0.0.1", data_port), timeout=20)
    result["preliminary"] = ftp.sendcmd(f"RETR {name}")
    conn = ftp.context.wrap_socket(conn, server_hostname="127.0.0.1", session=ftp.sock.session)
    result["reused"] = conn.session_reused
    chunks = []
    while chunk := conn.recv(65536):
        chunks.append(chunk)
    try:
        conn.unwrap()
    except (OSError, ssl.SSLError):
        pass
    conn.close()
    result["data"] = b"".join(chunks).hex()
    result["final"] = ftp.getresp()
except (OSError, EOFError, ssl.SSLError, ftplib.Error) as error:
    result["error"] = f"{type(error).__name__}: {error}"
report_and_quit(ftp, result)
