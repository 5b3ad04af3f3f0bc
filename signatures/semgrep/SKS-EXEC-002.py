import base64
import codecs
import zlib

# ruleid: SKS-EXEC-002
exec(base64.b64decode("cHJpbnQoMSk="))
# ruleid: SKS-EXEC-002
eval(compile(zlib.decompress(base64.b64decode(b"eJw=")), "<x>", "exec"))
# ruleid: SKS-EXEC-002
exec(codecs.decode("cevag(1)", "rot13"))
# ok: SKS-EXEC-002
image = base64.b64encode(open("logo.png", "rb").read()).decode()
# ok: SKS-EXEC-002
data = base64.b64decode(payload_from_api)
# ok: SKS-EXEC-002
print(base64.b64encode(b"x"))
