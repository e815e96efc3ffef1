"""The independent inventory of a post body, and the check that every piece is kept or reported."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from pipeline.accounting.inventory import Piece, fold, split_sentences, take_inventory, unaccounted
from pipeline.source.post_file import read_post

from .conftest import CORPUS, SEED, examples

TRUNCATED = CORPUS / "imported-truncated" / SEED.name
CLEANED_SEED = CORPUS / "cleaned" / SEED.name
LELAND = (
    CORPUS
    / "imported"
    / (
        "2024-10-25-leland-mcinnes-umap-hdbscan-the-geometry-of-data-learning-from-machine-learning-10.markdown"
    )
)
ALL_POSTS = sorted(CORPUS.glob("*/*.markdown"))

SEED_CHAPTERS = [
    ("00:46", "Introduction and Maxime's Background"),
    ("01:47", "Journey from Cybersecurity to Machine Learning"),
    ("03:30", "The Fascination with AI and Cyber Attacks"),
    ("06:15", "Transitioning to Post-Training at Liquid AI"),
    ("08:17", "Liquid AI's Vision and Mission"),
    ("10:08", "Challenges of Deploying AI on Edge Devices"),
    ("13:06", "Techniques for Efficient Edge Model Training"),
    ("15:44", "The State of AI Hype and Reality"),
    ("19:19", "Evaluating AI Models and Benchmarks"),
    ("24:09", "Future of AI Architectures Beyond Transformers"),
    ("31:05", "Innovations in Model Architecture"),
    ("36:28", "The Importance of Iteration in AI Development"),
    ("39:24", "Understanding State Space Models"),
    ("42:53", "Advice for Aspiring Machine Learning Professionals"),
    ("48:53", "The Quest for Quality Data"),
    ("52:56", "Integrating User Feedback into AI Systems"),
    ("58:13", "Lessons from Machine Learning for Life"),
]
DELETED = (
    "Maxime's work demonstrates that challenging established paradigms requires taking steps backward to leap forward.",
    "His framework for data quality—accuracy, diversity, and complexity—offers a blueprint for anyone working with machine learning systems.",
)


def _body(path: Path) -> str:
    return read_post(path).body


def _of(pieces: list[Piece], kind: str) -> list[Piece]:
    return [p for p in pieces if p.kind == kind]


def _lines(pieces: list[Piece], kind: str, text: str) -> list[int]:
    return [p.line for p in pieces if p.kind == kind and p.text == text]


# (a) the seed post -----------------------------------------------------------------------------------


def test_the_seed_inventory_has_sentences_from_both_copies() -> None:
    pieces = take_inventory(_body(SEED))
    # In the Markdown copy (body line 1) and again in the HTML copy (body line 7).
    assert _lines(
        pieces,
        "sentence",
        "We traced his journey from cybersecurity to the cutting edge of model architecture.",
    ) == [1, 7]
    # `<strong>` does not split a sentence; the em dashes are kept as written.
    assert _lines(
        pieces,
        "sentence",
        "On this episode of Learning from Machine Learning, I had the privilege of speaking with Maxime Labonne,"
        " Head of Post-Training at Liquid AI.",
    ) == [1, 7]
    assert _lines(pieces, "sentence", DELETED[1]) == [3, 7]
    # Only in the HTML copy, split into its sentences ("..." before a lowercase word ends none).
    for sentence in (
        "Thank you for listening.",
        "Be sure to subscribe and share with a friend or colleague.",
        "Until next time... keep on learning.",
    ):
        assert _lines(pieces, "sentence", sentence) == [7]
    assert not [
        p for p in pieces if p.kind == "sentence" and p.text.startswith("Thank you") and "Be sure" in p.text
    ]


def test_the_seed_chapters_are_timestamps_and_titles() -> None:
    pieces = take_inventory(_body(SEED))
    assert [p.text for p in _of(pieces, "timestamp")] == [t for t, _ in SEED_CHAPTERS]
    for stamp, title in SEED_CHAPTERS:
        at = pieces.index(Piece("timestamp", stamp, 7))
        assert pieces[at + 1] == Piece("sentence", title, 7)  # the title, without its timestamp
    # The seed body has no links, images or embeds.
    assert {p.kind for p in pieces} == {"sentence", "timestamp"}


def test_the_truncated_seed_has_its_player_badge_and_cut_sentence() -> None:
    pieces = take_inventory(_body(TRUNCATED))
    assert _of(pieces, "embed") == [Piece("embed", "https://www.youtube.com/embed/IOC2k5k8oto", 2)]
    assert [p.text for p in _of(pieces, "link")] == [
        "https://www.youtube.com/watch?v=IOC2k5k8oto",
        # as written, `&amp;` decoded
        "https://podcasts.apple.com/us/podcast/learning-from-machine-learning/id1663925230"
        "?itsct=podcast_box_badge&itscg=30200&ls=1",
    ]
    assert [p.text for p in _of(pieces, "image")] == [
        "https://tools.applemediaservices.com/api/badges/listen-on-apple-podcasts/badge/en-us"
        "?size=250x83&releaseDate=1673288700"
    ]
    assert Piece("sentence", "[Listen on Apple Podcasts]", 10) in pieces  # the badge's alt text, in its place
    assert Piece("sentence", "Watch on YouTube:", 1) in pieces
    assert Piece("sentence", "His framewor", 8) in pieces  # cut off mid-word: still a piece
    # The iframe's attributes are no text.
    assert not [p for p in pieces if "accelerometer" in p.text or "YouTube video player" in p.text]


def test_tracking_urls_are_listed_as_written() -> None:
    links = [p.text for p in _of(take_inventory(_body(LELAND)), "link")]
    assert links == [
        "https://github.com/lmcinnes",
        "https://umap-learn.readthedocs.io/en/latest/",
        "https://youtu.be/bLW_RH2Y6oI?si=W1sIf-uAh_4X6Wk4",
        "https://youtu.be/yvgxRzqx1Jg?si=ptNfQ2pW5yZuu2-1",
        "https://amzn.to/48ka3aU",
        "https://www.youtube.com/@learningfrommachinelearning",
        "https://mindfulmachines.substack.com/",
    ]


# (b) a post that is its own source keeps everything ------------------------------------------------


@pytest.mark.parametrize("path", ALL_POSTS, ids=lambda p: f"{p.parent.name}/{p.stem[:30]}")
def test_nothing_is_unaccounted_when_the_post_is_the_source(path: Path) -> None:
    pieces = take_inventory(_body(path))
    assert len(_of(pieces, "sentence")) >= 5
    assert unaccounted(pieces, path.read_text("utf-8"), report="") == []


def test_the_hand_cleaned_seed_keeps_every_piece() -> None:
    pieces = take_inventory(_body(SEED))
    assert unaccounted(pieces, CLEANED_SEED.read_text("utf-8"), report="") == []


# (c) a deleted paragraph --------------------------------------------------------------------------


def test_a_deleted_paragraph_is_exactly_its_sentences_until_reported() -> None:
    pieces = take_inventory(_body(SEED))
    post = CLEANED_SEED.read_text("utf-8")
    paragraph = " ".join(DELETED) + "\n\n"
    assert post.count(paragraph) == 1
    post = post.replace(paragraph, "")

    missing = unaccounted(pieces, post, report="")
    # Both copies of both sentences, and nothing else.
    assert sorted((p.text, p.line) for p in missing) == sorted(
        [(DELETED[0], 3), (DELETED[1], 3), (DELETED[0], 7), (DELETED[1], 7)]
    )
    assert {p.kind for p in missing} == {"sentence"}

    # `warning:` and `changed:` lines account for nothing; an unknown reason neither.
    not_reasons = f"warning: {DELETED[0]}\nchanged: {DELETED[1]}\nmoved: {DELETED[0]}\n"
    assert len(unaccounted(pieces, post, report=not_reasons)) == 4

    one = f"warning: something else\ndropped: {DELETED[0]}\n"
    assert {p.text for p in unaccounted(pieces, post, report=one)} == {DELETED[1]}
    # A reported sentence is compared folded: typographic dashes, case and spacing do not matter.
    reworded = f"reworded: {DELETED[1].replace('—', '-').upper()}  /  His framework, in short.\n"
    assert unaccounted(pieces, post, report=one + reworded) == []


# (d) links ------------------------------------------------------------------------------------------


def test_a_link_missing_from_the_post_is_unaccounted_until_reported() -> None:
    text = LELAND.read_text("utf-8")
    tracked = "https://youtu.be/bLW_RH2Y6oI?si=W1sIf-uAh_4X6Wk4"
    assert text.count(tracked) == 1
    post = text.replace(tracked, "https://youtu.be/bLW_RH2Y6oI")
    pieces = take_inventory(_body(LELAND))

    missing = unaccounted(pieces, post, report="")
    assert [(p.kind, p.text) for p in missing] == [("link", tracked)]
    assert unaccounted(pieces, post, report=f"tracking-parameters: {tracked}\n") == []
    assert unaccounted(pieces, post, report=f"warning: {tracked}\n") == missing
    # The report names the URL, not a shorter or longer one.
    assert (
        unaccounted(pieces, post, report="tracking-parameters: https://youtu.be/bLW_RH2Y6oI?si=W1\n")
        == missing
    )
    assert unaccounted(pieces, post, report=f"tracking-parameters: {tracked}X\n") == missing


def test_a_url_is_not_kept_by_a_longer_url_that_starts_with_it() -> None:
    body = "Read more on [Substack](https://mindfulmachines.substack.com/).\n"
    post = "---\n---\nRead more on [Substack](https://mindfulmachines.substack.com/p/episode).\n"
    missing = unaccounted(take_inventory(body), post, report="")
    assert missing == [Piece("link", "https://mindfulmachines.substack.com/", 1)]
    kept = (
        "---\n---\nRead more on [Substack](https://mindfulmachines.substack.com/).\n\nAlso <https://x.org>.\n"
    )
    assert unaccounted(take_inventory(body), kept, report="") == []


def test_urls_written_in_text_are_link_pieces_and_gaps_in_their_sentence() -> None:
    body = "<p>Hadley Wickham - <a href='https://hadley.nz/'>https://hadley.nz/</a></p><p>See https://a.org/x_y.</p>"
    pieces = take_inventory(body)
    assert [p.text for p in _of(pieces, "link")] == ["https://hadley.nz/", "https://a.org/x_y"]
    # The pipeline writes `[Hadley Wickham](https://hadley.nz/)`: the sentence is kept without its URL.
    post = "---\n---\n- [Hadley Wickham](https://hadley.nz/)\n- See <https://a.org/x_y>.\n"
    assert unaccounted(pieces, post, report="") == []
    # ... but not without its words.
    post = "---\n---\n- [Hadley](https://hadley.nz/)\n- See <https://a.org/x_y>.\n"
    assert unaccounted(pieces, post, report="") == [
        Piece("sentence", "Hadley Wickham - https://hadley.nz/", 1)
    ]


# (e) code is text --------------------------------------------------------------------------------------


def test_code_is_sentence_text_not_html() -> None:
    body = (
        "Press `<button>` to start.\n"
        "\n"
        "```html\n"
        '<script src="evil.js"></script>\n'
        "<p>Not a paragraph</p>\n"
        "\n"
        "```\n"
        "\n"
        "    <iframe src=x></iframe>\n"
        "\n"
        'Type `<script src="x.js">` <b>here</b>.\n'
    )
    pieces = take_inventory(body)
    assert pieces == [
        Piece("sentence", "Press <button> to start.", 1),
        Piece("sentence", '<script src="evil.js"></script>', 4),
        Piece("sentence", "<p>Not a paragraph</p>", 5),
        Piece("sentence", "<iframe src=x></iframe>", 9),
        # inline HTML elsewhere in the paragraph: the code span is still text
        Piece("sentence", 'Type <script src="x.js"> here.', 11),
    ]


# (f) unclosed elements swallow nothing -------------------------------------------------------------


def test_an_unclosed_embed_does_not_swallow_what_follows() -> None:
    body = "<embed src=x>\n\nFirst paragraph.\n\nSecond paragraph.\n"
    assert take_inventory(body) == [
        Piece("embed", "x", 1),
        Piece("sentence", "First paragraph.", 3),
        Piece("sentence", "Second paragraph.", 5),
    ]


@pytest.mark.parametrize(
    "html",
    [
        "<div><embed src=x>\n<p>First paragraph.</p>\n<p>Second paragraph.</p></div>",
        "<div><object data=x>\n<p>First paragraph.</p>\n<p>Second paragraph.</p></div>",
        "<div><iframe src=x>\n<p>First paragraph.</p>\n<p>Second paragraph.</p></div>",
        "<div><script src=x>\n<p>First paragraph.</p>\n<p>Second paragraph.</p></div>",
    ],
)
def test_an_unclosed_element_in_html_does_not_swallow_what_follows(html: str) -> None:
    pieces = take_inventory(html)
    assert [p.text for p in _of(pieces, "embed")] == ["x"]
    assert [p.text for p in _of(pieces, "sentence")] == ["First paragraph.", "Second paragraph."]


def test_text_inside_closed_embeds_is_not_a_sentence() -> None:
    body = (
        "<div><iframe src='https://p.example/e'>Your browser cannot</iframe>"
        "<object data='o.swf'><embed src='e.swf'>fallback</object>"
        "<script>var words = 'Not a sentence.';</script><style>p { color: red }</style>"
        "<svg><text>Label</text></svg><video controls><source src='v.mp4'>No video</video>"
        "<p>Kept.</p></div>"
    )
    pieces = take_inventory(body)
    assert [p.text for p in _of(pieces, "embed")] == [
        "https://p.example/e",
        "o.swf",
        "e.swf",
        "<script>",
        "<video>",
        "v.mp4",
    ]
    # A player's fallback words go with it (normalization names them in its `embed` line); a
    # script's and a style's text are the author's words too, found by the check's own tokenizer.
    assert [p.text for p in _of(pieces, "sentence")] == [
        "Kept.",
        "var words = 'Not a sentence.';",
        "p { color: red }",
    ]


# (g) fold -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("It’s “quoted” and ‘so’ „is“ «this»", 'it\'s "quoted" and \'so\' "is" "this"'),
        ("a‐b‑c‒d–e—f―g−h", "a-b-c-d-e-f-g-h"),
        ("Until next time… keep", "until next time... keep"),
        ("non\u00a0breaking&nbsp;space", "non breaking space"),
        ("**Bold** and _em_ and `code`", "bold and em and code"),
        (r"an \*escaped\* star and a \_ and 3\.5", "an escaped star and a and 3.5"),
        ("  many\n\tspaces   here  ", "many spaces here"),
        ("STRASSE Straße", "strasse strasse"),
        ("ﬁne ＡＩ ½", "fine ai 1⁄2"),
        ("5′ 10″", "5' 10\""),
    ],
)
def test_fold(text: str, folded: str) -> None:
    assert fold(text) == folded


def test_fold_makes_typography_and_markup_equal() -> None:
    written = "Maxime’s *framework* — **accuracy**, diversity… and  complexity"
    plain = "MAXIME'S framework - accuracy, diversity... and complexity"
    assert fold(written) == fold(plain)
    assert fold("snake_case") != fold("snake case")


# (h) site-relative links ---------------------------------------------------------------------------


def test_site_relative_links_resolve_against_the_site() -> None:
    body = "See [the first episode](/learning-from-machine-learning/2023/01/09/one.html) and [about](about.html).\n"
    pieces = take_inventory(body)
    first = Piece("link", "/learning-from-machine-learning/2023/01/09/one.html", 1)
    about = Piece("link", "about.html", 1)
    assert _of(pieces, "link") == [first, about]
    site = {"site_url": "https://splevine.github.io/", "baseurl": "/learning-from-machine-learning"}
    post = (
        "---\n---\nSee [the first episode](https://splevine.github.io/learning-from-machine-learning/2023/01/09/one.html)"
        " and [about](https://splevine.github.io/learning-from-machine-learning/about.html).\n"
    )
    assert unaccounted(pieces, post, report="", **site) == []
    assert unaccounted(pieces, post, report="") == [first, about]  # no site: nothing to resolve against
    # `/x` is resolved against the host only; `x` against the site's base URL.
    wrong = post.replace("io/learning-from-machine-learning/2023", "io/learning-from-machine-learning/x/2023")
    wrong = wrong.replace("learning/about.html", "learning/x/about.html")
    assert unaccounted(pieces, wrong, report="", **site) == [first, about]
    # Absolute and scheme-relative URLs are never resolved.
    absolute = take_inventory("[a](https://other.org/p) [b](//cdn.org/p)")
    as_if_relative = (
        "---\n---\n[a](https://splevine.github.io/learning-from-machine-learning/https://other.org/p)"
        " [b](https://splevine.github.io//cdn.org/p)\n"
    )
    assert _of(unaccounted(absolute, as_if_relative, report="", **site), "link") == _of(absolute, "link")


# (i) property ------------------------------------------------------------------------------------


WORD = st.one_of(
    st.text(
        alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789éßÄ.,;:!?'\"-*_()&#’—…",
        min_size=1,
        max_size=10,
    ),
    st.sampled_from(
        ["e.g.", "Dr.", "vs.", "3.5", "00:46", "https://example.org/a_b?x=1", "{{ site.title }}"]
    ),
)
PARAGRAPH = st.lists(WORD, min_size=1, max_size=20).map(" ".join)
MARKDOWN = st.lists(PARAGRAPH, min_size=1, max_size=5).map("\n\n".join)


@hypothesis_settings(max_examples=examples(300), deadline=None)
@given(MARKDOWN)
def test_random_markdown_is_kept_by_itself(md: str) -> None:
    pieces = take_inventory(md)
    assert unaccounted(pieces, "---\n---\n\n" + md, report="") == []


@hypothesis_settings(max_examples=examples(100), deadline=None)
@given(st.lists(st.lists(WORD, min_size=3, max_size=12).map(" ".join), min_size=2, max_size=4))
def test_random_markdown_without_a_paragraph_misses_that_paragraph(paragraphs: list[str]) -> None:
    marker = "Zyxwvq unique paragraph here."
    md = "\n\n".join([*paragraphs, marker])
    missing = unaccounted(take_inventory(md), "---\n---\n\n" + "\n\n".join(paragraphs), report="")
    assert Piece("sentence", marker, 2 * len(paragraphs) + 1) in missing


# the splitter and Liquid ----------------------------------------------------------------------------


def test_sentences_split_at_ends_not_at_abbreviations_decimals_or_urls() -> None:
    text = (
        'Dr. Gill met Mr. Smith, e.g. at 3.5 GHz vs. 2.1. He said "Hi." Then J. K. Rowling wrote! '
        "Visit https://a.com/x.y?z=1. 2023 was good… And then... more? Yes"
    )
    assert [s for _, s in split_sentences(text)] == [
        "Dr. Gill met Mr. Smith, e.g. at 3.5 GHz vs. 2.1.",
        'He said "Hi."',
        "Then J. K. Rowling wrote!",
        "Visit https://a.com/x.y?z=1.",
        "2023 was good…",
        "And then... more?",
        "Yes",
    ]


def test_liquid_and_anchors_are_no_links_and_liquid_is_a_gap_in_its_sentence() -> None:
    body = (
        "Listen to {{ site.title }} and [episode one]({% post_url 2023-01-09-one %}).\n\n"
        '<a href="{{ site.baseurl }}/about">About us</a> <a href="#top">Top</a> [up](#up)\n\n'
        "{% include player.html %}\n"
    )
    pieces = take_inventory(body)
    assert pieces == [
        Piece("sentence", "Listen to {{ site.title }} and episode one.", 1),
        Piece("sentence", "About us Top up", 3),
    ]
    resolved = "---\n---\nListen to Learning from Machine Learning and [episode one](/2023/01/09/one.html).\n\nAbout us Top up\n"
    assert unaccounted(pieces, resolved, report="") == []
    reordered = "---\n---\nAnd episode one. Listen to Learning from Machine Learning\n\nAbout us Top up\n"
    assert unaccounted(pieces, reordered, report="") == [pieces[0]]
