"""Drives ferry behind a load balancer with Python's ftplib, from a chosen source address.

Usage: python3 balancer_ftplib_driver.py '<json>' where the JSON is
  {"host": "127.0.0.2", "port": 2121, "source": "127.0.0.3", "tls": false,
   "name": "upload.bin", "size": 100000, "trust": false}

Logs in (FTP_TLS with PROT P when "tls"), stores "size" random bytes as "name",
lists, retrieves the file and compares it, and prints one JSON object:
  {"listed": true, "same": true, "commands": [...], "replies": [...]}
On an error it prints {"error": "...", "commands": [...]} and exits with 1.
"""

import ftplib
import io
import json
import os
import ssl
import sys


def recording(base):
    class Recording(base):
        def __init__(self, *args, **kwargs):
            self.sent = []
            self.replies = []
            super().__init__(*args, **kwargs)

        def putcmd(self, line):
            self.sent.append("PASS ****" if line.upper().startswith("PASS ") else line)
            super().putcmd(line)

        def getresp(self):
            reply = super().getresp()
            self.replies.append(reply)
            return reply

    return Recording


def main():
    spec = json.loads(sys.argv[1])
    source = (spec["source"], 0)
    if spec.get("tls"):
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        ftp = recording(ftplib.FTP_TLS)(context=context, timeout=30, source_address=source)
    else:
        ftp = recording(ftplib.FTP)(timeout=30, source_address=source)
    # ftplib connects to the control host, not the PASV address, unless told to trust it.
    ftp.trust_server_pasv_ipv4_address = bool(spec.get("trust"))
    try:
        ftp.connect(spec["host"], spec["port"], source_address=source)
        ftp.login("alice", "wonderland")
        if spec.get("tls"):
            ftp.prot_p()
        data = os.urandom(spec["size"])
        ftp.storbinary("STOR " + spec["name"], io.BytesIO(data))
        lines = []
        ftp.retrlines("LIST", lines.append)
        got = io.BytesIO()
        ftp.retrbinary("RETR " + spec["name"], got.write)
        ftp.quit()
    except Exception as error:  # report everything as JSON for the test
        print(json.dumps({"error": f"{type(error).__name__}: {error}", "commands": ftp.sent}))
        sys.exit(1)
    print(json.dumps({
        "listed": any(spec["name"] in line for line in lines),
        "same": got.getvalue() == data,
        "commands": ftp.sent,
        "replies": ftp.replies,
    }))


if __name__ == "__main__":
    main()
