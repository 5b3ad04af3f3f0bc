import marshal
import pickle

import requests
import yaml

blob = requests.get("https://example.invalid/model.pkl").content
# ruleid: SKS-EXEC-105
model = pickle.loads(blob)
cfg = requests.get("https://example.invalid/c.yaml").text
# ruleid: SKS-EXEC-105
settings = yaml.load(cfg)
# ruleid: SKS-EXEC-105
code = marshal.loads(requests.get("https://example.invalid/c").content)
# ok: SKS-EXEC-105
safe = yaml.safe_load(cfg)
# ok: SKS-EXEC-105
local = pickle.loads(open("cache.pkl", "rb").read())
