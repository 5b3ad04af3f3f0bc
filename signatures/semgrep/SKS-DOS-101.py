import sys
import time

hashes = []
# ruleid: SKS-DOS-101
while True:
    hashes.append(hash(str(len(hashes))))

# ruleid: SKS-DOS-101
while 1:
    try:
        spin()
    except KeyError:
        pass

# ok: SKS-DOS-101
while True:
    line = sys.stdin.readline()
    if not line:
        break


def first_free():
    n = 0
    # ok: SKS-DOS-101
    while True:
        if free(n):
            return n
        n += 1


# ok: SKS-DOS-101
while True:
    poll()
    time.sleep(30)

# ok: SKS-DOS-101
while True:
    if done():
        sys.exit(0)

frames = 0
try:
    # ok: SKS-DOS-101
    while True:
        image.seek(frames)
        frames += 1
except EOFError:
    pass
