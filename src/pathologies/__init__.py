"""pathologies: find and fix the pathologies that make NLP model interpretations misleading."""

from .text import Example, InputError

__version__ = "0.1.0"
__all__ = ["Example", "InputError", "__version__"]
