"""The benchmark a researcher means: the canonical main benchmark and metric of the headline tasks.

"Image classification" means ImageNet top-1, not the task's most crowded table (CIFAR-10 in the
old sota-extractor dumps). Each entry lists the dataset names the archive and the live sources use
for that benchmark, most wanted first, and the metric names likewise; the first one a task
actually has wins, and a task with none of them falls back to the usual rule (most results).
`[canonical]` in the config overrides or adds entries: `"Task name" = "Dataset"` or
`"Task name" = "Dataset | Metric"`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from sotabot.sources.normalise.taxonomy import slugify
from sotabot.storage.leaderboards import Preference

_TOP1 = ("Top 1 Accuracy", "Top-1 Accuracy", "Top 1 Error", "Accuracy")
_WER = ("Word Error Rate (WER)", "WER", "Test WER", "Percentage error")
_ACC = ("Accuracy", "Accuracy (%)", "% Test Accuracy", "Test Accuracy")

# task name -> (dataset names, metric names), each most wanted first
CANONICAL: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "Image Classification": (("ImageNet", "ImageNet-1k", "ImageNet ReaL", "Imagenet Image Recognition"), _TOP1),
    "Self-Supervised Image Classification": (("ImageNet",), ("Top 1 Accuracy", "Top-1 Accuracy")),
    "Few-Shot Image Classification": (("Mini-Imagenet 5-way (1-shot)",), ("Accuracy",)),
    "Object Detection": (("COCO test-dev", "COCO minival", "COCO val2017", "COCO"), ("box mAP", "box AP", "AP")),
    "Real-Time Object Detection": (("COCO", "COCO test-dev"), ("box AP", "box mAP", "MAP")),
    "3D Object Detection": (("nuScenes", "KITTI Cars Moderate"), ("NDS", "AP")),
    "Instance Segmentation": (("COCO test-dev", "COCO minival"), ("mask AP", "AP")),
    "Semantic Segmentation": (("ADE20K val", "ADE20K", "Cityscapes val", "Cityscapes test"),
                              ("Validation mIoU", "mIoU", "Mean IoU (class)")),
    "Panoptic Segmentation": (("COCO test-dev", "COCO minival", "COCO panoptic"), ("PQ",)),
    "Pose Estimation": (("COCO test-dev", "MPII Human Pose"), ("AP", "PCKh-0.5")),
    "Monocular Depth Estimation": (("NYU-Depth V2", "KITTI Eigen split"), ("RMSE", "absolute relative error")),
    "Image Super-Resolution": (("Set5 - 4x upscaling", "Set14 - 4x upscaling"), ("PSNR",)),
    "Image Generation": (("ImageNet 256x256", "CIFAR-10", "ImageNet 64x64"), ("FID",)),
    "Text-to-Image Generation": (("MS COCO", "COCO"), ("FID", "Zero-shot FID")),
    "Image Captioning": (("COCO Captions", "COCO Captions test"), ("CIDEr", "CIDER", "BLEU-4")),
    "Visual Question Answering": (("VQA v2 test-dev", "VQA v2 test-std"), ("Accuracy", "overall")),
    "Optical Flow Estimation": (("Sintel-final", "Sintel-clean"), ("Average End-Point Error",)),
    "Person Re-Identification": (("Market-1501",), ("Rank-1", "mAP")),
    "Face Verification": (("Labeled Faces in the Wild",), ("Accuracy",)),
    "Multi-Object Tracking": (("MOT17",), ("MOTA", "HOTA")),
    "Visual Object Tracking": (("LaSOT",), ("AUC", "Success Rate")),
    "Anomaly Detection": (("MVTec AD",), ("Detection AUROC", "Segmentation AUROC")),
    "Action Recognition": (("Kinetics-400", "UCF101", "Something-Something V2"),
                           ("Acc@1", "Top-1 Accuracy", "3-fold Accuracy")),
    "Action Classification": (("Kinetics-400", "Kinetics-600"), ("Acc@1", "Top-1 Accuracy")),
    "3D Point Cloud Classification": (("ModelNet40",), ("Overall Accuracy", "Mean Accuracy")),
    "Speech Recognition": (("LibriSpeech test-clean", "librispeech WER testclean", "LibriSpeech test-other",
                            "Switchboard + Hub500"), _WER),
    "Keyword Spotting": (("Google Speech Commands",), ("Google Speech Commands V2 35", "Accuracy")),
    "Speaker Verification": (("VoxCeleb1",), ("EER",)),
    "Machine Translation": (("WMT2014 English-German", "WMT 2014 EN-DE", "WMT2014 English-French"),
                            ("BLEU score", "BLEU", "SacreBLEU")),
    "Language Modelling": (("WikiText-103", "Penn Treebank (Word Level)", "One Billion Word"),
                           ("Test perplexity", "Validation perplexity", "Perplexity")),
    "Question Answering": (("SQuAD1.1", "SQuAD1.1 dev", "SQuAD2.0", "Natural Questions"), ("EM", "F1")),
    "Open-Domain Question Answering": (("Natural Questions", "TriviaQA"), ("EM", "Exact Match")),
    "Reading Comprehension": (("RACE",), ("Accuracy",)),
    "Natural Language Inference": (("SNLI", "MultiNLI", "MNLI"), ("% Test Accuracy", "Accuracy", "Matched")),
    "Sentiment Analysis": (("SST-2 Binary classification", "IMDb", "Yelp Binary classification"),
                           ("Accuracy", "Error")),
    "Text Classification": (("AG News", "DBpedia"), ("Error", "Accuracy")),
    "Named Entity Recognition (NER)": (("CoNLL 2003 (English)", "Ontonotes v5 (English)"), ("F1",)),
    "Named Entity Recognition": (("CoNLL 2003 (English)", "Ontonotes v5 (English)"), ("F1",)),
    "Dependency Parsing": (("Penn Treebank",), ("LAS", "UAS")),
    "Constituency Parsing": (("Penn Treebank",), ("F1 score", "F1")),
    "Part-Of-Speech Tagging": (("Penn Treebank",), ("Accuracy",)),
    "Semantic Role Labeling": (("OntoNotes", "CoNLL 2005"), ("F1",)),
    "Coreference Resolution": (("CoNLL 2012", "OntoNotes"), ("Avg F1", "F1")),
    "Relation Extraction": (("TACRED",), ("F1",)),
    "Semantic Textual Similarity": (("STS Benchmark",), ("Spearman Correlation", "Pearson Correlation")),
    "Paraphrase Identification": (("Quora Question Pairs",), ("Accuracy", "F1")),
    "Text Summarization": (("CNN / Daily Mail", "GigaWord", "X-Sum"), ("ROUGE-1", "ROUGE-L", "ROUGE-2")),
    "Abstractive Text Summarization": (("CNN / Daily Mail",), ("ROUGE-1", "ROUGE-L")),
    "Common Sense Reasoning": (("CommonsenseQA", "HellaSwag", "WinoGrande"), _ACC),
    "Arithmetic Reasoning": (("GSM8K",), ("Accuracy",)),
    "Math Word Problem Solving": (("MATH", "GSM8K"), ("Accuracy",)),
    "Multi-task Language Understanding": (("MMLU",), ("Average (%)", "Accuracy")),
    "Code Generation": (("HumanEval", "MBPP", "APPS"), ("Pass@1", "pass@1", "Accuracy")),
    "Node Classification": (("Cora", "Citeseer", "Pubmed"), ("Accuracy",)),
    "Link Prediction": (("FB15k-237", "WN18RR"), ("MRR", "Hits@10")),
    "Graph Classification": (("PROTEINS", "MUTAG", "IMDb-B"), ("Accuracy",)),
    "Node Property Prediction": (("ogbn-arxiv", "ogbn-products"), ("Test Accuracy",)),
    "Graph Property Prediction": (("ogbg-molhiv",), ("Test ROC-AUC",)),
}

# A dataset named alone (`/sota coco`) means this task when the task has a board on it: the
# usual rule (the task with most results on the dataset) stays for every other name, and decides
# when the task here has none. Keys are dataset family names as people type them.
DATASET_TASKS: dict[str, str] = {
    "COCO": "Object Detection",
    "ImageNet": "Image Classification",
    "CIFAR-10": "Image Classification",
    "CIFAR-100": "Image Classification",
    "MNIST": "Image Classification",
    "SQuAD": "Question Answering",
    "LibriSpeech": "Speech Recognition",
    "ADE20K": "Semantic Segmentation",
    "Cityscapes": "Semantic Segmentation",
    "HumanEval": "Code Generation",
    "nuScenes": "3D Object Detection",
    "KITTI": "3D Object Detection",
}


def parse_override(value: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """`"Dataset"` or `"Dataset | Metric"` (from `[canonical]`) as (datasets, metrics)."""
    dataset, _, metric = value.partition("|")
    return ((dataset.strip(),) if dataset.strip() else (), (metric.strip(),) if metric.strip() else ())


def canonical_preference(overrides: Mapping[str, str] | None = None) -> Callable[[str], Preference | None]:
    """The curated choice for a task slug, with the config's `[canonical]` entries first (and stronger:
    an operator's choice also beats a default benchmark set upstream)."""
    curated = {slugify(name): Preference(datasets, metrics) for name, (datasets, metrics) in CANONICAL.items()}
    configured = {}
    for name, value in (overrides or {}).items():
        datasets, metrics = parse_override(value)
        configured[slugify(name)] = Preference(datasets, metrics, strong=True)

    def prefer(slug: str) -> Preference | None:
        return configured.get(slug) or curated.get(slug)

    return prefer
