"""What the tool prints is safe on a terminal and says each thing once.

- No line the tool prints (errors, warnings, notes, the summary, `episode check` as text and as
  JSON) carries a control or bidi character: each is shown escaped (`\\x1b`, `\\u202e`), so the
  user sees what is there and the terminal does not act on it.
- A message carries its severity word once: never `error: error:` or `warning: warning:`.
- In a body, U+FEFF and U+200B are dropped and reported with the other invisible characters;
  a soft hyphen, ZWJ and ZWNJ are text and stay.

The behaviour tests run the real commands (`episode build`, `episode check`) on real post files;
two small ones pin `errors.printable` and the front-matter key error.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import unicodedata
from pathlib import Path

import pytest

from pipeline import errors
from pipeline.errors import SourceError
from pipeline.results import Diagnostic
from pipeline.source.post_file import read_post

from .conftest import FIXTURES, run_episode, write_post

HEAD = "---\ntitle: 'Escapes'\ndate: 2024-01-01 10:00:00 +0000\n---\n"
# A post that fails: its youtubeID holds an ESC sequence and an RLO (line 4 of the file), and the
# error names the value as written.
BAD_ID_POST = (
    "---\ntitle: 'Escapes'\ndate: 2024-01-01 10:00:00 +0000\n"
    'youtubeID: "a\\e[31mred\\u202eevil"\n---\nBody.\n'  # YAML's escapes: ESC, RLO
)
# What no printed line may hold: C0 controls but tab (newline ends a line; a lone CR would move
# the cursor), DEL, C1 controls, bidi controls, line and paragraph separators.
UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]")


def _episode(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_episode(cwd, *args)


def _unsafe(text: str) -> list[str]:
    """The unsafe characters in `text`, by name, for an assertion message."""
    return [f"U+{ord(c):04X}" for c in UNSAFE.findall(text.replace("\r\n", "\n"))]


# --- no control or bidi character in a message ------------------------------------------------------


def test_a_value_with_esc_and_rlo_is_one_line_that_shows_them_escaped(tmp_path: Path) -> None:
    src = tmp_path / "posts"
    src.mkdir()
    write_post(src, "2024-01-01-escapes.md", BAD_ID_POST)
    done = _episode(tmp_path, "build", "--src", "posts", "--out", "out", "--only", "post")
    assert done.returncode == 1, done.stdout
    assert not _unsafe(done.stdout), (_unsafe(done.stdout), done.stdout)
    (error,) = [line for line in done.stdout.splitlines() if ": error: " in line]
    assert error.startswith("posts/2024-01-01-escapes.md:4: error: youtubeID: ")
    assert "'a\\x1b[31mred\\u202eevil'" in error


def test_check_text_and_json_show_the_characters_escaped(tmp_path: Path) -> None:
    src = tmp_path / "posts"
    src.mkdir()
    write_post(src, "2024-01-01-escapes.md", BAD_ID_POST)
    text = _episode(tmp_path, "check", "--src", "posts", "--no-pdf")
    assert text.returncode == 1, text.stdout
    assert not _unsafe(text.stdout), (_unsafe(text.stdout), text.stdout)
    assert "a\\x1b[31mred\\u202eevil" in text.stdout
    done = _episode(tmp_path, "check", "--src", "posts", "--no-pdf", "--json")
    records = json.loads(done.stdout)["records"]
    (record,) = [r for r in records if r["severity"] == "error"]
    # The message itself, as a program reads it, holds the escape, not the character.
    assert not _unsafe(record["message"]), record["message"]
    assert "a\\x1b[31mred\\u202eevil" in record["message"]
    assert not _unsafe(done.stdout)


def test_a_hidden_character_in_a_front_matter_key_is_shown_not_stripped(tmp_path: Path) -> None:
    src = tmp_path / "posts"
    shutil.copytree(FIXTURES / "bad", src, ignore=shutil.ignore_patterns("*.json", "[!k]*"))
    done = _episode(tmp_path, "build", "--src", "posts", "--out", "out", "--only", "post")
    assert not _unsafe(done.stdout), done.stdout
    assert "posts/key-bidi.md:3: error: yo\\u202eutubeID: the key contains invisible" in done.stdout


def test_a_settings_error_shows_the_characters_of_the_settings_file_escaped(tmp_path: Path) -> None:
    src = tmp_path / "posts"
    src.mkdir()
    write_post(src, "2024-01-01-post.md", HEAD + "A body.\n")
    (tmp_path / "episode.toml").write_text('"show\\u001b[2Jname" = "x"\nshow_name = "A \\u202e B"\n')
    done = _episode(tmp_path, "build", "--src", "posts", "--out", "out")
    assert done.returncode == 1, done.stdout
    assert not _unsafe(done.stdout), (_unsafe(done.stdout), done.stdout)
    assert "show\\x1b[2Jname: unknown setting" in done.stdout


def test_a_post_file_name_with_esc_is_shown_escaped_in_progress_and_summary(tmp_path: Path) -> None:
    site = tmp_path / "site"
    (site / "_posts").mkdir(parents=True)
    (site / "_config.yml").write_text("title: Site\n")
    write_post(site / "_posts", "2024-01-01-name\x1b[2Jx.md", HEAD + "A body.\n")
    write_post(site / "_posts", "undated\u202eevil.md", HEAD + "Not a post.\n")
    done = _episode(site, "build", "--only", "post")
    assert done.returncode == 0, done.stdout
    assert not _unsafe(done.stdout), (_unsafe(done.stdout), done.stdout)
    assert "built   _posts/2024-01-01-name\\x1b[2Jx.md" in done.stdout
    assert "left alone: undated\\u202eevil.md" in done.stdout


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("a\x1b[31mb", "a\\x1b[31mb"),
        ("a\u202eb\u2066c", "a\\u202eb\\u2066c"),
        ("a\x07\x7f\x85\x9bb", "a\\x07\\x7f\\x85\\x9bb"),
        ("one\u2028two\x0bthree\x1cfour", "one\\u2028two\\x0bthree\\x1cfour"),
        ("line one\nline two\r\n\tthree", "line one line two three"),
        ("a\ufeffb\u200bc", "a\\ufeffb\\u200bc"),
        (
            "soft\u00adhyphen, zw\u200dj, zw\u200cnj, \U0001f600",
            "soft\u00adhyphen, zw\u200dj, zw\u200cnj, \U0001f600",
        ),
    ],
)
def test_printable_escapes_controls_and_keeps_text(raw: str, shown: str) -> None:
    assert errors.printable(raw) == shown
    assert errors.printable(shown) == shown  # escaping twice changes nothing
    error = SourceError(raw, path="x.md", line=2, field="title")
    assert str(error) == f"x.md:2: title: {shown}"
    assert Diagnostic("warning", raw, rule=raw).message == shown
    assert Diagnostic("warning", raw, rule=raw).rule == shown


def test_a_key_error_keeps_the_key_as_written_for_the_program_and_escaped_for_the_user() -> None:
    with pytest.raises(SourceError) as caught:
        read_post(FIXTURES / "bad" / "key-bidi.md")
    assert caught.value.field == "yo\u202eutubeID"
    assert "yo\\u202eutubeID: the key" in str(caught.value)


# --- one severity word ------------------------------------------------------------------------------


@pytest.mark.slow
def test_no_line_says_its_severity_twice(tmp_path: Path) -> None:
    src = tmp_path / "posts"
    shutil.copytree(FIXTURES / "bad", src, ignore=shutil.ignore_patterns("*.json"))
    for post in (FIXTURES / "hostile").glob("*.md"):
        shutil.copy(post, src / post.name)
    write_post(src, "2024-01-01-escapes.md", BAD_ID_POST)
    runs = [
        _episode(tmp_path, "build", "--src", "posts", "--out", "out", "--only", "post,youtube"),
        _episode(tmp_path, "build", "--src", "posts", "--out", "out", "--only", "post,youtube"),  # remembered
        _episode(tmp_path, "check", "--src", "posts", "--no-pdf"),
    ]
    lines = [line for run in runs for line in run.stdout.splitlines()]
    assert any("escapes.md:4: error: youtubeID: " in line for line in lines), "\n".join(lines)
    assert "failed the same way in an earlier build" in runs[1].stdout, runs[1].stdout
    doubled = [line for line in lines if re.search(r"\b(error|warning|info|note): \1:", line, re.IGNORECASE)]
    assert not doubled, "\n".join(doubled)
    document = json.loads(_episode(tmp_path, "check", "--src", "posts", "--no-pdf", "--json").stdout)
    records = document["records"]
    severities = [r for r in records if re.match(r"(error|warning|info|note):", r["message"], re.IGNORECASE)]
    assert not severities, severities


# --- invisible characters in a body -----------------------------------------------------------------

DROPPED = {"\ufeff": "ZERO WIDTH NO-BREAK SPACE", "\u200b": "ZERO WIDTH SPACE"}
KEPT = ("\u00ad", "\u200d", "\u200c")


def _build_one(tmp_path: Path, char: str) -> tuple[subprocess.CompletedProcess[str], Path]:
    src = tmp_path / "posts"
    src.mkdir()
    body = f"Before{char}after in a sentence.\n\nA [link{char}text](https://example.com/p) here.\n"
    write_post(src, "2024-01-01-invisible.md", HEAD + body)
    done = _episode(tmp_path, "build", "--src", "posts", "--out", "out", "--only", "post,newsletter")
    return done, tmp_path / "out" / "2024-01-01-invisible"


@pytest.mark.parametrize("char", sorted(DROPPED))
def test_bom_and_zero_width_space_in_a_body_are_dropped_and_reported(tmp_path: Path, char: str) -> None:
    done, out = _build_one(tmp_path, char)
    assert done.returncode == 0, done.stdout
    post_md = (out / "post.md").read_text("utf-8")
    assert char not in post_md
    assert "Beforeafter in a sentence." in post_md and "[linktext](https://example.com/p)" in post_md
    assert char not in (out / "newsletter.txt").read_text("utf-8")
    assert char not in (out / "newsletter.html").read_text("utf-8")
    report = (out / "report.txt").read_text("utf-8").splitlines()
    label = f"U+{ord(char):04X} {DROPPED[char]}"
    assert report == [
        f"control-characters: {label} removed on line 5",
        f"control-characters: {label} removed on line 7",
    ]


@pytest.mark.parametrize("char", KEPT, ids=lambda c: unicodedata.name(c))
def test_soft_hyphen_zwj_and_zwnj_in_a_body_are_text_and_stay(tmp_path: Path, char: str) -> None:
    done, out = _build_one(tmp_path, char)
    assert done.returncode == 0, done.stdout
    post_md = (out / "post.md").read_text("utf-8")
    assert f"Before{char}after in a sentence." in post_md
    assert f"[link{char}text](https://example.com/p)" in post_md
    assert f"Before{char}after" in (out / "newsletter.txt").read_text("utf-8")
    assert (out / "report.txt").read_text("utf-8") == "nothing dropped or changed\n"


@pytest.mark.parametrize("char", ["\x1b", "\u202e", "\ufeff", "\u200b"], ids=ascii)
def test_an_invisible_character_inside_a_url_is_dropped_and_reported_not_lost(
    tmp_path: Path, char: str
) -> None:
    src = tmp_path / "posts"
    src.mkdir()
    write_post(src, "2024-01-01-url.md", HEAD + f"A <https://example.com/p{char}q> here.\n")
    done = _episode(tmp_path, "build", "--src", "posts", "--out", "out", "--only", "post")
    assert done.returncode == 0, done.stdout
    out = tmp_path / "out" / "2024-01-01-url"
    assert "<https://example.com/pq>" in (out / "post.md").read_text("utf-8")
    assert f"control-characters: U+{ord(char):04X}" in (out / "report.txt").read_text("utf-8")
