"""A hand-built Episode shaped like the seed post, for format tests that do not need normalization."""

from __future__ import annotations

import datetime as dt

from pipeline.model import BulletList, Chapter, Episode, ListItem, Paragraph, Section, Span

SEED_CHAPTERS = (
    Chapter(46, "Introduction and Maxime's Background"),
    Chapter(107, "Journey from Cybersecurity to Machine Learning"),
    Chapter(210, "The Fascination with AI and Cyber Attacks"),
    Chapter(375, "Transitioning to Post-Training at Liquid AI"),
    Chapter(3638, "Life Lessons from Machine Learning"),
)


def sample_episode(**changes: object) -> Episode:
    """An Episode like the seed post; keyword arguments replace fields."""
    fields: dict[str, object] = dict(
        stem="2025-05-28-maxime-labonne-thinking-beyond-transformers-learning-from-machine-learning-12",
        source_name="2025-05-28-maxime-labonne-thinking-beyond-transformers-learning-from-machine-learning-12.markdown",
        title="Maxime Labonne: Thinking beyond Transformers | Learning from Machine Learning #12",
        date=dt.datetime(2025, 5, 28, 22, 30, 30, tzinfo=dt.UTC),
        youtube_id="IOC2k5k8oto",
        substack_url="https://mindfulmachines.substack.com/p/maxime-labonne-thinking-beyond-transformers",
        description=None,
        categories=("machine learning updates",),
        duration=None,
        sections=(
            Section(
                "summary",
                None,
                (
                    Paragraph(
                        (
                            Span(
                                "On this episode of Learning from Machine Learning, I had the privilege of speaking with Maxime Labonne, Head of Post-Training at Liquid AI. We traced his journey from cybersecurity to the cutting edge of model architecture."
                            ),
                        )
                    ),
                    Paragraph(
                        (
                            Span(
                                "His framework for data quality—accuracy, diversity, and complexity—offers a "
                            ),
                            Span("blueprint", strong=True),
                            Span(" for anyone working with "),
                            Span("machine learning", url="https://example.org/ml"),
                            Span(" systems."),
                        )
                    ),
                ),
            ),
            Section("chapters", "Episode Timestamps"),
            Section(
                "links",
                "References",
                (
                    BulletList(
                        (
                            ListItem(
                                (Span("Maarten Grootendorst"),),
                                (
                                    ListItem(
                                        (
                                            Span(
                                                "Learning from Machine Learning Episode 1",
                                                url="https://youtu.be/bLW_RH2Y6oI",
                                            ),
                                        )
                                    ),
                                ),
                            ),
                            ListItem(
                                (
                                    Span("Emily Riehl - "),
                                    Span("Category Theory in Context", url="https://amzn.to/48ka3aU"),
                                )
                            ),
                            ListItem((Span("AlexNet"),)),
                        )
                    ),
                ),
            ),
        ),
        chapters=SEED_CHAPTERS,
        chapter_problems=(),
        front_matter_text="title: 'Maxime Labonne: Thinking beyond Transformers | Learning from Machine Learning #12'\nyoutubeID: IOC2k5k8oto\n",
        notes=(),
    )
    fields.update(changes)
    return Episode(**fields)  # type: ignore[arg-type]
