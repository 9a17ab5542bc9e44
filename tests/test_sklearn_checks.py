"""scikit-learn's own estimator checks (``parametrize_with_checks``) on NetClassifier and
NetRegressor with their default parameters: every check must pass, none is marked as expected
to fail."""

import json
import os
import subprocess
import sys

import pytest

pytest.importorskip("sklearn")

from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

from tanul.sklearn import NetClassifier, NetRegressor  # noqa: E402

_SUBPROCESS = """
import json, os, sys
os.environ["SCIPY_ARRAY_API"] = "1"   # must be set before scipy is imported
from sklearn.utils import estimator_checks
from tanul import sklearn as tsk
spec = json.loads(sys.argv[1])
check = getattr(estimator_checks, spec["func"])
check(*spec["args"], getattr(tsk, spec["estimator"])(), **spec["keywords"])
print("ok")
"""


def _run_array_api_check(estimator, check):
    """The array-API checks need SCIPY_ARRAY_API=1 before scipy is imported: run them in a fresh
    process instead of letting scikit-learn skip them."""
    spec = {"func": check.func.__name__, "args": list(check.args), "keywords": check.keywords,
            "estimator": type(estimator).__name__}
    proc = subprocess.run([sys.executable, "-c", _SUBPROCESS, json.dumps(spec)], capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0 and proc.stdout.strip().endswith("ok"), proc.stderr[-3000:]


@parametrize_with_checks([NetClassifier(), NetRegressor()])
def test_sklearn_estimator_checks(estimator, check):
    name = getattr(getattr(check, "func", check), "__name__", "")
    if name == "check_array_api_input" and os.environ.get("SCIPY_ARRAY_API") != "1":
        _run_array_api_check(estimator, check)
    else:
        check(estimator)
