"""Extractive question answering: explain and reduce questions for the predicted answer span.

- :mod:`pathologies.models.qa`: any HF ``AutoModelForQuestionAnswering`` (``load_qa_model``)
- :mod:`pathologies.data.squad`: SQuAD v1.1 / v2.0 files and the hub's ``squad``
- :mod:`.engine`: batched, cached span scoring; :mod:`.explain`: attributions;
  :mod:`.reduction`: question reduction; :mod:`.training`: entropy fine-tuning;
  :mod:`.records`: the JSON records. Run folders: :mod:`pathologies.audit.qa` (``Run.load`` reads them).
"""

from .records import QAAttribution, QAReduction, summarize_qa  # noqa: F401  (light: no torch)
