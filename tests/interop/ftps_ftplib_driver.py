"""Drives a ferry server with Python's ftplib.FTP_TLS (explicit FTPS, PROT P).

Usage: ftps_ftplib_driver.py PORT TLS_VERSION(1.2|1.3) ROOT REUSE(yes|no)

Stores, retrieves and lists files from 0 bytes to 2 MB, three times each, and
checks every byte (the retrieved copy and the file on the server's disk).
With REUSE=yes the data connections resume the control connection's TLS
session (the recipe servers that require reuse expect); with "no" they are
plain ftplib, which does not. Prints one JSON line with the counts.
"""

import ftplib
import io
import json
import os
import ssl
import sys

port, version, root, reuse = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4] == "yes"


class ReusingFTP_TLS(ftplib.FTP_TLS):
    """FTP_TLS whose data connections resume the control connection's session."""

    def ntransfercmd(self, cmd, rest=None):
        conn, size = ftplib.FTP.ntransfercmd(self, cmd, rest)
        if self._prot_p:
            conn = self.context.wrap_socket(
                conn, server_hostname=self.host, session=self.sock.session
            )
        return conn, size


context = ssl.create_default_context()
context.check_hostname = False
context.verify_mode = ssl.CERT_NONE
version_pin = ssl.TLSVersion.TLSv1_2 if version == "1.2" else ssl.TLSVersion.TLSv1_3
context.minimum_version = version_pin
context.maximum_version = version_pin

ftp = (ReusingFTP_TLS if reuse else ftplib.FTP_TLS)(context=context, timeout=20)
ftp.connect("127.0.0.1", port)
ftp.login("alice", "wonderland")
ftp.prot_p()
transfers = 0
failures = []
for size in [0, 1, 100, 16384, 70000, 2_000_000]:
    data = os.urandom(size)
    name = f"ftplib {size}.bin"
    for attempt in range(3):
        ftp.storbinary(f"STOR {name}", io.BytesIO(data))
        with open(os.path.join(root, name), "rb") as stored:
            if stored.read() != data:
                failures.append(f"STOR {size} #{attempt}")
        got = io.BytesIO()
        ftp.retrbinary(f"RETR {name}", got.write)
        if got.getvalue() != data:
            failures.append(f"RETR {size} #{attempt}: {len(got.getvalue())} bytes")
        lines = []
        ftp.retrlines("LIST", lines.append)
        if not any(line.endswith(name) for line in lines):
            failures.append(f"LIST {size} #{attempt}")
        transfers += 3
ftp.quit()
print(json.dumps({"transfers": transfers, "failures": failures}))
