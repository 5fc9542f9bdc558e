"""A pyftpdlib server whose data connections move at most RATE bytes per
second, so a browser test can cancel a transfer while it runs.

Usage: throttled_ftpd.py HOST PORT ROOT USER PASSWORD RATE
Prints "ready" once it listens.
"""
import sys

from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import FTPHandler, ThrottledDTPHandler
from pyftpdlib.servers import FTPServer

host, port, root, user, password, rate = sys.argv[1:7]
authorizer = DummyAuthorizer()
authorizer.add_user(user, password, root, perm="elradfmwMT")
dtp = ThrottledDTPHandler
dtp.read_limit = int(rate)
dtp.write_limit = int(rate)
handler = FTPHandler
handler.authorizer = authorizer
handler.dtp_handler = dtp
handler.passive_ports = None
server = FTPServer((host, int(port)), handler)
print("ready", flush=True)
server.serve_forever(timeout=0.5)
