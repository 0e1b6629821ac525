"""The built-in metrics, one file each; every module here registers itself on import.

Add a metric by adding a file here (see README, "Extending"): it is found by its folder,
not by a list, so nothing else changes.
"""

import importlib
import pkgutil

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")
