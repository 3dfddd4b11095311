"""Task lookup: exact slug/name/alias first, then fuzzy; suggestions when nothing wins.

The task names are real Papers with Code task names, including the crowded families
("... Object Detection", "... Segmentation") that make fuzzy matching hard.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import text
from sqlmodel import Session

from sotabot.bot.lookup.index import TaskRef, invalidate
from sotabot.bot.lookup.index import fast_normalise as _normalise
from sotabot.bot.lookup.resolve import Resolution, resolve_task, search_tasks
from sotabot.sources.normalise.taxonomy import normalise, slugify
from sotabot.storage.models import Benchmark, Dataset, Result, Task, TaskAlias

TASK_NAMES = """Object Detection|Real-Time Object Detection|3D Object Detection|Small Object Detection|
Few-Shot Object Detection|Weakly Supervised Object Detection|Open Vocabulary Object Detection|
Salient Object Detection|Video Object Detection|Face Detection|Pedestrian Detection|Anomaly Detection|
Lane Detection|Text Detection|Image Classification|Few-Shot Image Classification|
Fine-Grained Image Classification|Semi-Supervised Image Classification|Image Classification with Label Noise|
Classification|Text Classification|Document Classification|Node Classification|Graph Classification|
Audio Classification|Semantic Segmentation|Instance Segmentation|Panoptic Segmentation|
Medical Image Segmentation|Video Semantic Segmentation|Real-Time Semantic Segmentation|
3D Semantic Segmentation|Weakly-Supervised Semantic Segmentation|Speech Recognition|Speaker Recognition|
Action Recognition|Face Recognition|Machine Translation|Unsupervised Machine Translation|Question Answering|
Open-Domain Question Answering|Visual Question Answering|Language Modelling|Natural Language Inference|
Named Entity Recognition|Sentiment Analysis|Image Generation|Text Generation|Image Super-Resolution|
Pose Estimation|3D Human Pose Estimation|Monocular Depth Estimation|Link Prediction|Time Series Forecasting|
Atari Games|Code Generation|Text Summarization|Image Captioning|Person Re-Identification|Optical Flow Estimation"""
NAMES = [n.strip() for n in TASK_NAMES.replace("\n", "").split("|")]


@pytest.fixture
def session(engine):
    """The task list above, Object Detection and Image Classification with results on COCO/ImageNet."""
    with Session(engine) as s:
        tasks = {name: Task(slug=slugify(name), name=name) for name in NAMES}
        s.add_all(tasks.values())
        s.flush()
        s.add(TaskAlias(alias="obj det", task_id=tasks["Object Detection"].id, source="curated"))
        s.add(TaskAlias(alias="semseg", task_id=tasks["Semantic Segmentation"].id, source="curated"))
        s.add(TaskAlias(alias="asr", task_id=tasks["Speech Recognition"].id, source="curated"))
        coco, imagenet = Dataset(name="COCO test-dev"), Dataset(name="ImageNet")
        s.add_all([coco, imagenet])
        s.flush()
        for name, dataset, n in [
            ("Object Detection", coco, 12), ("Real-Time Object Detection", coco, 3),
            ("Instance Segmentation", coco, 5), ("Image Classification", imagenet, 20),
        ]:
            b = Benchmark(task_id=tasks[name].id, dataset_id=dataset.id, result_count=n)  # as the writers keep it
            s.add(b)
            s.flush()
            s.add_all(Result(benchmark_id=b.id, model=f"model {i}", paper_key=str(i)) for i in range(n))
        s.commit()
        yield s


def names(refs: list[TaskRef]) -> list[str]:
    return [r.name for r in refs]


@pytest.mark.parametrize("query", ["object-detection", "Object Detection", "object detection", "OBJECT_DETECTION "])
def test_an_exact_slug_or_name_resolves_in_any_case_or_punctuation(session, query):
    res = resolve_task(session, query)
    assert (res.task.slug, res.how) == ("object-detection", "exact")


@pytest.mark.parametrize(("query", "slug"), [("obj det", "object-detection"), ("SemSeg", "semantic-segmentation"),
                                             ("ASR", "speech-recognition")])
def test_an_alias_resolves_to_its_task(session, query, slug):
    res = resolve_task(session, query)
    assert (res.task.slug, res.how) == (slug, "alias")


@pytest.mark.parametrize(
    ("query", "name"),
    [
        ("image classifcation", "Image Classification"),
        ("semantic segmentaton", "Semantic Segmentation"),
        ("imgae classification", "Image Classification"),
        ("machine translaton", "Machine Translation"),
        ("speech recog", "Speech Recognition"),
        ("objectdetection", "Object Detection"),
        ("3d obj det", "3D Object Detection"),
    ],
)
def test_typos_prefixes_and_glued_words_resolve_fuzzily(session, query, name):
    res = resolve_task(session, query)
    assert res.task is not None, res.suggestions
    assert (res.task.name, res.how) == (name, "fuzzy")


def test_coco_detection_finds_object_detection_first(session):
    res = resolve_task(session, "coco detection")
    first = res.task if res.task is not None else res.suggestions[0]
    assert first.name == "Object Detection"


def test_an_ambiguous_word_gives_suggestions_not_a_guess(session):
    res = resolve_task(session, "segmentation", limit=4)
    assert res.task is None and res.how == "none"
    assert len(res.suggestions) == 4
    assert all("Segmentation" in s.name for s in res.suggestions)
    assert res.suggestions[0].name == "Instance Segmentation"  # the one with results ranks first


def test_suggestions_respect_the_limit(session):
    assert len(resolve_task(session, "segmentation", limit=2).suggestions) == 2
    assert resolve_task(session, "segmentation", limit=0).suggestions == []


def add_tasks(s: Session, task_names: list[str]) -> None:
    s.add_all(Task(slug=slugify(name), name=name) for name in task_names)
    s.commit()


# "video object segmentation" is no task's name: it covers every query word of both tasks below, and
# the shorter name scores a little higher (its words are covered better), high enough to resolve alone.


def test_a_fuzzy_winner_only_just_ahead_of_the_next_task_gives_suggestions_not_a_guess(engine):
    with Session(engine) as s:
        add_tasks(s, ["Referring Video Object Segmentation", "Semi-Supervised Video Object Segmentation"])
        res = resolve_task(s, "video object segmentation")
    assert (res.task, res.how) == (None, "none")
    assert names(res.suggestions) == [
        "Referring Video Object Segmentation", "Semi-Supervised Video Object Segmentation",
    ]


def test_the_same_fuzzy_winner_resolves_when_it_leads_the_next_task_clearly(engine):
    with Session(engine) as s:
        add_tasks(s, ["Referring Video Object Segmentation", "Video Instance Segmentation"])
        res = resolve_task(s, "video object segmentation")
    assert (res.task.name, res.how) == ("Referring Video Object Segmentation", "fuzzy")
    assert names(res.suggestions) == ["Video Instance Segmentation"]


def test_a_dataset_name_alone_suggests_the_tasks_benchmarked_on_it(session):
    res = resolve_task(session, "coco")
    assert res.task is None
    assert names(res.suggestions)[:2] == ["Object Detection", "Instance Segmentation"]


def test_nonsense_resolves_to_nothing(session):
    assert resolve_task(session, "qwzxv plmkj") == Resolution(None, [], "none")


@pytest.mark.parametrize(
    "query",
    ["", "   ", "\n\t", "x" * 10_000, "detection " * 2_000, "中文 检测", "🚀🚀", "'; DROP TABLE tasks; --",
     "%_%", "\x00\x01", "a", "Ω≈ç√"],
)
def test_odd_input_never_raises(session, query):
    res = resolve_task(session, query)
    assert isinstance(res, Resolution)
    assert isinstance(search_tasks(session, query), list)
    assert session.execute(text("SELECT COUNT(*) FROM tasks")).scalar() == len(NAMES)


def test_accented_input_is_folded_to_ascii(session):
    assert resolve_task(session, "Détection d'objets").suggestions[0].name == "Object Detection"


def test_search_lists_prefix_matches_first_then_fuzzy_ones(session):
    found = names(search_tasks(session, "obj", limit=25))
    assert found[0] == "Object Detection"
    assert {n for n in found if "Object Detection" in n} == {n for n in NAMES if "Object Detection" in n}


def test_search_respects_the_limit_and_is_capped_for_autocomplete(session):
    assert len(search_tasks(session, "classification", limit=3)) == 3
    assert len(search_tasks(session, "", limit=25)) == 25
    assert search_tasks(session, "classification", limit=0) == []


def test_an_empty_search_lists_the_tasks_with_most_results_first(session):
    assert names(search_tasks(session, "", limit=3)) == ["Image Classification", "Object Detection",
                                                         "Instance Segmentation"]


def test_the_index_sees_new_tasks_and_aliases_without_a_restart(session):
    assert resolve_task(session, "protein folding").task is None
    t = Task(slug="protein-folding", name="Protein Folding")
    session.add(t)
    session.commit()
    assert resolve_task(session, "protein folding").task.slug == "protein-folding"
    session.add(TaskAlias(alias="alphafold task", task_id=t.id))
    session.commit()
    assert resolve_task(session, "alphafold task").how == "alias"


def test_a_deleted_task_leaves_the_index_once_the_counts_are_checked(session, monkeypatch):
    import sotabot.bot.lookup.index as lookup

    assert resolve_task(session, "lane detection").task is not None
    session.execute(text("DELETE FROM tasks WHERE slug = 'lane-detection'"))
    session.commit()
    monkeypatch.setattr(lookup, "COUNT_CHECK_SECONDS", 0.0)
    res = resolve_task(session, "lane detection")
    assert "Lane Detection" not in names([t for t in (res.task, *res.suggestions, *search_tasks(session, "lane")) if t])


def test_a_renamed_task_is_found_after_invalidate(session, engine):
    t = session.execute(text("SELECT id FROM tasks WHERE slug = 'link-prediction'")).scalar()
    resolve_task(session, "link prediction")
    session.execute(text("UPDATE tasks SET name = 'Knowledge Graph Link Prediction' WHERE id = :i"), {"i": t})
    session.commit()
    invalidate(engine)
    assert resolve_task(session, "knowledge graph link prediction").how == "exact"


def test_a_task_name_wins_over_an_alias_spelled_the_same(session):
    detection = session.execute(text("SELECT id FROM tasks WHERE slug = 'face-detection'")).scalar()
    session.add(TaskAlias(alias="object detection", task_id=detection))
    session.commit()
    assert resolve_task(session, "object detection").task.slug == "object-detection"


def test_an_empty_database_resolves_nothing(engine):
    with Session(engine) as s:
        assert resolve_task(s, "object detection") == Resolution(None, [], "none")
        assert search_tasks(s, "") == []
        assert search_tasks(s, "obj") == []


@given(st.text())
def test_the_index_normalises_names_exactly_as_the_taxonomy_does(name):
    assert _normalise(name) == normalise(name)
