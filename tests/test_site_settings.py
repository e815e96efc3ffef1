"""Settings found where the user's site is: `--config`, `PIPELINE_CONFIG`, the nearest settings
file, a Jekyll site's `_config.yml`; `episode init` sets a site up."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.errors import ConfigError, PipelineError
from pipeline.settings.site import find_settings, init_site, locate

from .conftest import CORPUS, ROOT, run_episode

CONFIG = CORPUS / "site-today" / "_config.yml"


@pytest.fixture
def site(tmp_path: Path) -> Path:
    root = tmp_path / "site"
    (root / "_posts").mkdir(parents=True)
    shutil.copy(CONFIG, root / "_config.yml")
    for post in (CORPUS / "site-today").glob("*.markdown"):
        shutil.copy(post, root / "_posts" / post.name)
    return root


def test_a_site_gives_its_posts_its_output_folder_and_its_config(site: Path) -> None:
    place = locate(str(site), None, None, cwd=site, env={})
    assert place.posts == site / "_posts"
    assert place.out == site.resolve() / "_out"
    settings = place.settings
    assert (settings.show_name, settings.site_url, settings.baseurl) == (
        "Learning from Machine Learning",
        "https://splevine.github.io",
        "/learning-from-machine-learning",
    )
    assert place.settings_line == "settings: _config.yml"


def test_the_projects_settings_win_over_config_yml(site: Path) -> None:
    (site / "episode.toml").write_text('show_name = "My Show"\n[newsletter]\nfooter_text = "Bye."\n')
    settings = locate(str(site), None, None, cwd=site, env={}).settings
    assert settings.show_name == "My Show"
    assert settings.site_url == "https://splevine.github.io"
    assert settings.table("newsletter") == {"footer_text": "Bye."}
    assert settings.sources == ("_config.yml", "episode.toml")


def test_config_and_the_environment_come_first(site: Path, tmp_path: Path) -> None:
    named = tmp_path / "elsewhere.toml"
    named.write_text('show_name = "Named"\n')
    assert find_settings(str(named), site / "_posts", env={}).show_name == "Named"
    assert find_settings(None, site / "_posts", env={"PIPELINE_CONFIG": str(named)}).show_name == "Named"


def test_a_pyproject_is_searched_upwards_from_the_posts(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.pipeline]\nshow_name = "Up There"\n')
    posts = tmp_path / "a" / "b"
    posts.mkdir(parents=True)
    assert find_settings(None, posts, cwd=Path("/"), env={}).show_name == "Up There"


@pytest.mark.parametrize("table", ["[pipeline]", "[tool.episode]"])
def test_a_look_alike_table_is_an_error(tmp_path: Path, table: str) -> None:
    (tmp_path / "pyproject.toml").write_text(f'{table}\nshow_name = "Lost"\n')
    with pytest.raises(ConfigError) as caught:
        find_settings(None, tmp_path, cwd=Path("/"), env={})
    assert f"{table} is not read; the settings table is [tool.pipeline]" in str(caught.value)


def test_no_settings_anywhere_gives_neutral_defaults(tmp_path: Path) -> None:
    settings = find_settings(None, tmp_path, cwd=tmp_path, env={})
    assert settings.show_name == "" and settings.sources == ()


def test_an_empty_posts_folder_is_an_error(tmp_path: Path) -> None:
    from pipeline.source.discovery import discover

    with pytest.raises(PipelineError, match="no posts here"):
        discover(tmp_path)


def test_init_writes_a_starter_and_ignores_outputs_once(site: Path) -> None:
    assert init_site(site) == ["wrote episode.toml", "added _out/, .episode/ to .gitignore"]
    starter = (site / "episode.toml").read_text()
    assert '# show_name = "Learning from Machine Learning"  # from _config.yml title' in starter
    settings = locate(str(site), None, None, cwd=site, env={}).settings
    assert settings.show_name == "Learning from Machine Learning"  # the starter sets nothing yet
    assert init_site(site) == ["episode.toml exists: left as it is"]
    assert (site / ".gitignore").read_text() == "_out/\n.episode/\n"


def test_init_takes_the_author_from_the_sites_own_config(site: Path) -> None:
    # The site's top-level `name` is its author here, the site's name in other themes: the
    # settings never take it silently; `init` writes it as a setting the user sees and can fix.
    assert locate(str(site), None, None, cwd=site, env={}).settings.author == ""
    init_site(site)
    starter = (site / "episode.toml").read_text()
    assert (
        'author = "Seth Levine"  # from _config.yml name (in some themes the site\'s: check it)'
    ) in starter.splitlines()
    assert "Values from _config.yml (title, url, baseurl)" in starter
    assert locate(str(site), None, None, cwd=site, env={}).settings.author == "Seth Levine"


@pytest.mark.parametrize(
    ("yaml_text", "author", "line"),
    [
        ("author: Ann\nname: Site Name\n", "Ann", '# author = "Ann"  # from _config.yml author'),
        (
            "author:\n  name: Ann\n  email: a@example.org\nname: Site Name\n",
            "Ann",
            '# author = "Ann"  # from _config.yml author.name',
        ),
        ("name: Ann\n", "", 'author = "Ann"  # from _config.yml name (in some themes the site\'s: check it)'),
        (
            "author: ''\nname: Ann\n",
            "",
            'author = "Ann"  # from _config.yml name (in some themes the site\'s: check it)',
        ),
        ("title: Show\n", "", '# author = ""'),
    ],
)
def test_the_author_is_author_then_author_name_and_init_proposes_name(
    tmp_path: Path, yaml_text: str, author: str, line: str
) -> None:
    (tmp_path / "_posts").mkdir()
    (tmp_path / "_config.yml").write_text(yaml_text)
    assert find_settings(None, tmp_path / "_posts", cwd=tmp_path, env={}).author == author
    init_site(tmp_path)
    assert line in (tmp_path / "episode.toml").read_text().splitlines()


def test_newsletter_warnings_name_the_table_where_the_user_writes_it(site: Path) -> None:
    # Without a settings file of the tool's own, no warning blames _config.yml for a table it cannot have.
    alone = run_episode(site, "check", "--no-pdf")
    warned = [line for line in alone.stdout.splitlines() if "from_address is the example" in line]
    assert warned == [
        "warning: [newsletter] (no episode.toml: episode init writes one): from_address is the example "
        "newsletter@example.com: set your own sending address"
    ], alone.stdout
    (site / "episode.toml").write_text('[newsletter]\nfooter_text = "Bye."\n')
    own = run_episode(site, "check", "--no-pdf")
    assert "episode.toml: warning: [newsletter]: from_address is the example" in own.stdout
    post = next((site / "_posts").glob("2023-01-07-*"))
    sent = run_episode(site, "send", "--src", post, "--to", "a@example.org", "--dry-run")
    assert "episode.toml: warning: [newsletter]: message_id_domain is the example" in sent.stdout
    assert "tool.pipeline" not in own.stdout + sent.stdout
    (site / "episode.toml").unlink()
    (site / "pyproject.toml").write_text('[tool.pipeline.newsletter]\nfooter_text = "Bye."\n')
    project = run_episode(site, "check", "--no-pdf")
    assert (
        "pyproject.toml: warning: [tool.pipeline.newsletter]: from_address is the example" in project.stdout
    )


def test_paths_are_shown_relative_to_the_current_folder_within_the_site(site: Path) -> None:
    (site / "_posts" / "2024-01-01-bad.md").write_text('---\ntitle: "open\n---\nBody.\n')
    at_top = run_episode(site, "normalize")
    assert at_top.stdout.splitlines()[:2] == [
        "settings: _config.yml",
        "unchanged    _posts/2023-01-07-welcome-to-learning-from-machine-learning.markdown",
    ]
    assert "failed       _posts/2024-01-01-bad.md:2: invalid YAML" in at_top.stdout
    inside = run_episode(site / "_posts", "normalize")
    assert inside.stdout.splitlines()[:2] == [
        "settings: ../_config.yml",
        "unchanged    2023-01-07-welcome-to-learning-from-machine-learning.markdown",
    ]
    assert "failed       2024-01-01-bad.md:2: invalid YAML" in inside.stdout
    assert str(site) not in at_top.stdout + inside.stdout


def test_init_from_inside_posts_sets_up_the_site_not_a_second_settings_file(site: Path) -> None:
    done = run_episode(site / "_posts", "init")
    assert done.returncode == 0, done.stdout
    assert done.stdout.splitlines() == [
        "site: ..",
        "wrote episode.toml",
        "added _out/, .episode/ to .gitignore",
    ]
    assert (site / "episode.toml").is_file() and not (site / "_posts" / "episode.toml").exists()
    starter = (site / "episode.toml").read_text()
    # The site's own tagline is the example of a sentence to drop (feeds repeat it in every episode).
    assert (
        '# boilerplate_paragraphs = ["A machine learning podcast that explores more than just algorithms and '
        'data: Life lessons from the experts."]  # from _config.yml description'
    ) in starter.splitlines()
    checked = run_episode(site / "_posts", "check", "--no-pdf")
    assert "../episode.toml: warning: [newsletter]: from_address is the example" in checked.stdout
    assert str(site) not in checked.stdout


def test_init_through_the_command_line(site: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "invoke", "init", "--site", str(site)],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["wrote episode.toml", "added _out/, .episode/ to .gitignore"]


def test_a_sites_own_template_replaces_the_bundled_one_and_rebuilds(site: Path) -> None:
    from pipeline.builder.run import build

    overrides = site / "templates"
    overrides.mkdir()
    (overrides / "newsletter.txt.j2").write_text("Our own text edition of {{ c.title }}\n")
    (site / "episode.toml").write_text('show_name = "My Show"\n')
    place = locate(str(site), None, None, cwd=site, env={})
    assert place.settings.sources == ("_config.yml", "episode.toml", "templates/")
    first = build(place.posts, place.out, place.settings, jobs=1, only=["newsletter"])
    assert first.count("built") == 2
    welcome = place.out / "2023-01-07-welcome-to-learning-from-machine-learning"
    assert (welcome / "newsletter.txt").read_text().startswith("Our own text edition of Welcome")
    assert "<html" in (welcome / "newsletter.html").read_text()  # not overridden: the bundled one
    again = build(place.posts, place.out, place.settings, jobs=1, only=["newsletter"])
    assert again.count("built") == 0
    (overrides / "newsletter.txt.j2").write_text("Edited {{ c.title }}\n")
    edited = locate(str(site), None, None, cwd=site, env={}).settings
    third = build(place.posts, place.out, edited, jobs=1, only=["newsletter"])
    assert third.count("built") == 2
    assert (welcome / "newsletter.txt").read_text().startswith("Edited Welcome")


@pytest.mark.parametrize(
    ("broken", "line"),
    [("bad: [unclosed\nnext: 1\n", 7), ("bad: 'unclosed\nnext: 1\n", 7), ("bad: a: b\n", 7)],
)
def test_a_yaml_error_in_config_yml_names_the_line_it_is_on(tmp_path: Path, broken: str, line: int) -> None:
    """An unclosed `[` on line 7 was reported at line 8, where the parser noticed it."""
    (tmp_path / "_posts").mkdir()
    (tmp_path / "_config.yml").write_text(
        "title: T\nurl: https://x.org\nbaseurl: ''\na: 1\nb: 2\nc: 3\n" + broken
    )
    with pytest.raises(ConfigError) as caught:
        locate(None, None, None, cwd=tmp_path, env={})
    assert caught.value.line == line, str(caught.value)
