"""scripts/spec_diff.py as a module, for the tests (scripts/ is not a package)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "spec_diff.py"


def _load() -> ModuleType:
    loader = importlib.util.spec_from_file_location("spec_diff", SCRIPT)
    assert loader is not None and loader.loader is not None
    module = importlib.util.module_from_spec(loader)
    # dataclasses look their module up in sys.modules while the module runs.
    sys.modules["spec_diff"] = module
    loader.loader.exec_module(module)
    return module


spec_diff = sys.modules.get("spec_diff") or _load()
