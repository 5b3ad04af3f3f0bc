"""The skill folder digest (DESIGN §4.5, docs/digest.md): exact vectors, stability, hostility."""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skillscan.digest import (
    FORMAT_HEADER,
    MAX_DEPTH,
    DigestEntry,
    DigestError,
    EntryType,
    digest_entries,
    digest_tree,
    is_digest,
    read_tree,
)
from skillscan.errors import ExitCode

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Node:
    """One entry to create: a file (content, executable bit) or a symlink (target text)."""

    path: str
    content: str = ""
    executable: bool = False
    link: bool = False


def build(root: Path, nodes: list[Node] | tuple[Node, ...]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for node in nodes:
        target = root / node.path
        target.parent.mkdir(parents=True, exist_ok=True)
        if node.link:
            target.symlink_to(node.content)
        else:
            target.write_bytes(node.content.encode())
            target.chmod(0o755 if node.executable else 0o644)
    return root


def entries_of(nodes: list[Node] | tuple[Node, ...]) -> list[DigestEntry]:
    return [
        DigestEntry.for_symlink(n.path, n.content)
        if n.link
        else DigestEntry.for_file(n.path, n.content.encode(), executable=n.executable)
        for n in nodes
    ]


SKILL_MD = "---\nname: demo\n---\nHello.\n"

# Each expected digest was computed outside Python, with printf and sha256sum over the
# listing written out by hand from the format in docs/digest.md (reproduced there).
VECTORS = [
    ("empty", (), "cd17631e2f614edc12de64bf9e384aa8a46b4d6da0f8fcef16568853727c3d46"),
    (
        "one-file",
        (Node("SKILL.md", SKILL_MD),),
        "7215d2c5dd491b8a70a6284663e89644d9e52183f2b346fea3dfcb488595553d",
    ),
    (
        "exec-and-link",
        (
            Node("SKILL.md", SKILL_MD),
            Node("scripts/run.sh", "#!/bin/sh\necho hi\n", executable=True),
            Node("docs/guide.md", "../SKILL.md", link=True),
        ),
        "ee9542c4656a00fd53349727962bec445017467289351da9f7ef80d105cec44a",
    ),
    (
        # Whole paths sort by their UTF-8 bytes: "a-b" (0x2d) before "a/c" (0x2f), "é" last.
        "byte-order",
        (
            Node("é.md", "é\n"),
            Node("a/c", "c\n"),
            Node("a-b", "ab\n"),
            Node("Z", ""),
            Node("B", "b\n"),
        ),
        "6be257d7a4f4528982fb2de2ca406efe5cd54dcec33f3dc7dc5e58e5124e421f",
    ),
    (
        # A newline or a space in a name is carried by the length prefix, not escaped.
        "awkward-names",
        (
            Node("with space", "y"),
            Node("line\nbreak", "x"),
            Node(".hidden", "", executable=True),
        ),
        "602c9212400be2a5fee5392998a7931f22f0595007df947003d4204cb204600e",
    ),
]


@pytest.mark.parametrize(
    ("nodes", "expected"), [v[1:] for v in VECTORS], ids=[v[0] for v in VECTORS]
)
def test_vectors_from_disk_and_from_memory(
    tmp_path: Path, nodes: tuple[Node, ...], expected: str
) -> None:
    root = build(tmp_path / "skill", nodes)
    assert digest_tree(root) == f"sha256:{expected}"
    assert digest_entries(entries_of(nodes)) == f"sha256:{expected}"
    assert digest_entries(reversed(entries_of(nodes))) == f"sha256:{expected}"


def test_record_format() -> None:
    entry = DigestEntry.for_file("scripts/run.sh", b"#!/bin/sh\necho hi\n", executable=True)
    sha = hashlib.sha256(b"#!/bin/sh\necho hi\n").hexdigest()
    assert entry.record() == f"file 1 {sha} 14 scripts/run.sh\n".encode()
    link = DigestEntry.for_symlink("é", "../x")
    assert link.record() == f"symlink 0 {hashlib.sha256(b'../x').hexdigest()} 2 é\n".encode()
    assert FORMAT_HEADER == b"skillscan-digest-v1\n"


def test_length_prefix_prevents_a_forged_second_record() -> None:
    # Without the length prefix, this one file's name would spell out the records of
    # the two-file set (same listing bytes, same digest).
    a, b = b"A", b"B"
    sha_a, sha_b = hashlib.sha256(a).hexdigest(), hashlib.sha256(b).hexdigest()
    two = [DigestEntry.for_file("x", a), DigestEntry.for_file("y", b)]
    forged = DigestEntry("x\nfile 0 " + sha_b + " y", EntryType.FILE, False, sha_a)
    assert digest_entries(two) != digest_entries([forged])


def test_digest_shape(tmp_path: Path) -> None:
    digest = digest_tree(build(tmp_path / "s", [Node("SKILL.md", SKILL_MD)]))
    assert is_digest(digest)
    assert not is_digest(digest.upper())
    assert not is_digest(digest[:-1])
    assert not is_digest("sha1:" + "0" * 64)


BASE = (
    Node("SKILL.md", SKILL_MD),
    Node("scripts/run.sh", "#!/bin/sh\necho hi\n", executable=True),
    Node("scripts/lib/util.py", "print('x')\n"),
    Node("docs/guide.md", "../SKILL.md", link=True),
)


def _flip_byte(root: Path) -> None:
    path = root / "scripts/lib/util.py"
    data = bytearray(path.read_bytes())
    data[0] ^= 0x01
    path.write_bytes(bytes(data))


def _replace_link(root: Path, target: str) -> None:
    (root / "docs/guide.md").unlink()
    (root / "docs/guide.md").symlink_to(target)


def _file_to_link(root: Path) -> None:
    # The symlink's target text equals the file's old content: only the type differs.
    (root / "scripts/lib/util.py").unlink()
    (root / "scripts/lib/util.py").symlink_to("print('x')\n")


def _link_to_file(root: Path) -> None:
    (root / "docs/guide.md").unlink()
    (root / "docs/guide.md").write_text("../SKILL.md")


MUTATIONS: list[tuple[str, Callable[[Path], object], bool]] = [
    ("byte-flipped", _flip_byte, True),
    ("byte-appended", lambda r: (r / "SKILL.md").write_text(SKILL_MD + " "), True),
    ("truncated", lambda r: (r / "SKILL.md").write_text(""), True),
    ("chmod-u+x", lambda r: (r / "SKILL.md").chmod(0o744), True),
    ("chmod-o+x-only", lambda r: (r / "SKILL.md").chmod(0o645), True),
    ("chmod-a-x", lambda r: (r / "scripts/run.sh").chmod(0o644), True),
    ("renamed", lambda r: (r / "scripts/run.sh").rename(r / "scripts/run2.sh"), True),
    ("moved-to-folder", lambda r: (r / "scripts/run.sh").rename(r / "docs/run.sh"), True),
    ("file-added", lambda r: (r / "extra.txt").write_text(""), True),
    ("file-removed", lambda r: (r / "scripts/lib/util.py").unlink(), True),
    ("link-target-changed", lambda r: _replace_link(r, "../SKILL.MD"), True),
    ("file-became-link", _file_to_link, True),
    ("link-became-file", _link_to_file, True),
    ("empty-folder-added", lambda r: (r / "empty").mkdir(), False),
    ("nested-empty-folders", lambda r: (r / "scripts/a/b/c").mkdir(parents=True), False),
    ("mtime-changed", lambda r: os.utime(r / "SKILL.md", (1, 1)), False),
    ("write-bit-changed", lambda r: (r / "SKILL.md").chmod(0o600), False),
    ("same-content-rewritten", lambda r: (r / "SKILL.md").write_text(SKILL_MD), False),
    ("link-recreated", lambda r: _replace_link(r, "../SKILL.md"), False),
]


@pytest.mark.parametrize(
    ("mutate", "changes"), [m[1:] for m in MUTATIONS], ids=[m[0] for m in MUTATIONS]
)
def test_what_changes_the_digest(
    tmp_path: Path, mutate: Callable[[Path], object], changes: bool
) -> None:
    root = build(tmp_path / "skill", BASE)
    before = digest_tree(root)
    mutate(root)
    after = digest_tree(root)
    assert (after != before) is changes


def test_same_folder_copied_elsewhere_with_other_mtimes(tmp_path: Path) -> None:
    original = build(tmp_path / "a" / "skill", BASE)
    copy = tmp_path / "b" / "deeper" / "other-name"
    shutil.copytree(original, copy, symlinks=True)
    for path in copy.rglob("*"):
        os.utime(path, (1_000_000, 1_000_000), follow_symlinks=False)
    assert digest_tree(copy) == digest_tree(original) == digest_entries(entries_of(BASE))
    assert digest_tree(original) == digest_tree(original)  # and stable on re-reading


def test_snapshot_returns_the_bytes_it_hashed(tmp_path: Path) -> None:
    root = build(tmp_path / "skill", BASE)
    snapshot = read_tree(root)
    assert snapshot.digest == digest_tree(root)
    assert dict(snapshot.files) == {
        "SKILL.md": SKILL_MD.encode(),
        "scripts/run.sh": b"#!/bin/sh\necho hi\n",
        "scripts/lib/util.py": b"print('x')\n",
    }
    assert dict(snapshot.symlinks) == {"docs/guide.md": "../SKILL.md"}
    assert [e.path for e in snapshot.entries] == sorted(e.path for e in snapshot.entries)
    assert digest_entries(snapshot.entries) == snapshot.digest
    with pytest.raises(TypeError):
        snapshot.files["SKILL.md"] = b"tampered"  # type: ignore[index]


def test_symlink_out_of_the_tree_is_never_read(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = outside / "secret.txt"
    secret.write_text("TOP SECRET CONTENT")
    (outside / "inner.txt").write_text("also secret")
    root = build(tmp_path / "skill", [Node("SKILL.md", SKILL_MD)])
    (root / "key").symlink_to(secret)
    (root / "dir").symlink_to(outside)  # a symlinked folder is not walked either
    (root / "loop").symlink_to("loop")
    (root / "dangling").symlink_to("/nonexistent/anywhere")

    snapshot = read_tree(root)
    expected = digest_entries(
        [
            DigestEntry.for_file("SKILL.md", SKILL_MD.encode()),
            DigestEntry.for_symlink("key", str(secret)),
            DigestEntry.for_symlink("dir", str(outside)),
            DigestEntry.for_symlink("loop", "loop"),
            DigestEntry.for_symlink("dangling", "/nonexistent/anywhere"),
        ]
    )
    assert snapshot.digest == expected
    assert set(snapshot.files) == {"SKILL.md"}
    assert all(b"SECRET" not in data for data in snapshot.files.values())
    secret.write_text("changed content")  # what the link points at is not part of the digest
    assert digest_tree(root) == expected


def test_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    root = build(tmp_path / "skill", [Node("SKILL.md", SKILL_MD)])
    os.mkfifo(root / "scripts.pipe")
    with pytest.raises(DigestError, match="fifo") as info:
        digest_tree(root)
    assert info.value.path == "scripts.pipe"
    assert info.value.exit_code is ExitCode.USAGE


def test_socket_is_refused() -> None:
    # AF_UNIX paths are short (108 bytes): use a short temporary folder.
    with tempfile.TemporaryDirectory(dir="/tmp") as tmp:
        root = build(Path(tmp) / "s", [Node("SKILL.md", SKILL_MD)])
        sock = socket.socket(socket.AF_UNIX)
        try:
            sock.bind(str(root / "sock"))
            with pytest.raises(DigestError, match="socket") as info:
                digest_tree(root)
            assert info.value.path == "sock"
        finally:
            sock.close()


@pytest.mark.parametrize("kind", ["symlink", "file", "missing"])
def test_root_must_be_a_real_folder(tmp_path: Path, kind: str) -> None:
    real = build(tmp_path / "real", [Node("SKILL.md", SKILL_MD)])
    root = tmp_path / "root"
    if kind == "symlink":
        root.symlink_to(real)
    elif kind == "file":
        root.write_text("x")
    with pytest.raises(DigestError) as info:
        digest_tree(root)
    assert str(root) in info.value.message


@pytest.mark.parametrize("name", [".git", ".GIT", ".Git"])
@pytest.mark.parametrize("as_dir", [True, False], ids=["folder", "file"])
def test_git_metadata_fails_unless_excluded(tmp_path: Path, name: str, as_dir: bool) -> None:
    root = build(tmp_path / "skill", [Node("SKILL.md", SKILL_MD), Node(".gitignore", "x\n")])
    clean = digest_tree(root)
    where = root / "sub"
    where.mkdir()
    (where / "keep").write_text("")
    clean_with_sub = digest_tree(root)
    if as_dir:
        build(where / name, [Node("config", "[core]\n\tfsmonitor = evil\n")])
    else:
        (where / name).write_text("gitdir: /elsewhere\n")
    with pytest.raises(DigestError, match="git metadata") as info:
        digest_tree(root)
    assert info.value.path == f"sub/{name}"
    assert digest_tree(root, exclude_git=True) == clean_with_sub != clean


def test_entry_bound(tmp_path: Path) -> None:
    root = build(tmp_path / "skill", [Node(f"f{i}", "") for i in range(5)])
    (root / "d1" / "d2").mkdir(parents=True)  # folders count as entries
    assert digest_tree(root, max_entries=7)
    with pytest.raises(DigestError, match="more than 6 entries"):
        digest_tree(root, max_entries=6)


def test_byte_bound(tmp_path: Path) -> None:
    root = build(tmp_path / "skill", [Node("a", "x" * 60), Node("b/c", "y" * 40)])
    assert digest_tree(root, max_bytes=100)
    with pytest.raises(DigestError, match="more than 99 bytes"):
        digest_tree(root, max_bytes=99)


def test_byte_bound_refuses_a_huge_sparse_file_quickly(tmp_path: Path) -> None:
    root = build(tmp_path / "skill", [Node("SKILL.md", SKILL_MD)])
    with (root / "huge.bin").open("wb") as fh:
        fh.truncate(10 * 1024**3)  # 10 GiB, sparse: must be refused from fstat, unread
    with pytest.raises(DigestError, match="too large"):
        digest_tree(root)


def test_depth_bound(tmp_path: Path) -> None:
    root = tmp_path / "skill"
    deep = root.joinpath(*["d"] * MAX_DEPTH)
    deep.mkdir(parents=True)
    (deep / "f").write_text("")
    assert digest_tree(root)
    (deep / "d").mkdir()
    (deep / "d" / "f").write_text("")
    with pytest.raises(DigestError, match="nested more than"):
        digest_tree(root)


def test_non_utf8_name_is_refused(tmp_path: Path) -> None:
    root = build(tmp_path / "skill", [Node("SKILL.md", SKILL_MD)])
    with open(os.fsencode(root) + b"/bad-\xff-name", "wb"):  # noqa: PTH123 - a bytes path
        pass
    with pytest.raises(DigestError, match="not valid UTF-8"):
        digest_tree(root)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files regardless of permissions")
def test_unreadable_file_fails(tmp_path: Path) -> None:
    root = build(tmp_path / "skill", [Node("SKILL.md", SKILL_MD), Node("secret", "x")])
    (root / "secret").chmod(0)
    with pytest.raises(DigestError, match="cannot read 'secret'"):
        digest_tree(root)


_SHA = "0" * 64


@pytest.mark.parametrize(
    "path",
    [
        "",
        "/abs",
        "a//b",
        "a/",
        "./a",
        "a/./b",
        "a/..",
        "..",
        ".git",
        "x/.Git/config",
        "a\0b",
        "\udcff",
    ],
)
def test_invalid_entry_paths(path: str) -> None:
    with pytest.raises(DigestError):
        DigestEntry(path, EntryType.FILE, False, _SHA)


@pytest.mark.parametrize("sha", ["", "0" * 63, "0" * 65, "A" * 64, "g" * 64])
def test_invalid_content_sha(sha: str) -> None:
    with pytest.raises(DigestError, match="content_sha256"):
        DigestEntry("a", EntryType.FILE, False, sha)


def test_symlink_cannot_be_executable() -> None:
    with pytest.raises(DigestError, match="executable"):
        DigestEntry("a", EntryType.SYMLINK, True, _SHA)


@pytest.mark.parametrize(
    ("paths", "message"),
    [
        (["a", "b", "a"], "listed twice"),
        (["a", "a/b"], "both a file and a folder"),
        (["x/a", "x/a/b/c"], "both a file and a folder"),
    ],
)
def test_entry_sets_that_describe_no_tree(paths: list[str], message: str) -> None:
    with pytest.raises(DigestError, match=message):
        digest_entries(DigestEntry(p, EntryType.FILE, False, _SHA) for p in paths)


def test_module_imports_only_the_standard_library() -> None:
    code = (
        "import sys, skillscan.digest\n"
        "bad = {'yaml', 'semgrep', 'git', 'httpx', 'sqlmodel', 'sqlalchemy', 'rich',"
        " 'jsonschema'}\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in bad))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


# --- properties --------------------------------------------------------------------------

_names = st.text(
    alphabet=st.characters(codec="utf-8", exclude_characters="/\0"),  # no lone surrogates
    min_size=1,
    max_size=8,
).filter(lambda n: n not in (".", "..") and n.lower() != ".git")


@st.composite
def _entry_sets(draw: st.DrawFn) -> list[DigestEntry]:
    paths = draw(
        st.lists(st.lists(_names, min_size=1, max_size=3).map("/".join), max_size=12, unique=True)
    )
    # Drop any path that is also a folder of another, so the set describes a real tree.
    paths = [p for p in paths if not any(q.startswith(p + "/") for q in paths)]
    entries = []
    for path in paths:
        data = draw(st.binary(max_size=32))
        if draw(st.booleans()):
            entries.append(DigestEntry.for_file(path, data, executable=draw(st.booleans())))
        else:
            entries.append(DigestEntry.for_symlink(path, data.hex() or "t"))
    return entries


@settings(max_examples=100, deadline=None)
@given(entries=_entry_sets(), data=st.data())
def test_order_of_entries_never_matters(entries: list[DigestEntry], data: st.DataObject) -> None:
    shuffled = data.draw(st.permutations(entries))
    assert digest_entries(shuffled) == digest_entries(entries)


_disk_names = st.text(alphabet="abcAB-_.é 0", min_size=1, max_size=6).filter(
    lambda n: n not in (".", "..") and n.lower() != ".git"
)


@st.composite
def _trees(draw: st.DrawFn) -> list[Node]:
    paths = draw(
        st.lists(
            st.lists(_disk_names, min_size=1, max_size=3).map("/".join), max_size=10, unique=True
        )
    )
    paths = [p for p in paths if not any(q.startswith(p + "/") for q in paths)]
    nodes = []
    for path in paths:
        content = draw(st.text(max_size=20))
        if draw(st.integers(0, 3)) == 0:
            nodes.append(Node(path, content.replace("\0", "") or "t", link=True))
        else:
            nodes.append(Node(path, content, executable=draw(st.booleans())))
    return nodes


@settings(max_examples=40, deadline=None)
@given(nodes=_trees(), data=st.data())
def test_creation_order_never_matters(nodes: list[Node], data: st.DataObject) -> None:
    order = data.draw(st.permutations(nodes))
    with tempfile.TemporaryDirectory() as tmp:
        first = build(Path(tmp) / "first", nodes)
        second = build(Path(tmp) / "second", order)
        expected = digest_entries(entries_of(nodes))
        assert digest_tree(first) == digest_tree(second) == expected


def test_any_x_bit_makes_a_file_executable(tmp_path: Path) -> None:
    # Any one of the three x bits makes a file executable, as git's 100755 does.
    root = build(tmp_path / "s", [Node("a", "")])
    for mode, executable in [(0o100, True), (0o010, True), (0o001, True), (0o666, False)]:
        (root / "a").chmod(mode | stat.S_IRUSR)
        entry = read_tree(root).entries[0]
        assert entry.executable is executable


def test_keeping_only_some_bytes_gives_the_same_digest(tmp_path: Path) -> None:
    (tmp_path / "SKILL.md").write_text("---\nname: a\n---\n")
    (tmp_path / "big.bin").write_bytes(bytes(range(256)) * 4096)
    (tmp_path / "run.sh").write_text("echo hi\n")
    (tmp_path / "run.sh").chmod(0o755)

    everything = read_tree(tmp_path)
    some = read_tree(tmp_path, keep=lambda path: path == "SKILL.md")

    assert some.digest == everything.digest == digest_tree(tmp_path)
    assert some.entries == everything.entries
    assert set(some.files) == {"SKILL.md"}
    assert set(everything.files) == {"SKILL.md", "big.bin", "run.sh"}
