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
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "helpers"))
from ftps_session import login  # noqa: E402

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


ftp = login(port, version, ReusingFTP_TLS if reuse else ftplib.FTP_TLS)
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
