"""Generated posts: whatever mix of Markdown, feed HTML, code, raw tags and boilerplate a post
holds, normalization keeps or reports every piece (the check inside `normalize_file` raises
LostContent otherwise)."""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from pipeline.accounting.canonical import canonical_markdown
from pipeline.normalize.stages import normalize_file
from pipeline.settings.config import Settings

from .conftest import examples

TAGLINE = "A show that explores more than just algorithms and data"
SETTINGS = dataclasses.replace(
    Settings(),
    boilerplate_paragraphs=(TAGLINE,),
    boilerplate_sections=("Resources to learn more about the show",),
)
WORDS = [
    *("model", "data", "cache", "learning", "people", "graph", "vector", "search", "team", "product"),
    *("research", "question", "answer", "system", "future", "career", "advice", "journey", "startup"),
    *("paper", "metric", "training", "inference"),
]

word = st.sampled_from(WORDS)
sentence = st.lists(word, min_size=3, max_size=12).map(lambda ws: " ".join(ws).capitalize() + ".")
paragraph = st.lists(sentence, min_size=1, max_size=4).map(" ".join)
url = st.builds(
    lambda host, path, tracking: (
        f"https://{host}.example.org/{path}" + ("?utm_source=feed&id=7" if tracking else "")
    ),
    word,
    word,
    st.booleans(),
)
timestamp = st.tuples(st.integers(0, 59), st.integers(0, 59)).map(lambda t: f"{t[0]:02d}:{t[1]:02d}")


@st.composite
def markdown_block(draw: st.DrawFn) -> str:
    kind = draw(
        st.sampled_from(["para", "code-span", "fenced", "link", "list", "raw", "chapters", "tagline"])
    )
    if kind == "para":
        return draw(paragraph)
    if kind == "code-span":
        tag = draw(st.sampled_from(["<button>", '<input type="submit">', "<script>", "<iframe src=x>"]))
        return f"Why the `{tag}` element matters for {draw(word)}."
    if kind == "fenced":
        return f"```html\n<script>{draw(word)}()</script>\n<p>{draw(sentence)}</p>\n```"
    if kind == "link":
        return f"Read about [{draw(word)} {draw(word)}]({draw(url)}) in the {draw(word)} notes."
    if kind == "list":
        items = draw(st.lists(st.tuples(word, url), min_size=1, max_size=4))
        return "\n".join(f"- [{w.capitalize()} {i}]({u})" for i, (w, u) in enumerate(items))
    if kind == "raw":
        tag = draw(
            st.sampled_from(
                [
                    '<embed src="https://player.example.org/e">',
                    '<iframe src="https://www.youtube.com/embed/IOC2k5k8oto"></iframe>',
                    "<span>",
                    "<br>",
                    "<div>",
                ]
            )
        )
        return f"{draw(sentence)} {tag} {draw(sentence)}"
    if kind == "chapters":
        times = sorted(draw(st.lists(timestamp, min_size=2, max_size=4, unique=True)))
        return "\n".join(f"{t} {draw(word).capitalize()} {draw(word)}" for t in times)
    return f"{TAGLINE}: life lessons from the experts. {draw(sentence)}"


@st.composite
def feed_html(draw: st.DrawFn, markdown: list[str]) -> str:
    """The feed's copy: some Markdown paragraphs again, maybe cut, plus HTML-only parts."""
    parts: list[str] = []
    for block in markdown:
        if "\n" in block or "`" in block or "<" in block or not draw(st.booleans()):
            continue
        text = block
        if draw(st.integers(0, 4)) == 0:
            text = text[: draw(st.integers(len(text) // 2, len(text)))]
        parts.append(f"<p>{text}</p>")
    if draw(st.booleans()):
        parts.append(f"<p>{draw(paragraph)}</p>")
    if draw(st.booleans()):
        label = draw(
            st.sampled_from(["Resources to learn more about the show:", "References:", "Youtube Clips"])
        )
        links = draw(st.lists(url, min_size=1, max_size=3))
        parts.append(f"<p>{label}</p>" + "".join(f'<p><a href="{u}">{u}</a></p>' for u in links))
    if draw(st.booleans()):
        times = sorted(draw(st.lists(timestamp, min_size=2, max_size=3, unique=True)))
        parts.append("".join(f"<p>{t} {draw(sentence)}</p>" for t in times))
    if draw(st.booleans()):
        parts.append(
            '<a href="https://podcasts.apple.com/us/podcast/x/id1"><img src="https://tools.example.org/b.svg" '
            'alt="Listen on Apple Podcasts"></a>'
        )
    return "".join(parts)


@st.composite
def post_body(draw: st.DrawFn) -> str:
    markdown = draw(st.lists(markdown_block(), min_size=1, max_size=6))
    html = draw(feed_html(markdown))
    return "\n\n".join(markdown + ([html] if html else [])) + "\n"


@hypothesis_settings(
    max_examples=examples(500),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(post_body())
def test_every_piece_of_a_generated_post_is_kept_or_reported(body: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "2024-05-01-episode.md"
        path.write_text("---\ntitle: An episode\ndate: 2024-05-01\n---\n\n" + body, encoding="utf-8")
        episode = normalize_file(path, SETTINGS)  # raises LostContent when a piece is lost
        again = path.with_name("2024-05-02-again.md")
        again.write_text(canonical_markdown(episode), encoding="utf-8")
        # The canonical post normalizes without losing anything either.
        normalize_file(again, SETTINGS)
