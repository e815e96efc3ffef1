"""A site's repository takes pull requests: its templates, `_config.yml` and `.gitignore` are input,
never a way to run code, read or write files elsewhere, or crash a command with a traceback."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from jinja2.sandbox import SandboxedEnvironment

from pipeline.builder.run import build
from pipeline.cli.check import check_archive
from pipeline.errors import ConfigError, PipelineError, RenderError
from pipeline.formats.templating import environment, render_template
from pipeline.settings.site import MAX_YAML_DEPTH, find_settings, init_site, jekyll_values, locate

from .conftest import CORPUS, ROOT

ESCAPE = '{{{{ cycler.__init__.__globals__.os.popen("id > {marker}").read() }}}}'


@pytest.fixture
def site(tmp_path: Path) -> Path:
    root = tmp_path / "site"
    (root / "_posts").mkdir(parents=True)
    shutil.copy(CORPUS / "site-today" / "_config.yml", root / "_config.yml")
    for post in sorted((CORPUS / "site-today").glob("*.markdown"))[:1]:
        shutil.copy(post, root / "_posts" / post.name)
    return root


def _run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "invoke", *args], cwd=cwd, capture_output=True, text=True)


def _errors(done: subprocess.CompletedProcess[str]) -> list[str]:
    return [
        line
        for line in (done.stdout + done.stderr).splitlines()
        if ": error: " in line or line.startswith("error")
    ]


# --- templates: the sandbox ------------------------------------------------------------------------


def test_every_template_renders_in_the_sandbox() -> None:
    assert isinstance(environment(), SandboxedEnvironment)
    assert isinstance(environment("/nonexistent/templates"), SandboxedEnvironment)


@pytest.mark.parametrize("command", ["build", "check"])
def test_a_site_template_cannot_run_code(site: Path, tmp_path: Path, command: str) -> None:
    """Before: the template ran `id` on `build` and on `check`."""
    marker = tmp_path / "ran"
    (site / "templates").mkdir()
    (site / "templates" / "newsletter.txt.j2").write_text("Hello\n\n" + ESCAPE.format(marker=marker) + "\n")
    done = _run(
        command, "--src", str(site), *(["--out", str(tmp_path / "out")] if command == "build" else [])
    )
    assert not marker.exists()
    assert done.returncode == 1, done.stdout + done.stderr
    template = site / "templates" / "newsletter.txt.j2"
    errors = _errors(done)
    assert len(errors) == 1, errors
    assert f"{template}:3: not allowed in a template: access to attribute '__init__'" in errors[0]
    assert "Traceback" not in done.stderr and "internal error" not in done.stdout


ESCAPES = [
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ lipsum.__globals__['os'].system('id') }}",
    "{{ self._TemplateReference__context }}",
    "{{ '{0.__class__}'.format(c) }}",
    "{{ c.__class__.__init__.__globals__ }}",
    "{{ joiner.__init__.__globals__ }}",
    "{{ range.__globals__ }}",
]


@pytest.mark.parametrize("source", ESCAPES)
def test_sandbox_rules_are_one_error_naming_the_template_and_line(tmp_path: Path, source: str) -> None:
    (tmp_path / "page.j2").write_text("line one\n" + source + "\n")
    with pytest.raises(RenderError) as caught:
        render_template("page.j2", str(tmp_path), c="text")
    assert str(caught.value).startswith(f"{tmp_path / 'page.j2'}:2: not allowed in a template: ")
    assert "\n" not in str(caught.value)


def test_the_sandbox_keeps_what_templates_do(tmp_path: Path) -> None:
    (tmp_path / "page.j2").write_text(
        "{% set n = namespace(k=1) %}{{ n.k }} {{ c|upper }} {{ '{:,}'.format(1234) }} {{ '%s!'|format(c) }}"
        "{% for i in range(2) %}{{ loop.index }}{% endfor %} {{ {'a': 1}.items()|list }}\n"
    )
    assert render_template("page.j2", str(tmp_path), c="x") == "1 X 1,234 x!12 [('a', 1)]\n"


# --- templates: the loader -------------------------------------------------------------------------


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    path = tmp_path / "secret.txt"
    path.write_text("the maintainer's secret\n")
    return path


def _templates(tmp_path: Path, source: str) -> Path:
    folder = tmp_path / "site" / "templates"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "page.j2").write_text("before\n" + source + "\n")
    return folder


@pytest.mark.parametrize(
    "name",
    ["../../secret.txt", "/{secret}", "..//../secret.txt", "./../../secret.txt", "x/../../../secret.txt"],
)
def test_include_reads_nothing_outside_the_template_folders(tmp_path: Path, secret: Path, name: str) -> None:
    include = name.format(secret=secret)
    folder = _templates(tmp_path, f'{{% include "{include}" %}}')
    with pytest.raises(RenderError) as caught:
        render_template("page.j2", str(folder))
    assert str(caught.value) == (
        f"{folder / 'page.j2'}:2: template {include!r} not found: a template includes only files of templates/"
    )


@pytest.mark.parametrize(
    "statement", ['{% include "link.j2" %}', '{% import "link.j2" as x %}', '{% extends "link.j2" %}']
)
def test_a_link_out_of_the_template_folder_is_not_read(tmp_path: Path, secret: Path, statement: str) -> None:
    """Before: a symbolic link in templates/ pulled any file of the machine into the outputs."""
    folder = _templates(tmp_path, statement)
    (folder / "link.j2").symlink_to(secret)
    with pytest.raises(RenderError) as caught:
        render_template("page.j2", str(folder))
    assert (
        str(caught.value)
        == f"{folder / 'link.j2'}: a symbolic link to a file outside the templates folder: not read"
    )


def test_a_site_template_that_is_a_link_out_is_not_read(tmp_path: Path, secret: Path) -> None:
    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "newsletter.txt.j2").symlink_to(secret)
    with pytest.raises(RenderError, match="a symbolic link to a file outside the templates folder"):
        render_template("newsletter.txt.j2", str(folder))


def test_a_link_inside_the_template_folder_is_read(tmp_path: Path) -> None:
    folder = _templates(tmp_path, '{% include "parts/link.j2" %}')
    (folder / "parts").mkdir()
    (folder / "parts" / "real.j2").write_text("inside")
    (folder / "parts" / "link.j2").symlink_to(folder / "parts" / "real.j2")
    assert render_template("page.j2", str(folder)) == "before\ninside"  # trim_blocks takes the newline


def test_a_pipe_or_bad_bytes_in_the_template_folder_are_one_error(tmp_path: Path) -> None:
    folder = _templates(tmp_path, '{% include "pipe.j2" %}')
    os.mkfifo(folder / "pipe.j2")
    with pytest.raises(RenderError, match=r"pipe.j2: not a regular file: not read"):
        render_template("page.j2", str(folder))
    (folder / "page.j2").write_bytes(b"caf\xe9 {{ 1 }}\n")
    environment.cache_clear()
    with pytest.raises(RenderError, match=r"page.j2: not UTF-8 \(byte 3\)"):
        render_template("page.j2", str(folder))


def test_a_site_templates_mistake_is_one_line_with_its_line(tmp_path: Path) -> None:
    """Before: a syntax error or an unknown name in a site template was an internal error."""
    folder = _templates(tmp_path, "{{ oops }")
    with pytest.raises(RenderError) as caught:
        render_template("page.j2", str(folder))
    assert str(caught.value) == f"{folder / 'page.j2'}:2: template error: unexpected '}}'"
    (folder / "other.j2").write_text("a\nb\n{{ no_such_name }}\n")
    with pytest.raises(RenderError) as caught:
        render_template("other.j2", str(folder))
    assert str(caught.value) == f"{folder / 'other.j2'}:3: template error: 'no_such_name' is undefined"
    (folder / "divide.j2").write_text("a\n{{ 1 / 0 }}\n")
    with pytest.raises(RenderError) as caught:
        render_template("divide.j2", str(folder))
    assert (
        str(caught.value) == f"{folder / 'divide.j2'}:2: template error: ZeroDivisionError: division by zero"
    )


def test_a_templates_folder_linked_out_of_the_site_is_refused(site: Path, tmp_path: Path) -> None:
    """Before: `templates -> /` let `{% include "etc/passwd" %}` read any file."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (site / "templates").symlink_to(elsewhere)
    with pytest.raises(ConfigError) as caught:
        locate(str(site), None, None, cwd=site, env={})
    assert "site templates must be in the site" in str(caught.value)
    assert str(caught.value).startswith("templates/: a symbolic link to ")


# --- init -------------------------------------------------------------------------------------------

HOSTILE_CONFIG = r"""title: "x\n[pdf]\nnetwork = true"
author: "Sam \"The Voice\" O'Brien \\ co"
url: "https://example.org/a\"b\\c\t"
baseurl: '/base"''x\'
"""


def _uncommented(text: str) -> dict[str, object]:
    """The starter with its `# key = value` lines from _config.yml made live, parsed as TOML."""
    live = [line.removeprefix("# ") if "# from _config.yml" in line else line for line in text.splitlines()]
    return tomllib.loads("\n".join(live))


def test_init_escapes_every_value_of_config_yml(site: Path) -> None:
    """Before: a newline in the title wrote `[pdf] network = true` as live settings."""
    (site / "_config.yml").write_text(HOSTILE_CONFIG)
    raw = yaml.safe_load(HOSTILE_CONFIG)
    assert init_site(site)[0] == "wrote episode.toml"
    text = (site / "episode.toml").read_text()
    as_written = tomllib.loads(text)  # valid TOML; only the starter's own table is live
    assert as_written == {"newsletter": {}}
    live = _uncommented(text)
    assert live["show_name"] == raw["title"] == "x\n[pdf]\nnetwork = true"
    assert live["author"] == raw["author"]
    assert live["site_url"] == raw["url"].strip()
    assert live["baseurl"] == raw["baseurl"]
    assert "# from _config.yml title" in text and "Every key: the README's" in text  # the comments stay


def test_init_does_not_write_through_a_link_named_episode_toml(site: Path, tmp_path: Path) -> None:
    target = tmp_path / "elsewhere.toml"
    (site / "episode.toml").symlink_to(target)
    assert init_site(site)[0] == "episode.toml exists: left as it is"
    assert not target.exists()


@pytest.mark.parametrize("kind", ["link", "dangling", "not-utf8"])
def test_init_leaves_a_hostile_gitignore_alone_with_one_warning(
    site: Path, tmp_path: Path, kind: str
) -> None:
    """Before: a linked .gitignore was appended to (a dangling one created its target outside the
    site); a non-UTF-8 one was a traceback."""
    gitignore, outside = site / ".gitignore", tmp_path / "outside"
    if kind == "link":
        outside.write_text("mine\n")
        gitignore.symlink_to(outside)
    elif kind == "dangling":
        gitignore.symlink_to(outside)
    else:
        gitignore.write_bytes(b"caf\xe9/\n")
    done = _run("init", "--site", str(site))
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "wrote episode.toml"
    assert len(lines) == 2 and lines[1].startswith(f"warning: {gitignore}: "), lines
    assert lines[1].endswith("left as it is; add _out/, .episode/ to it yourself")
    assert done.stderr == ""
    if kind == "link":
        assert outside.read_text() == "mine\n"
    elif kind == "dangling":
        assert not outside.exists() and gitignore.is_symlink()
    else:
        assert gitignore.read_bytes() == b"caf\xe9/\n"


def test_init_appends_to_a_plain_gitignore_once(site: Path) -> None:
    (site / ".gitignore").write_text("node_modules/\n_out")
    assert init_site(site)[1:] == ["added .episode/ to .gitignore"]
    assert (site / ".gitignore").read_text() == "node_modules/\n_out\n.episode/\n"
    assert init_site(site)[1:] == []


# --- _config.yml -------------------------------------------------------------------------------------


def test_a_deeply_nested_config_yml_is_one_line(site: Path) -> None:
    """Before: a RecursionError traceback."""
    (site / "_config.yml").write_text("title: " + "[" * 20_000 + "]" * 20_000 + "\n")
    done = _run("check", "--src", str(site), "--no-pdf")
    assert done.returncode == 1
    assert (done.stdout + done.stderr).splitlines() == [
        f"{site.resolve() / '_config.yml'}:1: error: nested more than {MAX_YAML_DEPTH} levels deep: not read"
    ]


def test_nesting_up_to_the_limit_is_read(site: Path) -> None:
    depth = MAX_YAML_DEPTH - 1
    (site / "_config.yml").write_text('title: "Show"\nx: ' + "[" * depth + "]" * depth + "\n")
    assert jekyll_values(site / "_config.yml") == {"show_name": "Show"}


def test_a_config_yml_over_1_mb_is_one_line_before_parsing(site: Path) -> None:
    """Before: parsed whole (92 MB took 88 s and 2.5 GB)."""
    (site / "_config.yml").write_text("title: Show\n" + "".join(f"key{i}: [a, b]\n" for i in range(150_000)))
    assert (site / "_config.yml").stat().st_size > 2 * 1024 * 1024
    done = _run("check", "--src", str(site), "--no-pdf")
    assert done.returncode == 1
    assert (done.stdout + done.stderr).splitlines() == [
        f"{site.resolve() / '_config.yml'}: error: is 2.5 MB; settings files are at most 1 MB"
    ]


def test_an_alias_bomb_costs_nothing(site: Path) -> None:
    """Only the strings used are built: a merge-key bomb (2^40 entries once flattened) is never expanded."""
    lines = ["a0: &a0 {k: v}"] + [f"a{i}: &a{i} {{<<: [*a{i - 1}, *a{i - 1}]}}" for i in range(1, 41)]
    (site / "_config.yml").write_text("title: Show\n" + "\n".join(lines) + "\n")
    assert jekyll_values(site / "_config.yml") == {"show_name": "Show"}


def test_config_yml_reads_as_before() -> None:
    config = CORPUS / "site-today" / "_config.yml"
    values = jekyll_values(config)
    raw = yaml.safe_load(config.read_text())
    assert values["show_name"] == raw["title"].strip()
    assert values["site_url"] == raw["url"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("title: 2024\nauthor: {name: Ann}\n", {"author": "Ann"}),
        ("title: &t 'My Show'\nauthor: *t\n", {"show_name": "My Show", "author": "My Show"}),
        ("p: &p {name: Bo}\nauthor: *p\n", {"author": "Bo"}),
        ("title: !!str 12\n", {"show_name": "12"}),
        ("- a\n- b\n", {}),
        ("just text\n", {}),
        ("", {}),
        ("title: one\n---\ntitle: two\n", {"show_name": "one"}),
        ("title: '  padded  '\nurl: ''\n", {"show_name": "padded"}),
    ],
)
def test_config_yml_values(tmp_path: Path, text: str, expected: dict[str, str]) -> None:
    (tmp_path / "_config.yml").write_text(text)
    assert jekyll_values(tmp_path / "_config.yml") == expected


def test_a_javascript_url_in_config_yml_is_refused_with_its_line(site: Path) -> None:
    (site / "_config.yml").write_text('title: Show\n\nurl: "javascript:alert(1)"\n')
    with pytest.raises(ConfigError) as caught:
        find_settings(None, site / "_posts", site, cwd=site, env={})
    assert str(caught.value) == (
        f"{site / '_config.yml'}:3: url: expected an http:// or https:// URL such as "
        "'https://example.org', got 'javascript:alert(1)'"
    )
    (site / "episode.toml").write_text('site_url = "https://example.org"\n')  # replaced: not used
    assert find_settings(None, site / "_posts", site, cwd=site, env={}).site_url == "https://example.org"


def test_hostile_config_never_reaches_a_post(site: Path, tmp_path: Path) -> None:
    (site / "_config.yml").write_text("title: " + "{a: " * 500 + "1" + "}" * 500 + "\n")
    with pytest.raises(PipelineError):
        locate(str(site), None, None, cwd=site, env={})
    assert not (tmp_path / "out").exists()


def test_build_and_check_still_work_with_a_harmless_site_template(site: Path, tmp_path: Path) -> None:
    (site / "templates").mkdir()
    (site / "templates" / "newsletter.txt.j2").write_text("{{ c.title }} by {{ show_name }}\n")
    place = locate(str(site), str(tmp_path / "out"), None, cwd=site, env={})
    summary = build(place.posts, place.out, place.settings, jobs=1, only=["newsletter"])
    assert summary.count("built") == 1, [r.error for r in summary.results]
    checked = check_archive(place.posts, place.settings, ["newsletter"])
    assert checked.count("error") == 0, [p for c in checked.posts for p in c.problems]
