import shutil
import tarfile
import zipfile
from tarfile import open as open_tar


def install(archive, dest):
    with tarfile.open(archive) as tf:
        # ruleid: SKS-FILE-102
        tf.extractall(dest)


def one(archive, dest):
    tar = tarfile.open(archive, "r:gz")
    # ruleid: SKS-FILE-102
    tar.extract("bin/tool", dest)


def aliased(archive, dest):
    with open_tar(archive) as tf:
        # ruleid: SKS-FILE-102
        tf.extractall(dest)


def unpack(archive, dest):
    # ruleid: SKS-FILE-102
    shutil.unpack_archive(archive, dest)


def install_safe(archive, dest):
    with tarfile.open(archive) as tf:
        # ok: SKS-FILE-102
        tf.extractall(dest, filter="data")


def install_checked(archive, dest):
    with tarfile.open(archive) as tf:
        # ok: SKS-FILE-102
        tf.extractall(dest, members=checked_members(tf, dest))


def unzip(archive, dest):
    with zipfile.ZipFile(archive) as zf:
        # ok: SKS-FILE-102
        zf.extractall(dest)
