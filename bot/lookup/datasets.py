"""A dataset name as the query: `/sota imagenet`, `/sota coco`, `/sota cifar-10`.

Researchers name benchmarks by their dataset. When the query is not a task name or alias but
names a dataset family (case, punctuation and spacing aside: "cifar10" = "CIFAR-10"; a split after
it: "coco" = COCO, COCO test-dev, COCO minival; a version: "squad" = SQuAD1.1, SQuAD v2.0) or a dataset
the importer would merge with a stored one (`dataset_key`: "SQuAD v1.1" = SQuAD1.1, "wmt 2014 en-de" =
WMT2014 English-German), the
answer is that dataset's board in the task it usually means (`DATASET_TASKS`: COCO is object
detection) or else the task that uses it most (results summed over the family), and the other
tasks on it are named. Within the task, the canonical benchmark wins among the
family, else the one with the most results.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass

from sqlmodel import Session

from sotabot.bot.lookup.index import TaskIndex, TaskRef, fast_normalise, task_index
from sotabot.digests.message import md_escape
from sotabot.sources.normalise.variants import dataset_key
from sotabot.storage.leaderboards import Prefer

MIN_QUERY_CHARS = 3  # "mt" names too many things
_LETTER_DIGIT = re.compile(r"(?<=[a-z])(?=[0-9])|(?<=[0-9])(?=[a-z])")
OTHER_TASKS_SHOWN = 5  # in the "also a benchmark of" footer
FAMILY_EXTRA_WORDS = 2  # "COCO test-dev" is COCO; "COCO Visual Question Answering (VQA) ..." is another dataset


@dataclass
class DatasetAnswer:
    task: TaskRef
    dataset: str  # the dataset name to open the task's leaderboard on
    others: list[TaskRef]  # other tasks with a benchmark on the dataset, most results first

    def others_note(self, shown: int = OTHER_TASKS_SHOWN) -> str | None:
        """The footer naming the other tasks on the dataset (neutral Markdown), so that chat and the
        terminal say the same; None when no other task uses it."""
        if not self.others:
            return None
        names = ", ".join(md_escape(t.name) for t in self.others[:shown])
        more = len(self.others) - shown
        return f"{md_escape(self.dataset)} is also a benchmark of: {names}" + (f" and {more} more" if more > 0 else "")


def split_words(key: str) -> str:
    """Letters and digits apart: "cifar10" and "cifar 10", "squad1 1" and "squad 1 1" compare alike."""
    return _LETTER_DIGIT.sub(" ", key)


def _names_family(name: str, key: str) -> bool:
    """`name` is the dataset `key` or one of its family (both normalised and split): "coco" -> COCO,
    COCO test-dev, COCO minival; "squad" -> SQuAD1.1, SQuAD v2.0; never "cifar 10" -> CIFAR-100."""
    if name == key:
        return True
    if not name.startswith(key + " "):
        return False
    extra = [w for w in name[len(key):].split() if not w.isdigit() and w != "v"]
    return len(extra) <= FAMILY_EXTRA_WORDS  # a split or variant, not another dataset named after it


def _home_task(key: str, idx: TaskIndex) -> int | None:
    """The task a dataset named alone means by default (`DATASET_TASKS`), if it is stored."""
    from sotabot.sources.normalise.canonical import DATASET_TASKS
    from sotabot.sources.normalise.taxonomy import slugify

    for name, task in DATASET_TASKS.items():
        if split_words(fast_normalise(name)) == key:
            return idx.slugs.get(slugify(task).lower())
    return None


def resolve_dataset(session: Session, text: str, prefer: Prefer | None = None) -> DatasetAnswer | None:
    """The task and dataset a dataset-name query means, or None when no dataset is named so."""
    key = fast_normalise(text or "")
    if len(key.replace(" ", "")) < MIN_QUERY_CHARS:
        return None
    idx = task_index(session)
    same = set(idx.dataset_keys.get(dataset_key(text), ()))  # the spellings the importer merges with it
    key = split_words(key)
    family = idx.split_datasets
    for split, name in family[bisect_left(family, (key,)):]:  # the names equal to the key, then "key ..."
        if split != key and not split.startswith(key + " "):
            break
        if _names_family(split, key):
            same.add(name)
    order = idx.dataset_order
    hits = [entry for name in sorted(same, key=order.__getitem__) for entry in idx.datasets[name]]
    hits = [h for h in hits if h[0] in idx.refs]
    if not hits:
        return None
    per_task: dict[int, dict[str, int]] = {}
    for task_id, dataset, results in hits:
        names = per_task.setdefault(task_id, {})
        names[dataset] = max(names.get(dataset, 0), results)
    home = _home_task(key, idx)
    ranked = sorted(per_task, key=lambda t: (t != home, -sum(per_task[t].values()), *idx.rank_key(t)))
    task_id = ranked[0]
    names = per_task[task_id]
    dataset = max(names, key=lambda n: (names[n], n))
    preference = prefer(idx.refs[task_id].slug) if prefer else None
    for wanted in preference.datasets if preference else ():
        match = next((n for n in names if fast_normalise(n) == fast_normalise(wanted)), None) or next(
            (n for n in names if dataset_key(n) == dataset_key(wanted)), None)  # as spelt, else a variant
        if match:
            dataset = match
            break
    return DatasetAnswer(idx.refs[task_id], dataset, [idx.refs[t] for t in ranked[1:]])
