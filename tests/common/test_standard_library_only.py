"""`common/` loads the standard library only: the bot's Lambda bundle and the training image
both carry it."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import REPO


def test_importing_common_loads_only_the_standard_library() -> None:
    script = (
        "import json, sys; before = set(sys.modules); import common.files, common.logs; "
        "print(json.dumps(sorted(set(sys.modules) - before)))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, check=True
    )
    modules = set(json.loads(done.stdout))
    loaded = {m.split(".")[0] for m in modules}
    assert loaded - {"common", "contract"} <= sys.stdlib_module_names
    assert "common" in loaded
    # The environment variables' names (logging reads two): standard library only itself.
    assert {m for m in modules if m.startswith("contract.")} <= {"contract.environment"}
