"""A regular install works from a user's Jekyll site: the wheel, in a fresh virtual environment.

The wheel must carry the templates and the Lua filters; the `episode` command it installs is run
from the site folder and from `_posts/`, outside the project's checkout.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

from .conftest import CORPUS, ROOT

pytestmark = pytest.mark.slow  # builds a wheel and a virtual environment

SITE_TITLE = "Learning from Machine Learning"


LOCAL_ONLY = (
    "build",
    "out",
    "_out",
    ".git",
    "*.egg-info",
    ".hypothesis",
    "__pycache__",
    "*_cache",
    "artifacts",
)


@pytest.fixture(scope="module")
def episode_command(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`episode` installed from a freshly built wheel into its own virtual environment."""
    work = tmp_path_factory.mktemp("install")
    wheels = work / "wheels"
    # From a copy without the checkout's `build/`: setuptools would reuse what an earlier wheel
    # left there, modules since deleted included.
    source = work / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(*LOCAL_ONLY))
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", str(source), "-w", str(wheels)],
        check=True,
        capture_output=True,
    )
    [wheel] = wheels.glob("episode_pipeline-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        packages = {name.split("/")[0] for name in archive.namelist() if not name.endswith(".dist-info/")}
        names = set(archive.namelist())
    assert not {"devtools", "tests"} & packages, packages  # developer tools stay in the checkout
    assert "pipeline/templates/newsletter.html.j2" in names, sorted(names)
    assert any(n.startswith("pipeline/pandoc/lua/") and n.endswith(".lua") for n in names), sorted(names)
    # Every package of the checkout is in the wheel: a folder left out of pyproject's list is not.
    packages_here = {p.parent.relative_to(ROOT).as_posix() for p in (ROOT / "pipeline").rglob("__init__.py")}
    assert {f"{p}/__init__.py" for p in packages_here} <= names, sorted(packages_here)
    environment = work / "venv"
    # The dependencies come from the site-packages folders of the interpreter running the tests
    # (a virtual environment's own when the tests run in one: `system_site_packages` would see
    # only the base interpreter's); the project itself from the wheel. A path in a `.pth` file
    # adds that folder without running the `.pth` files in it, so the checkout's editable
    # install stays out.
    venv.EnvBuilder(with_pip=True).create(environment)
    python = environment / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    parents = dict.fromkeys(p for p in sys.path if p.endswith(("site-packages", "dist-packages")))
    (Path(purelib) / "_tests_dependencies.pth").write_text("".join(f"{p}\n" for p in parents))
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--no-deps", "--force-reinstall", str(wheel)],
        check=True,
        capture_output=True,
    )
    where = subprocess.run(
        [str(python), "-c", "import pipeline; print(pipeline.__file__)"],
        check=True,
        capture_output=True,
        text=True,
        cwd=work,
    ).stdout
    assert str(environment) in where, where  # the wheel's package, not the checkout's
    return environment / "bin" / "episode"


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """A Jekyll site made from the site's own `_config.yml` and posts, plus a page and a README."""
    root = tmp_path / "my-site"
    posts = root / "_posts"
    posts.mkdir(parents=True)
    shutil.copy(CORPUS / "site-today" / "_config.yml", root / "_config.yml")
    for post in (CORPUS / "site-today").glob("*.markdown"):
        shutil.copy(post, posts / post.name)
    (root / "about.markdown").write_text("---\nlayout: page\ntitle: About\n---\nAbout the show.\n")
    (root / "README.md").write_text("# my-site\n")
    (posts / "drafts-notes.md").write_text("---\ntitle: Notes\n---\nNot a post.\n")
    return root


def _run(command: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(command), *args], cwd=cwd, capture_output=True, text=True, check=False, timeout=300
    )


def test_the_installed_command_builds_a_site_from_its_folder(episode_command: Path, site: Path) -> None:
    done = _run(episode_command, site, "build", "--jobs", "1")
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "settings: _config.yml"
    assert "not posts (no YYYY-MM-DD- date in the name), left alone: drafts-notes.md" in lines
    built = sorted(p.name for p in (site / "_out").iterdir() if p.is_dir())
    assert built == sorted(p.stem for p in (CORPUS / "site-today").glob("*.markdown"))
    welcome = site / "_out" / "2023-01-07-welcome-to-learning-from-machine-learning"
    newsletter = (welcome / "newsletter.txt").read_text()
    assert f"subscribed to {SITE_TITLE}." in " ".join(newsletter.split())
    html = (welcome / "newsletter.html").read_text()
    assert "https://splevine.github.io/learning-from-machine-learning/machine/learning/updates/" in html
    assert "learning-from-machine-learning/learning-from-machine-learning" not in html
    assert (welcome / "show-notes.pdf").read_bytes().startswith(b"%PDF-")
    # The site-relative link is kept as written in the post itself.
    assert (welcome / "post.md").read_bytes() == (site / "_posts" / f"{welcome.name}.markdown").read_bytes()


def test_the_installed_command_works_from_posts_and_says_its_version(
    episode_command: Path, site: Path
) -> None:
    done = _run(episode_command, site / "_posts", "build", "--jobs", "1", "--only", "youtube")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[0] == "settings: ../_config.yml"  # relative, within the site
    assert (site / "_out").is_dir() and not (site / "_posts" / "out").exists()
    version = _run(episode_command, site, "--version")
    assert version.stdout.startswith("episode ")


def test_the_installed_command_line_is_episode_s_own(episode_command: Path, site: Path) -> None:
    help_text = _run(episode_command, site, "--help")
    assert help_text.returncode == 0 and "build" in help_text.stdout
    assert not re.search(r"--(pty|dry|echo|hide|write-pyc)\b(?!-)", help_text.stdout), help_text.stdout
    dry = _run(episode_command, site, "--dry", "build")
    assert dry.returncode == 1 and dry.stderr.startswith("error: --dry: not an option of episode")
    assert not (site / "_out").exists()
    for command in (["send"], ["publish", "youtube"], ["build"]):
        shown = _run(episode_command, site, *command, "--help")
        assert shown.returncode == 0 and shown.stdout.startswith(f"Usage: episode {command[0]}"), shown.stderr
    typo = _run(episode_command, site, "buidl")
    assert typo.stderr.strip() == "error: unknown command 'buidl': did you mean build?"
    init = _run(episode_command, site, "init")
    assert init.returncode == 0, init.stderr
    assert 'author = "Seth Levine"  # from _config.yml name' in (site / "episode.toml").read_text()
