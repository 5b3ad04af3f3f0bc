"""Skill references: a table of inputs and what each parses to, or why it is refused."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skillscan.errors import ExitCode, UsageError
from skillscan.refs import (
    SkillRef,
    SourceKind,
    make_ref,
    parse_ref,
    parse_ref_name,
    parse_source,
    parse_subpath,
    parse_unpinned,
)

SHA1 = "0123456789abcdef0123456789abcdef01234567"
SHA256 = "0123456789abcdef" * 4
HOME = Path("~").expanduser()
CWD = Path.cwd()

HTTPS, SSH, LOCAL = SourceKind.HTTPS, SourceKind.SSH, SourceKind.LOCAL
# Characters that matter to reference syntax, URL syntax and git's option parsing.
ALPHABET = [*"-/.:@#~_ %\\?", "::", "ext::", "ssh://", "https://", "file://", "git@", SHA1, *"ab1"]

GH = "https://github.com/owner/repo.git"
# text → (source, kind, url, commit, subpath)
PARSED = [
    (f"owner/repo@{SHA1}", ("owner/repo", HTTPS, GH, SHA1, "")),
    (f"owner/repo.git@{SHA1}", ("owner/repo", HTTPS, GH, SHA1, "")),
    (f"owner/repo@{SHA1.upper()}", ("owner/repo", HTTPS, GH, SHA1, "")),
    (f"owner/repo@{SHA256}", ("owner/repo", HTTPS, GH, SHA256, "")),
    (f"owner/repo@{SHA1}#skills/pdf", ("owner/repo", HTTPS, GH, SHA1, "skills/pdf")),
    (f"owner/repo@{SHA1}#skills/pdf/", ("owner/repo", HTTPS, GH, SHA1, "skills/pdf")),
    (f"owner/repo@{SHA1}#a@b/c", ("owner/repo", HTTPS, GH, SHA1, "a@b/c")),
    (
        f"Own-er/re.po_x@{SHA1}",
        ("Own-er/re.po_x", HTTPS, "https://github.com/Own-er/re.po_x.git", SHA1, ""),
    ),
    (
        f"https://gitlab.com/g/sub/r.git@{SHA1}",
        ("https://gitlab.com/g/sub/r.git", HTTPS, "https://gitlab.com/g/sub/r.git", SHA1, ""),
    ),
    (
        f"HTTPS://example.org:8443/r@{SHA1}",
        ("https://example.org:8443/r", HTTPS, "https://example.org:8443/r", SHA1, ""),
    ),
    (
        f"ssh://git@host.example/o/r.git@{SHA1}",
        ("ssh://git@host.example/o/r.git", SSH, "ssh://git@host.example/o/r.git", SHA1, ""),
    ),
    (
        f"ssh://host:2222/srv/r@{SHA1}#x",
        ("ssh://host:2222/srv/r", SSH, "ssh://host:2222/srv/r", SHA1, "x"),
    ),
    (
        f"git@github.com:owner/repo.git@{SHA1}",
        ("git@github.com:owner/repo.git", SSH, "git@github.com:owner/repo.git", SHA1, ""),
    ),
    (f"git@host:/srv/repo@{SHA1}", ("git@host:/srv/repo", SSH, "git@host:/srv/repo", SHA1, "")),
    (f"/srv/git/repo@{SHA1}", ("/srv/git/repo", LOCAL, "/srv/git/repo", SHA1, "")),
    (f"/srv/git/x/../repo@{SHA1}", ("/srv/git/x/../repo", LOCAL, "/srv/git/repo", SHA1, "")),
    (f"./repo@{SHA1}", ("./repo", LOCAL, str(CWD / "repo"), SHA1, "")),
    (f"../-repo@{SHA1}", ("../-repo", LOCAL, str(CWD.parent / "-repo"), SHA1, "")),
    (f"~/skills repo@{SHA1}", ("~/skills repo", LOCAL, str(HOME / "skills repo"), SHA1, "")),
    (f".@{SHA1}", (".", LOCAL, str(CWD), SHA1, "")),
    (f"/srv/r@v2@{SHA1}", ("/srv/r@v2", LOCAL, "/srv/r@v2", SHA1, "")),
]


@pytest.mark.parametrize(("text", "expected"), PARSED)
def test_parse_ref(text: str, expected: tuple[str, SourceKind, str, str, str]) -> None:
    ref = parse_ref(text)
    assert (ref.source, ref.kind, ref.url, ref.commit, ref.subpath) == expected
    assert parse_ref(str(ref)) == ref  # the canonical form round-trips


# text → a fragment of the refusal message
REFUSED = [
    # not pinned: every one names `skillscan resolve`
    ("owner/repo@main", "skillscan resolve owner/repo@main"),
    ("owner/repo@v1.2.0", "skillscan resolve owner/repo@v1.2.0"),
    ("owner/repo@0123456", "skillscan resolve owner/repo@0123456"),
    (f"owner/repo@{SHA1[:39]}", "skillscan resolve"),
    (f"owner/repo@{SHA1}0", "skillscan resolve"),
    (f"owner/repo@{SHA1[:-1]}g", "skillscan resolve"),
    ("owner/repo@", "skillscan resolve owner/repo@<branch-or-tag>"),
    ("owner/repo", "skillscan resolve owner/repo@<branch-or-tag>"),
    ("git@github.com:o/r", "skillscan resolve git@github.com:o/r@<branch-or-tag>"),
    ("ssh://git@host/o/r", "skillscan resolve ssh://git@host/o/r@<branch-or-tag>"),
    ("", "no '@<commit>'"),
    # option injection
    (f"-oProxyCommand=touch /tmp/pwned@{SHA1}", "starts with '-'"),
    (f"--upload-pack=touch /tmp/pwned@{SHA1}", "starts with '-'"),
    (f"ssh://-oProxyCommand=touch%20x/r@{SHA1}", "invalid host"),
    (f"ssh://-oProxyCommand=x@host/r@{SHA1}", "invalid user"),
    (f"git@-oProxyCommand=x:r@{SHA1}", "invalid host"),
    (f"git@host:-r@{SHA1}", "invalid repository path"),
    # transport helpers and other schemes
    (f"ext::sh -c touch% /tmp/pwned@{SHA1}", "'<transport>::'"),
    (f"fd::17@{SHA1}", "'<transport>::'"),
    (f"file::/srv/repo@{SHA1}", "'<transport>::'"),
    (f"./x::y@{SHA1}", "'<transport>::'"),
    (f"file:///srv/repo@{SHA1}", "name a local repository by its path"),
    (f"http://example.org/r@{SHA1}", "unencrypted"),
    (f"git://example.org/r@{SHA1}", "unencrypted"),
    (f"ftp://example.org/r@{SHA1}", "'ftp' transport"),
    (f"git+ssh://example.org/r@{SHA1}", "'git+ssh' transport"),
    # credentials, look-alikes, odd URLs
    (f"https://user:token@github.com/o/r@{SHA1}", "embeds credentials"),
    (f"https://ghp_abc@github.com/o/r@{SHA1}", "embeds credentials"),
    (f"ssh://git:pw@host/o/r@{SHA1}", "embeds a password"),
    (f"https://g\u0456thub.com/o/r@{SHA1}", "non-ASCII"),  # a Cyrillic look-alike
    (f"https://github.com/o/r?x=1@{SHA1}", "query"),
    (f"https://github.com/o/r/../x@{SHA1}", "invalid repository path"),
    (f"https://github.com@{SHA1}", "names no repository path"),
    (f"https://[::1]/r@{SHA1}", "'<transport>::'"),
    (f"https://host:99999/r@{SHA1}", "invalid port"),
    (f"https://github.com/o/r%2e@{SHA1}", "invalid repository path"),
    # not a recognised source: a relative path must be explicit
    (f"skills@{SHA1}", "not recognised"),
    (f"a/b/c@{SHA1}", "not recognised"),
    (f"host:repo@{SHA1}", "not recognised"),
    (f"owner/..@{SHA1}", "names no repository"),
    (f"-owner/repo@{SHA1}", "starts with '-'"),
    # control characters and whitespace
    (f"owner/re\npo@{SHA1}", "control or invisible"),
    (f"owner/repo\x00@{SHA1}", "control or invisible"),
    (f"owner/\u202erepo@{SHA1}", "control or invisible"),
    (f"owner /repo@{SHA1}", "whitespace"),
    (f"owner/repo@{SHA1} ", "skillscan resolve"),
    # subpaths
    (f"owner/repo@{SHA1}#a/../..", "'..' component"),
    (f"owner/repo@{SHA1}#..", "'..' component"),
    (f"owner/repo@{SHA1}#/etc", "absolute"),
    (f"owner/repo@{SHA1}#a\\b", "backslash"),
    (f"owner/repo@{SHA1}#a\x00b", "control or invisible"),
    (f"owner/repo@{SHA1}#-rf", "starts with '-'"),
    (f"owner/repo@{SHA1}#a//b", "empty"),
    (f"owner/repo@{SHA1}#./a", "'.'"),
    (f"owner/repo@{SHA1}#.git/hooks", "forbidden component"),
    (f"owner/repo@{SHA1}#x/.GIT", "forbidden component"),
    (f"owner/repo@{SHA1}#x/.git.", "forbidden component"),
    (f"owner/repo@{SHA1}#x/ a", "forbidden component"),
    (f"owner/repo@{SHA1}#", "names no subpath"),
]


@pytest.mark.parametrize(("text", "message"), REFUSED)
def test_parse_ref_refuses(text: str, message: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_ref(text)
    assert message in caught.value.diagnostics()
    assert caught.value.exit_code is ExitCode.USAGE


def test_message_shows_untrusted_text_escaped() -> None:
    with pytest.raises(UsageError) as caught:
        parse_ref(f"owner/\x1b[31mrepo@{SHA1}")
    assert "\x1b" not in caught.value.diagnostics()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("owner/repo@main", ("owner/repo", "main", "")),
        ("owner/repo@v1.2.0#skills/x", ("owner/repo", "v1.2.0", "skills/x")),
        ("owner/repo@feature/new-thing", ("owner/repo", "feature/new-thing", "")),
        ("git@github.com:o/r@HEAD", ("git@github.com:o/r", "HEAD", "")),
        ("./repo@abc1234", ("./repo", "abc1234", "")),
        (f"owner/repo@{SHA1}", ("owner/repo", SHA1, "")),
        ("owner/repo@refs/tags/v1", ("owner/repo", "refs/tags/v1", "")),
    ],
)
def test_parse_unpinned(text: str, expected: tuple[str, str, str]) -> None:
    assert parse_unpinned(text) == expected


@pytest.mark.parametrize(
    "ref",
    [
        "-main",
        "--upload-pack=x",
        "main..other",
        "HEAD~1",
        "v1^{}",
        "a:b",
        "@{-1}",
        "bad name",
        "main.lock",
        "main/",
        "x*",
        "",
    ],
)
def test_parse_ref_name_refuses(ref: str) -> None:
    with pytest.raises(UsageError):
        parse_ref_name(ref)


def test_parse_unpinned_refuses_bad_source() -> None:
    with pytest.raises(UsageError, match="transport"):
        parse_unpinned("ext::sh -c id@main")


def test_make_ref_refuses_controls_in_commit() -> None:
    with pytest.raises(UsageError, match="control"):
        make_ref("owner/repo", "main\x1b[2J")


def test_make_ref_with_separate_subpath() -> None:
    ref = make_ref("owner/repo", SHA1.upper(), "skills/pdf/")
    assert str(ref) == f"owner/repo@{SHA1}#skills/pdf"
    assert ref.object_format == "sha1"
    assert make_ref("owner/repo", SHA256).object_format == "sha256"


@pytest.mark.parametrize(
    "fields",
    [
        ("owner/repo", HTTPS, "https://github.com/owner/repo.git", SHA1.upper(), ""),
        ("owner/repo", HTTPS, "https://github.com/owner/repo.git", "main", ""),
        ("owner/repo", HTTPS, "--upload-pack=touch /tmp/x", SHA1, ""),
        ("owner/repo", SSH, "https://github.com/owner/repo.git", SHA1, ""),
        ("owner/repo", HTTPS, "https://github.com/owner/repo.git", SHA1, "a/../b"),
        ("./repo", LOCAL, "-oProxyCommand=x", SHA1, ""),
        ("./repo", LOCAL, "relative/path", SHA1, ""),
        ("./repo", LOCAL, "/srv/re\npo", SHA1, ""),
        ("./repo", LOCAL, "/srv/x/../repo", SHA1, ""),
        ("-oProxyCommand=x", SSH, "-oProxyCommand=x", SHA1, ""),
    ],
)
def test_skillref_validates_on_construction(fields: tuple[str, SourceKind, str, str, str]) -> None:
    with pytest.raises(UsageError):
        SkillRef(*fields)


def test_parse_source_github_is_never_a_relative_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Even when a folder of that name exists here, `owner/repo` means GitHub.
    (tmp_path / "skills" / "pdf").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    assert parse_source("skills/pdf").kind is HTTPS
    assert parse_source("./skills/pdf").kind is LOCAL


@pytest.mark.parametrize(
    ("text", "expected"),
    [("", ""), ("a", "a"), ("a/b/", "a/b"), ("a b/c", "a b/c"), ("ünï/x", "ünï/x")],
)
def test_parse_subpath(text: str, expected: str) -> None:
    assert parse_subpath(text) == expected


@given(st.lists(st.sampled_from(ALPHABET), max_size=14).map("".join))
@settings(max_examples=400, deadline=None)
def test_parse_ref_never_yields_an_option_or_crashes(text: str) -> None:
    try:
        ref = parse_ref(text)
    except UsageError:
        return
    assert not ref.url.startswith("-") and not ref.source.startswith("-")
    assert "::" not in ref.url
    assert ref.kind is not LOCAL or ref.url.startswith("/")
    assert parse_ref(str(ref)) == ref


@given(st.text(max_size=80))
@settings(max_examples=300, deadline=None)
def test_parse_ref_on_any_text_raises_only_usage_errors(text: str) -> None:
    with contextlib.suppress(UsageError):
        parse_ref(text + "@" + SHA1)
