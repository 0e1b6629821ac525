"""pathologies: find and fix the pathologies that make NLP model interpretations misleading."""

import sys

from .text import Example, InputError

__version__ = "0.1.0"

if "IPython" in sys.modules:  # in a notebook, records display through the report's templates
    from .report import qa_view as _qa_view  # noqa: F401  (and of the question-answering records)
    from .report import views as _views  # noqa: F401  (registers the HTML renderers of the records)
__all__ = ["Example", "InputError", "__version__"]
