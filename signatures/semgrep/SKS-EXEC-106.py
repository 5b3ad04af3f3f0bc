import os
import shlex
import subprocess
import sys

target = sys.argv[1]
# ruleid: SKS-EXEC-106
subprocess.run(f"ping -c 1 {target}", shell=True)
# ruleid: SKS-EXEC-106
os.system("convert " + os.environ.get("INPUT_FILE", "a.png") + " out.jpg")
# ok: SKS-EXEC-106
subprocess.run(f"ping -c 1 {shlex.quote(target)}", shell=True)
# ok: SKS-EXEC-106
subprocess.run(["ping", "-c", "1", target])
# ok: SKS-EXEC-106
subprocess.run("git status", shell=True)
