"""Opens and aborts PROT P data connections against a ferry server, every way it can.

Usage: ftps_abort_driver.py PORT ROUNDS BIG_FILE

Logs in as alice over explicit FTPS (TLS 1.3), then ROUNDS times: a passive
data connection closed before its first byte, one sending garbage instead of
a ClientHello, one reset in the middle of the handshake (after the server's
answer), one that shakes hands without resuming the session, a download cut
short by a reset, an upload cut short by a reset, an active connection closed
at once, and one whole download. Prints one JSON line: the final reply codes
seen per kind and the bytes of the whole downloads.
"""

import ftplib
import os
import socket
import ssl
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "helpers"))
from ftps_session import login, report_and_quit  # noqa: E402

port, rounds, big = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]

ftp = login(port, "1.3")
context = ftp.context
ftp.voidcmd("TYPE I")
ftp.voidcmd("NOOP")
session = ftp.sock.session
codes = {}


def seen(kind, reply):
    codes.setdefault(kind, []).append(reply[:3])


def final():
    try:
        return ftp.getresp()
    except ftplib.Error as error:
        return str(error)


def reset(sock):
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def pasv():
    _, data_port = ftplib.parse227(ftp.sendcmd("PASV"))
    return socket.create_connection(("127.0.0.1", data_port), timeout=30)


def command(line):
    """Sends a transfer command; returns its first reply (a 1xx, or the final one)."""
    try:
        return ftp.sendcmd(line)
    except ftplib.Error as error:
        return str(error)


def retr_then(kind, action):
    conn = pasv()
    first = command(f"RETR {big}")
    action(conn)
    seen(kind, final() if first.startswith("1") else first)


whole_bytes = []
for _ in range(rounds):
    # Closed before the first byte: the server waits for another connection, then 425.
    conn = pasv()
    conn.close()
    first = command(f"RETR {big}")
    seen("closed-at-once", final() if first.startswith("1") else first)

    def garbage(conn):
        conn.sendall(b"SSH-2.0-not-tls\r\n" * 20)
        try:
            conn.recv(1024)
        except OSError:
            pass
        conn.close()

    retr_then("garbage", garbage)

    def mid_handshake(conn):
        incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        tls = context.wrap_bio(incoming, outgoing, server_hostname="127.0.0.1")
        try:
            tls.do_handshake()
        except ssl.SSLWantReadError:
            pass
        conn.sendall(outgoing.read())
        conn.recv(100)  # the server's answer has begun
        reset(conn)

    retr_then("reset-mid-handshake", mid_handshake)

    def no_session(conn):
        tls = context.wrap_socket(conn, server_hostname="127.0.0.1")
        try:
            tls.recv(1024)
        except (OSError, ssl.SSLError):
            pass
        tls.close()

    retr_then("no-session", no_session)

    def cut_download(conn):
        tls = context.wrap_socket(conn, server_hostname="127.0.0.1", session=session)
        tls.recv(65536)
        reset(tls)

    retr_then("download-reset", cut_download)

    conn = pasv()
    first = command("STOR upload.bin")
    tls = context.wrap_socket(conn, server_hostname="127.0.0.1", session=session)
    tls.sendall(b"x" * 200_000)
    reset(tls)
    seen("upload-reset", final() if first.startswith("1") else first)

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    host, active_port = listener.getsockname()
    ftp.sendcmd(f"PORT 127,0,0,1,{active_port >> 8},{active_port & 255}")
    first = command(f"RETR {big}")
    try:
        listener.settimeout(30)
        accepted, _ = listener.accept()
        accepted.close()
    except OSError:
        pass
    listener.close()
    seen("active-closed", final() if first.startswith("1") else first)

    conn = pasv()
    first = command(f"RETR {big}")
    tls = context.wrap_socket(conn, server_hostname="127.0.0.1", session=session)
    got = 0
    while chunk := tls.recv(65536):
        got += len(chunk)
    tls.close()
    whole_bytes.append(got)
    seen("whole", final() if first.startswith("1") else first)

report_and_quit(ftp, {"codes": codes, "whole_bytes": whole_bytes})
