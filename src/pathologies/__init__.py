"""pathologies: find and fix the pathologies that make NLP model interpretations misleading."""

import sys

from .text import Example, InputError

__version__ = "0.1.0"

if "IPython" in sys.modules:  # in a notebook, records display through the report's templates
    from .report import views as _views  # noqa: F401  (registers the HTML renderers of the records)
__all__ = ["Example", "InputError", "__version__"]
