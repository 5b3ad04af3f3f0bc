import os
import shutil
import tarfile
import zipfile
from pathlib import Path


def unpack(archive, dest):
    with zipfile.ZipFile(archive) as zf:
        for member in zf.namelist():
            target = os.path.join(dest, member)
            # ruleid: SKS-FILE-101
            with open(target, "wb") as out:
                out.write(zf.read(member))


def unpack_info(archive, dest):
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            # ruleid: SKS-FILE-101
            (Path(dest) / info.filename).write_bytes(zf.read(info))


def unpack_tar(archive, dest):
    with tarfile.open(archive) as tf:
        for member in tf.getmembers():
            source = tf.extractfile(member)
            # ruleid: SKS-FILE-101
            with open(os.path.join(dest, member.name), "wb") as out:
                shutil.copyfileobj(source, out)


def unpack_checked(archive, dest):
    with zipfile.ZipFile(archive) as zf:
        for member in zf.namelist():
            target = os.path.realpath(os.path.join(dest, member))
            if os.path.commonpath([dest, target]) != dest:
                raise ValueError(member)
            # ok: SKS-FILE-101
            with open(target, "wb") as out:
                out.write(zf.read(member))


def unpack_resolved(archive, dest):
    with zipfile.ZipFile(archive) as zf:
        for member in zf.namelist():
            target = (Path(dest) / member).resolve()
            if not target.is_relative_to(Path(dest).resolve()):
                raise ValueError(member)
            # ok: SKS-FILE-101
            target.write_bytes(zf.read(member))


def unpack_flat(archive, dest):
    with zipfile.ZipFile(archive) as zf:
        for member in zf.namelist():
            name = os.path.basename(member)
            # ok: SKS-FILE-101
            with open(os.path.join(dest, name), "wb") as out:
                out.write(zf.read(member))


def list_members(archive, report):
    with zipfile.ZipFile(archive) as zf:
        # ok: SKS-FILE-101
        with open(report, "w") as out:
            out.write("\n".join(zf.namelist()))
