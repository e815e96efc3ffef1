"""`invoke normalize --write` never damages or silently replaces a post; `--check --diff` shows why.

Real files in tmp_path, real git for the work-tree cases, the command line through `python -m invoke`.
"""

from __future__ import annotations

import difflib
import os
import resource
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.cli.normalize import SourceStatus, normalize_sources, unified_diff
from pipeline.settings.config import Settings
from pipeline.source.discovery import discover

from .conftest import ROOT, SEED, write_post

POST = "2025-05-28-maxime.markdown"
# Normalize removes the tracking parameter (a clean post would be left as it is).
TINY = "---\ntitle: Tiny\ndate: 2024-01-01\n---\nHello   [there](https://example.org/?utm_source=feed).\n"
BAD = "---\ndate: 2024-01-01\n---\nNo title, so normalize refuses this post.\n"
GIT = shutil.which("git")
needs_git = pytest.mark.skipif(GIT is None, reason="git is not installed")


@pytest.fixture(scope="module")
def canonical(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """The seed post in canonical form, obtained by running `--write` once on a copy."""
    from pipeline.settings.config import load_settings

    folder = tmp_path_factory.mktemp("canonical")
    shutil.copyfile(SEED, folder / POST)
    [status] = normalize_sources(folder, load_settings(ROOT / "samples" / "episode.toml"), write=True)
    assert status.status == "rewritten"
    text = (folder / POST).read_bytes()
    assert text != SEED.read_bytes()
    return text


def _seed(folder: Path, name: str = POST, mode: int | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    shutil.copyfile(SEED, path)
    if mode is not None:
        path.chmod(mode)
    return path


def orig(path: Path, n: int = 0) -> Path:
    """The backup `normalize --write` keeps of `path`: hidden, so Jekyll never publishes it."""
    return path.with_name(f".{path.name}.orig" + (f".{n}" if n else ""))


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _invoke(*args: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    """`invoke normalize …`; its first line (where the settings came from) is checked and removed."""
    result: subprocess.CompletedProcess[str] = subprocess.run(  # type: ignore[call-overload]
        [sys.executable, "-m", "invoke", "normalize", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
        **kwargs,
    )
    if result.returncode != 2:  # a usage error stops before the settings are read
        first, _, rest = result.stdout.partition("\n")
        assert first.startswith("settings: "), result.stdout
        result.stdout = rest
    return result


def _git(folder: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.email=a@b.org", "-c", "user.name=t", *args],
        cwd=folder,
        check=True,
        capture_output=True,
    )


def _by_name(statuses: list[SourceStatus], name: str) -> SourceStatus:
    [status] = [s for s in statuses if s.path.name == name]
    return status


# --- 1. mode, symbolic links, read-only files --------------------------------------------------


@pytest.mark.parametrize("mode", [0o600, 0o640, 0o755])
def test_write_keeps_the_file_mode(tmp_path: Path, settings: Settings, canonical: bytes, mode: int) -> None:
    old_umask = os.umask(0o022)
    try:
        post = _seed(tmp_path / "posts", mode=mode)
        [status] = normalize_sources(tmp_path / "posts", settings, write=True)
    finally:
        os.umask(old_umask)
    assert status.status == "rewritten"
    assert post.read_bytes() == canonical
    assert _mode(post) == mode
    assert _mode(orig(post)) == mode  # a private post's backup stays private


def test_write_goes_through_a_symlink_to_its_target(
    tmp_path: Path, settings: Settings, canonical: bytes
) -> None:
    src = tmp_path / "posts"
    target = _seed(src / "drafts", mode=0o640)
    link = src / POST
    link.symlink_to(Path("drafts") / POST)
    [status] = normalize_sources(src, settings, write=True)
    assert status.status == "rewritten"
    assert link.is_symlink() and os.readlink(link) == str(Path("drafts") / POST)
    assert target.read_bytes() == canonical and link.read_bytes() == canonical
    assert _mode(target) == 0o640
    assert sorted(p.name for p in (src / "drafts").iterdir()) == [POST]  # no temporary file left
    assert orig(src / POST).read_bytes() == SEED.read_bytes()


def test_read_only_file_is_refused_in_one_line_and_the_others_go_on(tmp_path: Path, canonical: bytes) -> None:
    src = tmp_path / "posts"
    locked = _seed(src, "a-locked.markdown", mode=0o444)
    other = _seed(src, "b-other.markdown")
    result = _invoke("--src", str(src), "--write")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stdout.splitlines() if "a-locked" in line]
    assert lines == [f"failed       {locked}: read-only file, not rewritten"]
    assert locked.read_bytes() == SEED.read_bytes() and _mode(locked) == 0o444
    assert not orig(locked).exists()
    assert other.read_bytes() == canonical
    assert f"rewritten    {other}" in result.stdout


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a 0555 folder anyway")
def test_read_only_folder_is_one_line_and_a_post_in_another_folder_goes_on(
    tmp_path: Path, canonical: bytes
) -> None:
    src = tmp_path / "posts"
    _seed(src / "locked", "a.markdown")
    _seed(src / "open", "b.markdown")
    for name, folder in (("a.markdown", "locked"), ("b.markdown", "open")):
        (src / name).symlink_to(Path(folder) / name)
    (src / "locked").chmod(0o555)
    try:
        result = _invoke("--src", str(src), "--write")
    finally:
        (src / "locked").chmod(0o755)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stdout.splitlines() if "a.markdown" in line]
    assert lines == [f"failed       {src / 'a.markdown'}: cannot write (Permission denied), not rewritten"]
    assert (src / "locked" / "a.markdown").read_bytes() == SEED.read_bytes()
    assert not orig(src / "a.markdown").exists()  # nothing was rewritten, so no backup is left
    assert (src / "open" / "b.markdown").read_bytes() == canonical


def _limit_file_size() -> None:
    """Files this process writes may not grow past 1 KiB (EFBIG, "File too large"): even for root."""
    resource.setrlimit(resource.RLIMIT_FSIZE, (1024, 1024))


def test_a_failing_backup_is_one_line_and_the_other_posts_go_on(tmp_path: Path) -> None:
    src = tmp_path / "posts"
    big = _seed(src, "a-big.markdown")  # 3 KB: its backup cannot be written
    tiny = write_post(src, "b-tiny.markdown", TINY)
    result = _invoke("--src", str(src), "--write", preexec_fn=_limit_file_size)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stdout.splitlines() if "a-big" in line]
    assert lines == [f"failed       {big}: cannot keep a backup copy (File too large), not rewritten"]
    assert big.read_bytes() == SEED.read_bytes()
    assert tiny.read_bytes() != TINY.encode() and b"Hello [there](https://example.org/)." in tiny.read_bytes()
    assert orig(tiny).read_bytes() == TINY.encode()
    assert sorted(p.name for p in src.iterdir()) == sorted(
        [
            "a-big.markdown",
            "b-tiny.markdown",
            ".b-tiny.markdown.orig",
        ]
    )


@needs_git
def test_a_failing_write_leaves_the_post_and_no_temporary_file(tmp_path: Path) -> None:
    src = tmp_path / "posts"
    big = _seed(src, "a-big.markdown")  # committed, so no backup: the 2 KB new text cannot be written
    _git(src, "init", "-q")
    _git(src, "add", "a-big.markdown")
    _git(src, "commit", "-q", "-m", "posts")
    tiny = write_post(src, "b-tiny.markdown", TINY)
    result = _invoke("--src", str(src), "--write", preexec_fn=_limit_file_size)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stdout.splitlines() if "a-big" in line]
    assert lines == [f"failed       {big}: cannot write (File too large), not rewritten"]
    assert big.read_bytes() == SEED.read_bytes()
    assert b"Hello [there](https://example.org/)." in tiny.read_bytes()
    assert sorted(p.name for p in src.iterdir()) == sorted(
        [
            ".git",
            "a-big.markdown",
            "b-tiny.markdown",
            ".b-tiny.markdown.orig",
        ]
    )


# --- 2. backups ---------------------------------------------------------------------------------


def test_write_keeps_a_byte_identical_orig(tmp_path: Path, settings: Settings, canonical: bytes) -> None:
    post = _seed(tmp_path / "posts")
    [status] = normalize_sources(tmp_path / "posts", settings, write=True)
    backup = orig(post)
    assert status.status == "rewritten" and status.backup == backup
    assert backup.read_bytes() == SEED.read_bytes()
    assert post.read_bytes() == canonical


def test_an_existing_orig_is_never_overwritten(tmp_path: Path, settings: Settings, canonical: bytes) -> None:
    post = _seed(tmp_path / "posts")
    write_post(post.parent, f".{POST}.orig", "the user's own backup\n")
    write_post(post.parent, f".{POST}.orig.1", "an older run's backup\n")
    [status] = normalize_sources(tmp_path / "posts", settings, write=True)
    assert status.status == "rewritten" and status.backup == orig(post, 2)
    assert orig(post).read_text() == "the user's own backup\n"
    assert orig(post, 1).read_text() == "an older run's backup\n"
    assert orig(post, 2).read_bytes() == SEED.read_bytes()
    assert post.read_bytes() == canonical


@needs_git
@pytest.mark.parametrize(
    ("state", "backup"),
    [("committed", False), ("modified", True), ("staged", True), ("untracked", True)],
)
def test_backup_unless_committed_unchanged_in_git(
    tmp_path: Path, settings: Settings, canonical: bytes, state: str, backup: bool
) -> None:
    src = tmp_path / "repo" / "_posts"
    post = _seed(src)
    repo = src.parent
    _git(repo, "init", "-q")
    write_post(repo, "README", "site\n")
    _git(repo, "add", "README", *([] if state == "untracked" else ["_posts"]))
    _git(repo, "commit", "-q", "-m", "posts")
    if state in ("modified", "staged"):
        post.write_bytes(SEED.read_bytes().replace(b"Maxime's work", b"Maxime\xe2\x80\x99s work"))
    if state == "staged":
        _git(repo, "add", "_posts")
    before = post.read_bytes()
    [status] = normalize_sources(src, settings, write=True)
    assert status.status == "rewritten"
    assert orig(post).exists() is backup
    if backup:
        assert orig(post).read_bytes() == before
    else:
        assert status.backup is None


@needs_git
def test_backup_kept_when_git_cannot_be_run(
    tmp_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    post = _seed(tmp_path / "repo")
    _git(post.parent, "init", "-q")
    _git(post.parent, "add", POST)
    _git(post.parent, "commit", "-q", "-m", "posts")
    monkeypatch.setenv("PATH", str(tmp_path / "no-git-here"))
    [status] = normalize_sources(post.parent, settings, write=True)
    assert status.status == "rewritten"
    assert orig(post).read_bytes() == SEED.read_bytes()


def test_discover_does_not_take_backups_for_posts(tmp_path: Path, settings: Settings) -> None:
    src = tmp_path / "posts"
    post = _seed(src)
    md = write_post(src, "2024-01-01-tiny.md", TINY)
    write_post(src, f".{POST}.orig", "an earlier backup\n")
    normalize_sources(src, settings, write=True)
    assert {p.name for p in src.iterdir()} == {
        POST,
        f".{POST}.orig",
        f".{POST}.orig.1",
        "2024-01-01-tiny.md",
        ".2024-01-01-tiny.md.orig",
    }
    posts, rejected = discover(src)
    assert posts == [md, post] and rejected == []
    statuses = normalize_sources(src, settings, write=True)
    assert [(s.path.name, s.status) for s in statuses] == [
        ("2024-01-01-tiny.md", "unchanged"),
        (POST, "unchanged"),
    ]


# --- 3. --check, --diff -------------------------------------------------------------------------


def _expected_diff(old: bytes, new: bytes, name: str) -> str:
    return "".join(
        difflib.unified_diff(
            old.decode().splitlines(keepends=True),
            new.decode().splitlines(keepends=True),
            fromfile=f"a/{name}",
            tofile=f"b/{name}",
        )
    )


def test_check_diff_prints_a_unified_diff_and_fails(tmp_path: Path, canonical: bytes) -> None:
    src = tmp_path / "posts"
    post = _seed(src, "a.markdown")
    clean = write_post(src, "b-clean.markdown", canonical)
    result = _invoke("--src", str(src), "--check", "--diff")
    assert result.returncode == 1, result.stdout + result.stderr
    expected = _expected_diff(SEED.read_bytes(), canonical, "a.markdown")
    assert expected.startswith("--- a/a.markdown\n+++ b/a.markdown\n@@ ")
    assert result.stdout == (f"would change {post}\nunchanged    {clean}\n" + expected)
    assert "1 post(s) would change, 0 failed" in result.stderr
    assert post.read_bytes() == SEED.read_bytes() and not orig(post).exists()


def test_diff_alone_prints_the_diff_and_exits_zero(tmp_path: Path, canonical: bytes) -> None:
    src = tmp_path / "posts"
    post = _seed(src, "a.markdown")
    result = _invoke("--src", str(src), "--diff")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == f"would change {post}\n" + _expected_diff(
        SEED.read_bytes(), canonical, "a.markdown"
    )
    assert post.read_bytes() == SEED.read_bytes()


def test_diff_alone_exits_one_when_a_post_failed(tmp_path: Path) -> None:
    src = tmp_path / "posts"
    _seed(src, "a.markdown")
    write_post(src, "b-bad.markdown", BAD)
    result = _invoke("--src", str(src), "--diff")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "--- a/a.markdown" in result.stdout and "b-bad.markdown:2: title: missing" in result.stdout


def test_check_diff_on_canonical_posts_prints_nothing_and_passes(tmp_path: Path, canonical: bytes) -> None:
    src = tmp_path / "posts"
    src.mkdir()
    clean = write_post(src, "b-clean.markdown", canonical)
    result = _invoke("--src", str(clean), "--check", "--diff")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == f"unchanged    {clean}\n"


def test_diff_of_a_single_file_src_names_the_file(tmp_path: Path, canonical: bytes) -> None:
    post = _seed(tmp_path / "deep" / "folder", "a.markdown")
    result = _invoke("--src", str(post), "--check", "--diff")
    assert result.returncode == 1
    assert "--- a/a.markdown\n+++ b/a.markdown\n" in result.stdout


def test_check_and_write_together_stay_an_error(tmp_path: Path) -> None:
    post = _seed(tmp_path / "posts")
    result = _invoke("--src", str(post.parent), "--check", "--write", "--diff")
    assert result.returncode == 2
    assert "choose --check or --write, not both" in result.stderr
    assert post.read_bytes() == SEED.read_bytes() and not orig(post).exists()


def test_write_with_diff_shows_what_was_rewritten(tmp_path: Path, canonical: bytes) -> None:
    src = tmp_path / "posts"
    post = _seed(src, "a.markdown")
    result = _invoke("--src", str(src), "--write", "--diff")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == (
        f"rewritten    {post} (old text kept in {orig(post)})\n"
        + _expected_diff(SEED.read_bytes(), canonical, "a.markdown")
    )


def test_diff_marks_a_missing_final_newline() -> None:
    text = unified_diff(b"a\nb", b"a\nc\n", "x.md")
    assert text == "--- a/x.md\n+++ b/x.md\n@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+c\n"


# --- 4. normalize_file decides; when it refuses, the file is left alone -----------------------


def test_a_post_normalize_refuses_is_left_alone(tmp_path: Path, settings: Settings, canonical: bytes) -> None:
    src = tmp_path / "posts"
    src.mkdir()
    bad = write_post(src, "a-bad.markdown", BAD)
    bad.chmod(0o600)
    stamp = bad.stat().st_mtime_ns
    good = _seed(src, "b-good.markdown")
    statuses = normalize_sources(src, settings, write=True)
    failed = _by_name(statuses, "a-bad.markdown")
    assert failed.status == "failed" and "title: missing" in (failed.error or "")
    assert bad.read_bytes() == BAD.encode() and bad.stat().st_mtime_ns == stamp and _mode(bad) == 0o600
    assert not orig(bad).exists()
    assert good.read_bytes() == canonical


# --- 5. a rewritten post keeps its author's layout; the summary says what was done ------------

DIRTY = "Hello   [there](https://example.org/?utm_source=feed).\n"
CLEAN = "Hello [there](https://example.org/).\n"
SUBSTACK_URL = "https://example.substack.com/p/ep-1"
# (the post as written, the post after `--write`)
LAYOUTS = {
    # No blank line after the front matter: none is added, and the one final newline stays.
    "tight": (
        "---\ntitle: Tiny\n# a comment\n\ndate:   2024-01-01\n---\n" + DIRTY,
        "---\ntitle: Tiny\n# a comment\n\ndate:   2024-01-01\n---\n" + CLEAN,
    ),
    # The blank line is kept, and the delimiter lines as written (`--- `, `...`); one final newline.
    "loose": (
        "--- \ntitle: Tiny\ndate: 2024-01-01\n...\n\n" + DIRTY + "\n\n",
        "--- \ntitle: Tiny\ndate: 2024-01-01\n...\n\n" + CLEAN,
    ),
    # A BOM and Windows line ends: the front matter's bytes stay, the body gets the same line ends.
    "crlf": (
        "\ufeff---\r\ntitle: Tiny\r\ndate: 2024-01-01\r\n---\r\n" + DIRTY.replace("\n", "\r\n"),
        "\ufeff---\r\ntitle: Tiny\r\ndate: 2024-01-01\r\n---\r\n" + CLEAN.replace("\n", "\r\n"),
    ),
    # A key normalization adds goes last, before the closing line as written.
    "substack": (
        f"---\ntitle: Tiny  \ndate: 2024-01-01\n---  \nHello.\n\nRead on [Substack]({SUBSTACK_URL}).\n",
        f"---\ntitle: Tiny  \ndate: 2024-01-01\nsubstack_url: {SUBSTACK_URL}\n---  \nHello.\n",
    ),
}


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_write_keeps_the_front_matter_as_written_and_one_final_newline(
    tmp_path: Path, settings: Settings, layout: str
) -> None:
    before, after = LAYOUTS[layout]
    src = tmp_path / "posts"
    src.mkdir()
    post = write_post(src, "2024-01-01-tiny.md", before)
    [status] = normalize_sources(src, settings, write=True)
    assert status.status == "rewritten"
    assert post.read_bytes() == after.encode("utf-8")
    [again] = normalize_sources(src, settings, write=True)  # what was written is canonical
    assert again.status == "unchanged" and post.read_bytes() == after.encode("utf-8")


def test_the_summary_after_write_says_what_was_rewritten(tmp_path: Path) -> None:
    src = tmp_path / "posts"
    src.mkdir()
    write_post(src, "a-tiny.markdown", TINY)
    write_post(src, "b-bad.markdown", BAD)
    result = _invoke("--src", str(src), "--write")
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stderr.strip().splitlines()[-1] == "1 post(s) rewritten, 1 failed"
