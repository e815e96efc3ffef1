"""Every settings table checked once, when the settings are loaded: a typo is one error, before
any post is read, with the key it was meant to be."""

from __future__ import annotations

import dataclasses
import gc
import os
import pickle
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from pipeline.builder.fingerprints import fingerprints
from pipeline.builder.run import build
from pipeline.errors import ConfigError
from pipeline.formats import FORMATS
from pipeline.formats.descriptions.options import DescriptionOptions, PodcastOptions, description_options
from pipeline.formats.newsletter import options as newsletter
from pipeline.formats.newsletter.options import NewsletterOptions, newsletter_options
from pipeline.formats.pdf.options import PdfOptions, pdf_options
from pipeline.importer.options import ImportOptions, import_options
from pipeline.mail.options import EmailOptions, email_options
from pipeline.settings import schema
from pipeline.settings.config import (
    FORMAT_TABLES,
    TABLE_READERS,
    CoreSettings,
    PipelineTable,
    Settings,
    load_settings,
    settings_from_table,
)
from pipeline.settings.site import find_settings

from .conftest import CORPUS, ROOT

# One misspelt key per table: (the table's lines, the key written, the key meant, its label).
TYPOS = [
    ('show_nmae = "Show"\n', "show_nmae", "show_name", "top level"),
    (
        '[newsletter]\nfrom_adress = "a@example.org"\n',
        "from_adress",
        "from_address",
        "[newsletter]",
    ),
    ('[pdf]\npage_sise = "A4"\n', "page_sise", "page_size", "[pdf]"),
    ('[youtube]\nhashtag = ["ml"]\n', "hashtag", "hashtags", "[youtube]"),
    ("[podcast]\nmax_byte = 3000\n", "max_byte", "max_bytes", "[podcast]"),
    ("[email]\ntimout = 10\n", "timout", "timeout", "[email]"),
]


def _settings_file(folder: Path, text: str) -> Path:
    path = folder / "episode.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(("text", "typo", "meant", "table"), TYPOS, ids=[t[3] for t in TYPOS])
def test_a_typo_in_any_table_is_refused_at_load_with_the_key_meant(
    tmp_path: Path, text: str, typo: str, meant: str, table: str
) -> None:
    path = _settings_file(tmp_path, text)
    for load in (
        lambda: load_settings(path),
        lambda: find_settings(str(path), tmp_path, cwd=tmp_path, env={}),
    ):
        with pytest.raises(ConfigError) as caught:
            load()
        assert str(caught.value) == f"{path}: {table}: {typo}: unknown setting (did you mean {meant}?)"


def test_typos_in_two_tables_are_one_error(tmp_path: Path) -> None:
    path = _settings_file(tmp_path, 'show_nmae = "Show"\n[pdf]\npage_sise = "A4"\n[email]\ntimeout = 0\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert str(caught.value) == (
        f"{path}: top level: show_nmae: unknown setting (did you mean show_name?); "
        "[pdf]: page_sise: unknown setting (did you mean page_size?); "
        "[email]: timeout: expected a positive number of at most 1,000,000,000, got 0"
    )


def test_the_uniform_wording_of_a_wrong_value() -> None:
    table = {
        "pdf": {"max_pages": 0, "page_size": "A5", "qr_code": "yes", "timeout": "10"},
        "youtube": {"max_bytes": 6000},
        "newsletter": {"text_width": 30, "max_html_bytes": True},
    }
    with pytest.raises(ConfigError) as caught:
        settings_from_table(table, "episode.toml")
    message = str(caught.value)
    for problem in (
        "max_pages: expected a positive integer of at most 1,000,000,000, got 0",
        "page_size: expected one of 'A4', 'Letter', got 'A5'",
        "qr_code: expected true or false, got string",
        "timeout: expected a positive number of at most 1,000,000,000, got string",
        "max_bytes: expected an integer from 200 to 5,000, got 6000",
        "text_width: expected an integer from 40 to 200, got 30",
        "max_html_bytes: expected an integer from 1,024 to 1,000,000,000, got boolean",
    ):
        assert problem in message
    assert "\n" not in message


def test_a_key_far_from_any_names_the_known_keys() -> None:
    with pytest.raises(ConfigError, match=r"colour: unknown setting \(known: timeout\)"):
        settings_from_table({"email": {"colour": "blue"}}, "episode.toml")


def test_a_format_table_that_is_no_table_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"top level: pdf: expected a table, got string"):
        settings_from_table({"pdf": "A4"}, "episode.toml")


def test_messages_name_the_tables_as_the_file_writes_them() -> None:
    """`[newsletter]` in an episode.toml, `[tool.pipeline.newsletter]` in a pyproject.toml; a
    top-level key written inside a table, or `[tool.pipeline…]` in an episode.toml, says where."""
    table = {"newsletter": {"from_adress": "a@b.org", "show_name": "X"}}
    with pytest.raises(ConfigError) as written:
        settings_from_table(table, "site/episode.toml")
    assert str(written.value) == (
        "site/episode.toml: [newsletter]: from_adress: unknown setting (did you mean from_address?); "
        "show_name: a top-level setting, not one of this table: put it above the first table"
    )
    with pytest.raises(ConfigError) as written:
        settings_from_table(table, "site/pyproject.toml")
    assert str(written.value) == (
        "site/pyproject.toml: [tool.pipeline.newsletter]: from_adress: unknown setting (did you mean"
        " from_address?); show_name: a top-level setting, not one of this table: put it in"
        " [tool.pipeline], above its tables"
    )
    with pytest.raises(ConfigError) as written:
        settings_from_table({"tool": {"pipeline": {"newsletter": {}}}}, "episode.toml")
    assert str(written.value) == (
        "episode.toml: top level: tool: in an episode.toml the tables are [newsletter], [pdf],"
        " [youtube], [podcast], [email], [import], without tool.pipeline"
    )


def test_loaded_settings_keep_every_table_checked_and_pickle() -> None:
    settings = load_settings(ROOT / "samples" / "episode.toml")
    assert set(settings.options) == set(TABLE_READERS)
    assert newsletter_options(settings) is settings.options["newsletter"]
    assert pdf_options(settings) is settings.options["pdf"]
    assert description_options(settings, "youtube") is settings.options["youtube"]
    assert description_options(settings, "podcast") is settings.options["podcast"]
    assert email_options(settings) is settings.options["email"]
    assert [type(settings.options[t]) for t in TABLE_READERS] == [
        NewsletterOptions,
        PdfOptions,
        DescriptionOptions,
        PodcastOptions,
        EmailOptions,
        ImportOptions,
    ]
    copy = pickle.loads(pickle.dumps(settings))  # as the settings reach a worker process
    assert copy.options == settings.options
    assert copy == settings and fingerprints(copy) == fingerprints(settings)
    defaults = settings_from_table({}, "defaults")
    assert defaults == Settings() and fingerprints(defaults) == fingerprints(Settings())


def test_changed_settings_check_their_tables_again() -> None:
    settings = load_settings(ROOT / "samples" / "episode.toml")
    changed = dataclasses.replace(settings, formats={**settings.formats, "email": {"timeout": 5}})
    assert changed.options == {}
    assert email_options(changed).timeout == 5.0
    with pytest.raises(ConfigError, match="timout: unknown setting"):
        email_options(dataclasses.replace(settings, formats={"email": {"timout": 5}}))


def test_each_settings_table_is_the_one_its_format_declares() -> None:
    """One declaration per format: its table and reader come from `FORMATS`, and the settings
    read every key of the top level once (the Settings inherit them, defaults included)."""
    declared = {f.table: f.options for f in FORMATS.values() if f.table}
    assert {**declared, "email": email_options, "import": import_options} == TABLE_READERS
    assert set(FORMAT_TABLES) == set(declared) | {"email", "import"}
    top = {f.name for f in dataclasses.fields(CoreSettings)}
    # `import` is a Python keyword: its field is `import_`, set by the table's name.
    assert set(schema.settable(PipelineTable)) == top | set(FORMAT_TABLES)
    assert issubclass(Settings, CoreSettings)
    assert all(getattr(PipelineTable(), name) == getattr(Settings(), name) for name in top)


def _posts(tmp_path: Path, count: int) -> Path:
    src = tmp_path / "posts"
    src.mkdir()
    for post in sorted((CORPUS / "imported").glob("*.markdown"))[:count]:
        shutil.copy(post, src / post.name)
    return src


def test_build_with_a_typo_fails_once_before_any_post(tmp_path: Path) -> None:
    src, out = _posts(tmp_path, 2), tmp_path / "out"
    config = _settings_file(tmp_path, '[newsletter]\nfrom_adress = "a@example.org"\n')
    command = [sys.executable, "-m", "invoke", "build", "--src", str(src), "--out", str(out)]
    done = subprocess.run([*command, "--config", str(config)], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode != 0
    assert (done.stdout + done.stderr).splitlines() == [
        f"{config}: error: [newsletter]: from_adress: unknown setting (did you mean from_address?)"
    ]
    assert not out.exists() or not [p for p in out.iterdir() if p.is_dir()]


def test_options_are_checked_once_per_build_not_per_post(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads: Counter[str] = Counter()
    read_table = schema.read_table
    options_from_table = newsletter.options_from_table

    def counted_read_table(cls: type[Any], *args: Any, **kwargs: Any) -> Any:
        reads[cls.__name__] += 1
        return read_table(cls, *args, **kwargs)

    def counted_newsletter(*args: Any, **kwargs: Any) -> NewsletterOptions:
        reads["options_from_table"] += 1
        return options_from_table(*args, **kwargs)

    monkeypatch.setattr(schema, "read_table", counted_read_table)
    monkeypatch.setattr(newsletter, "options_from_table", counted_newsletter)
    settings = load_settings(ROOT / "samples" / "episode.toml")
    summary = build(
        _posts(tmp_path, 3),
        tmp_path / "out",
        settings,
        jobs=1,
        only=["post", "newsletter", "youtube", "podcast", "pdf"],
    )
    assert summary.count("built") == 3
    assert reads == {
        "options_from_table": 1,
        "NewsletterOptions": 1,
        "PdfOptions": 1,
        "DescriptionOptions": 1,
        "PodcastOptions": 1,
        "EmailOptions": 1,
        "ImportOptions": 1,
    }


# --- numbers: finite, within a stated range --------------------------------------------------------

HOSTILE_NUMBERS = [
    (
        "[pdf]\ntimeout = nan\n",
        "[pdf]: timeout: expected a positive number of at most 1,000,000,000, got nan",
    ),
    (
        "[pdf]\ntimeout = inf\n",
        "[pdf]: timeout: expected a positive number of at most 1,000,000,000, got inf",
    ),
    (
        "[pdf]\ntimeout = -inf\n",
        "[pdf]: timeout: expected a positive number of at most 1,000,000,000, got -inf",
    ),
    (
        "[pdf]\ntimeout = 1e308\n",
        "[pdf]: timeout: expected a positive number of at most 1,000,000,000, got 1e+308",
    ),
    (
        "[pdf]\nnetwork_timeout = -5.0\n",
        "[pdf]: network_timeout: expected a positive number of at most 1,000,000,000, got -5.0",
    ),
    (
        "[pdf]\nmax_pages = -3\n",
        "[pdf]: max_pages: expected a positive integer of at most 1,000,000,000, got -3",
    ),
    (
        "[email]\ntimeout = nan\n",
        "[email]: timeout: expected a positive number of at most 1,000,000,000, got nan",
    ),
    (
        "[email]\ntimeout = " + "9" * 400 + "\n",
        "[email]: timeout: expected a positive number of at most 1,000,000,000, got an integer of 400 digits",
    ),
    (
        "[newsletter]\nmax_html_bytes = 9223372036854775807\n",
        "[newsletter]: max_html_bytes: expected an integer from 1,024 to 1,000,000,000, got 9223372036854775807",
    ),
    (
        "[podcast]\nmax_bytes = nan\n",
        "[podcast]: max_bytes: expected an integer from 200 to 4,000, got float",
    ),
]


@pytest.mark.parametrize(("text", "problem"), HOSTILE_NUMBERS, ids=[t for t, _ in HOSTILE_NUMBERS])
def test_a_number_that_is_not_finite_or_out_of_range_is_one_error(
    tmp_path: Path, text: str, problem: str
) -> None:
    """Before: `nan`, `inf` and `1e308` passed the schema and every post then failed with an
    internal error (a timer out of range); a 400-digit timeout overflowed float()."""
    path = _settings_file(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert str(caught.value) == f"{path}: {problem}"


def test_every_number_option_states_its_range() -> None:
    """Each number of every table has a lowest and a highest value, and the wording says them."""
    for table in (
        PipelineTable,
        NewsletterOptions,
        PdfOptions,
        DescriptionOptions,
        PodcastOptions,
        EmailOptions,
    ):
        for name, spec in schema.settable(table).items():
            default = spec.default
            if isinstance(default, bool) or not isinstance(default, int | float):
                continue
            rule = spec.metadata.get("rule", schema.Rule())
            lowest, highest = schema.bounds(rule)
            assert lowest is not None or rule.positive, name
            assert highest <= schema.LARGEST, name
            assert (lowest is None or lowest <= default) and default <= highest, name
            wording = schema.expected(default, rule)
            assert wording.endswith((f"at most {highest:,}", f" to {highest:,}")), (name, wording)


def test_a_huge_timeout_in_range_still_builds(tmp_path: Path) -> None:
    """The ceiling is usable: the largest timeout allowed renders the show notes."""
    settings = settings_from_table({"pdf": {"timeout": float(schema.LARGEST)}}, "episode.toml")
    summary = build(_posts(tmp_path, 1), tmp_path / "out", settings, jobs=1, only=["pdf"])
    assert summary.count("built") == 1, [r.error for r in summary.results]


def test_a_bad_number_stops_the_command_in_one_line(tmp_path: Path) -> None:
    src, out = _posts(tmp_path, 1), tmp_path / "out"
    config = _settings_file(tmp_path, "[pdf]\ntimeout = nan\n")
    command = [
        sys.executable,
        "-m",
        "invoke",
        "build",
        "--src",
        str(src),
        "--out",
        str(out),
        "--config",
        str(config),
    ]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 1
    assert (done.stdout + done.stderr).splitlines() == [
        f"{config}: error: [pdf]: timeout: expected a positive number of at most 1,000,000,000, got nan"
    ]


# --- web addresses -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "file:///etc/passwd",
        "ftp://example.org",
        "//example.org",
        "example.org",
        "https://",
        "http://[::1",
    ],
)
def test_site_url_must_be_an_http_url(tmp_path: Path, url: str) -> None:
    path = _settings_file(tmp_path, f"site_url = {url!r}\n".replace("'", '"'))
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert str(caught.value) == (
        f"{path}: top level: site_url: expected an http:// or https:// URL such as "
        f"'https://example.org', got {url!r}"
    )


@pytest.mark.parametrize(
    "url", ["https://example.org", "http://localhost:4000", "https://example.org/podcast/", ""]
)
def test_site_url_takes_http_and_https(tmp_path: Path, url: str) -> None:
    assert load_settings(_settings_file(tmp_path, f'site_url = "{url}"\n')).site_url == url


# --- the settings file itself ----------------------------------------------------------------------


def test_a_settings_file_over_1_mb_is_refused_before_it_is_parsed(tmp_path: Path) -> None:
    path = _settings_file(tmp_path, 'show_name = "x"\n' + "# padding\n" * 120_000)
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert str(caught.value) == f"{path}: is 1.2 MB; settings files are at most 1 MB"


def test_deeply_nested_toml_is_one_error(tmp_path: Path) -> None:
    """Before: tomllib's RecursionError was a traceback."""
    path = _settings_file(tmp_path, "x = " + "[" * 5000 + "]" * 5000 + "\n")
    # Parsing runs to the recursion limit: an earlier test's garbage finalized down there would
    # fail in its finalizer, so it is collected first and no collection runs meanwhile.
    gc.collect()
    gc.disable()
    try:
        with pytest.raises(ConfigError) as caught:
            load_settings(path)
    finally:
        gc.enable()
    assert str(caught.value) == f"{path}: not valid TOML: arrays or inline tables nested too deeply"


def test_a_pipe_as_the_settings_file_is_refused_at_once(tmp_path: Path) -> None:
    """Before: reading a FIFO named by --config waited for a writer for ever."""
    fifo = tmp_path / "episode.toml"
    os.mkfifo(fifo)
    with pytest.raises(ConfigError) as caught:
        find_settings(str(fifo), tmp_path, cwd=tmp_path, env={})
    assert str(caught.value) == f"{fifo}: is a FIFO, not a regular file"
