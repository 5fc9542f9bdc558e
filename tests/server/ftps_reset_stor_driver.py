"""Uploads to a ferry server over explicit FTPS (PROT P) and ends the data connection.

Usage: ftps_reset_stor_driver.py PORT TLS_VERSION(1.2|1.3) NAME SIZE reset|clean|notify-reset

Logs in as alice, sends PBSZ 0, PROT P, TYPE I, PASV and STOR NAME, makes the
data connection TLS resuming the control connection's session, and sends
SIZE bytes (byte i is i * 7 % 256). Then "clean" sends close_notify and
closes; "reset" closes with SO_LINGER 0 and no close_notify, so the server
sees a TCP reset; "notify-reset" sends close_notify and a second later resets. Prints one JSON line: the final reply, or the error.
"""

import ftplib
import os
import socket
import ssl
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "helpers"))
from ftps_session import login, report_and_quit  # noqa: E402

port, version, name, size, mode = (
    int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5])

ftp = login(port, version)
ftp.voidcmd("TYPE I")
result = {}
try:
    _, data_port = ftplib.parse227(ftp.sendcmd("PASV"))
    conn = socket.create_connection(("127.0.0.1", data_port), timeout=20)
    result["preliminary"] = ftp.sendcmd(f"STOR {name}")
    conn = ftp.context.wrap_socket(conn, server_hostname="127.0.0.1", session=ftp.sock.session)
    conn.sendall(bytes(i * 7 % 256 for i in range(size)))
    if mode == "clean":
        conn.unwrap().close()
    elif mode == "notify-reset":
        # close_notify, then (once it has surely arrived) a reset: the server's records left
        # unread, as some clients end a TLS upload.
        conn.setblocking(False)
        try:
            conn.unwrap()
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
            pass
        time.sleep(1)
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()
    else:
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()
    result["final"] = ftp.getresp()
except ftplib.Error as error:
    result["final"] = str(error)
except (OSError, EOFError, ssl.SSLError) as error:
    result["error"] = f"{type(error).__name__}: {error}"
report_and_quit(ftp, result)
