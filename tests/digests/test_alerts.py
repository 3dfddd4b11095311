"""Task alerts: events matched to subscriptions, one message per channel, never twice."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlmodel import Session, select

from sotabot.digests.alerts import build_alerts
from sotabot.digests.message import Message
from sotabot.storage.models import (
    Benchmark,
    Channel,
    Dataset,
    Delivery,
    Metric,
    Paper,
    Result,
    ResultEvent,
    ResultValue,
    Subscription,
    Task,
)

NOW = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)


def _setup(engine) -> dict[str, int]:
    with Session(engine, expire_on_commit=False) as s:
        asr = Task(slug="speech-recognition", name="Speech Recognition")
        seg = Task(slug="semantic-segmentation", name="Semantic Segmentation")
        ds = Dataset(name="LibriSpeech test-clean")
        wer = Metric(name="Word Error Rate (WER)", direction="lower")
        s.add_all([asr, seg, ds, wer])
        s.flush()
        bench = Benchmark(task_id=asr.id, dataset_id=ds.id, primary_metric_id=wer.id)
        s.add(bench)
        lab_a = Channel(platform="slack", workspace="T1", channel="C-ASR")
        lab_b = Channel(platform="discord", workspace="G9", channel="123")
        quiet = Channel(platform="slack", workspace="T1", channel="C-SEG")
        s.add_all([lab_a, lab_b, quiet])
        s.flush()
        s.add_all(
            [
                Subscription(channel_id=lab_a.id, kind="task", target="speech-recognition"),
                Subscription(channel_id=lab_b.id, kind="task", target="speech-recognition"),
                Subscription(channel_id=lab_b.id, kind="category", target="cs.CV"),
                Subscription(channel_id=quiet.id, kind="task", target="semantic-segmentation"),
            ]
        )
        s.commit()
        return {"asr": asr.id, "bench": bench.id, "wer": wer.id, "a": lab_a.id, "b": lab_b.id, "quiet": quiet.id}


def _result_event(engine, ids, model: str, value: float, kind: str = "new_result", event_id: int | None = None) -> int:
    """A result and its event; `event_id` fixes the event's id (ids need not follow commit order)."""
    with Session(engine, expire_on_commit=False) as s:
        result = Result(
            benchmark_id=ids["bench"],
            model=model,
            paper_key=model,
            paper_title=f"{model} paper",
            paper_url="https://arxiv.org/abs/2611.00001",
            result_date=date(2026, 11, 28),
            source="pwc_api",
        )
        s.add(result)
        s.flush()
        s.add(ResultValue(result_id=result.id, metric_id=ids["wer"], value=value, raw=f"{value}"))
        event = ResultEvent(
            id=event_id,
            kind=kind,
            dedupe_key=f"{kind}:{result.id}",
            task_id=ids["asr"],
            benchmark_id=ids["bench"],
            result_id=result.id,
        )
        s.add(event)
        s.commit()
        return event.id


def deliveries(engine) -> list[Delivery]:
    with Session(engine) as s:
        return list(s.exec(select(Delivery).order_by(Delivery.channel_id)).all())


def test_one_event_becomes_one_delivery_per_subscribed_channel(engine):
    ids = _setup(engine)
    event_id = _result_event(engine, ids, "Whisper-XL", 1.4, kind="new_sota")
    report = build_alerts(engine, NOW)
    rows = deliveries(engine)
    assert (report.events, report.deliveries) == (1, 2)
    assert [(d.channel_id, d.dedupe_key) for d in rows] == [
        (ids["a"], f"event:{event_id}"),
        (ids["b"], f"event:{event_id}"),
    ]
    text = Message.from_dict(rows[0].payload).blocks[0].text
    assert "New state of the art" in text and "Whisper-XL" in text and "LibriSpeech test-clean" in text


def test_running_alerts_again_queues_nothing(engine):
    ids = _setup(engine)
    _result_event(engine, ids, "Model-A", 2.0)
    build_alerts(engine, NOW)
    again = build_alerts(engine, NOW)
    assert (again.events, again.deliveries) == (0, 0)
    assert len(deliveries(engine)) == 2


def test_many_events_at_once_become_one_batched_message_per_channel(engine):
    ids = _setup(engine)
    for i in range(50):
        _result_event(engine, ids, f"Model-{i}", 3.0 + i / 100)
    report = build_alerts(engine, NOW)
    rows = deliveries(engine)
    assert report.events == 50 and len(rows) == 2
    msg = Message.from_dict(rows[0].payload)
    assert msg.blocks[0].text.startswith("50 new results in Speech Recognition")
    assert "and 25 more" in msg.blocks[-1].text


def test_a_channel_subscribed_to_nothing_matching_gets_nothing(engine):
    ids = _setup(engine)
    _result_event(engine, ids, "Model-A", 2.0)
    build_alerts(engine, NOW)
    assert ids["quiet"] not in {d.channel_id for d in deliveries(engine)}


def test_a_new_paper_with_code_reaches_category_subscribers(engine):
    ids = _setup(engine)
    with Session(engine, expire_on_commit=False) as s:
        paper = Paper(arxiv_id="2611.00042", title="Segment Everything Faster", categories=["cs.CV", "cs.LG"])
        s.add(paper)
        s.flush()
        s.add(
            ResultEvent(
                kind="new_paper_with_code",
                dedupe_key="pwc:2611.00042",
                paper_id=paper.id,
                payload={"repo_url": "https://github.com/lab/seg"},
            )
        )
        s.commit()
    build_alerts(engine, NOW)
    rows = deliveries(engine)
    assert [d.channel_id for d in rows] == [ids["b"]]
    text = Message.from_dict(rows[0].payload).blocks[0].text
    assert "Segment Everything Faster" in text and "https://github.com/lab/seg" in text


def test_inactive_channels_get_no_alerts(engine):
    ids = _setup(engine)
    with Session(engine) as s:
        ch = s.get(Channel, ids["a"])
        ch.active = False
        s.add(ch)
        s.commit()
    _result_event(engine, ids, "Model-A", 2.0)
    build_alerts(engine, NOW)
    assert [d.channel_id for d in deliveries(engine)] == [ids["b"]]


def batches(engine, channel_id: int) -> list[tuple[str, str]]:
    """(dedupe key, message text) of a channel's deliveries, in the order they were queued."""
    with Session(engine) as s:
        rows = s.exec(select(Delivery).where(Delivery.channel_id == channel_id).order_by(Delivery.id)).all()
        texts = [" ".join(getattr(b, "text", "") for b in Message.from_dict(d.payload).blocks) for d in rows]
        return [(d.dedupe_key, text) for d, text in zip(rows, texts, strict=True)]


def test_batches_whose_ids_read_alike_when_run_together_still_get_different_keys(engine):
    # Events 12 and 13 are alerted first; events 1 and 213 become visible later (their transactions
    # committed late: database ids are not commit order). Run together, both ranges read "1213".
    ids = _setup(engine)
    for event_id in (12, 13):
        _result_event(engine, ids, f"Model-{event_id}", 2.0, event_id=event_id)
    first = build_alerts(engine, NOW)
    for event_id in (1, 213):
        _result_event(engine, ids, f"Model-{event_id}", 2.0, event_id=event_id)
    second = build_alerts(engine, NOW)
    assert (first.deliveries, second.deliveries) == (2, 2)  # each run: one batch for each subscribed channel
    for channel_id in (ids["a"], ids["b"]):
        (key_1, text_1), (key_2, text_2) = batches(engine, channel_id)
        assert key_1 != key_2
        assert "Model-12" in text_1 and "Model-13" in text_1
        assert "**Model-1**" in text_2 and "**Model-213**" in text_2 and "Model-12" not in text_2


def test_a_batch_and_a_single_event_for_one_channel_get_different_keys(engine):
    ids = _setup(engine)
    for event_id in (5, 7):
        _result_event(engine, ids, f"Model-{event_id}", 2.0, event_id=event_id)
    build_alerts(engine, NOW)
    _result_event(engine, ids, "Model-6", 2.0, event_id=6)  # committed late, alerted on its own
    assert build_alerts(engine, NOW).deliveries == 2
    (key_batch, text_batch), (key_single, text_single) = batches(engine, ids["a"])
    assert key_batch != key_single
    assert "Model-5" in text_batch and "Model-7" in text_batch and "Model-6" in text_single


@pytest.mark.parametrize("events", [1, 3])
def test_a_second_run_over_the_same_events_queues_nothing_even_without_the_alerted_stamp(engine, events):
    # What a second run that read the events before the first one stamped them would do: the dedupe
    # key of the same events for the same channel is the same key, so nothing is queued twice.
    ids = _setup(engine)
    for i in range(events):
        _result_event(engine, ids, f"Model-{i}", 2.0 + i)
    assert build_alerts(engine, NOW).deliveries == 2
    before = {(d.channel_id, d.dedupe_key) for d in deliveries(engine)}
    with Session(engine) as s:
        for event in s.exec(select(ResultEvent)).all():
            event.alerted_at = None
            s.add(event)
        s.commit()
    again = build_alerts(engine, NOW)
    assert (again.events, again.deliveries) == (events, 0)
    assert {(d.channel_id, d.dedupe_key) for d in deliveries(engine)} == before
    assert len(deliveries(engine)) == 2
