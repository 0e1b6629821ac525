"""Training: the fine-tuning loop shared by every objective."""

from .loop import TrainConfig, TrainResult, accuracy, create_model, fit, minilm_path, train_model

__all__ = ["TrainConfig", "TrainResult", "accuracy", "create_model", "fit", "minilm_path", "train_model"]
