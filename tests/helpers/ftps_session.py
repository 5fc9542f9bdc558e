"""The explicit-FTPS login the python3 test drivers share.

A driver adds this folder to sys.path and imports it:

    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "helpers"))
    from ftps_session import login
"""

import ftplib
import json
import ssl


def pinned_context(version):
    """An SSLContext held to TLS "1.2" or "1.3", trusting any certificate (test servers)."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    pin = ssl.TLSVersion.TLSv1_2 if version == "1.2" else ssl.TLSVersion.TLSv1_3
    context.minimum_version = pin
    context.maximum_version = pin
    return context


def login(port, version, ftp_class=ftplib.FTP_TLS):
    """Connects to 127.0.0.1:PORT, AUTH TLS, logs in as alice and sends PBSZ 0 and PROT P."""
    ftp = ftp_class(context=pinned_context(version), timeout=20)
    ftp.connect("127.0.0.1", port)
    ftp.login("alice", "wonderland")
    ftp.prot_p()
    return ftp


def report_and_quit(ftp, result):
    """Prints RESULT as one JSON line, then QUIT (or just closes if the session is gone)."""
    print(json.dumps(result), flush=True)
    try:
        ftp.quit()
    except (OSError, EOFError, ftplib.Error):
        ftp.close()
