"""The run's closing summary ranks the test files by the time their tests took."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.plugins.tiers import slowest_files

ROOT = Path(__file__).resolve().parents[2]


def test_files_are_ranked_by_their_time_slowest_first_with_their_tests_and_time_per_test():
    seconds = {"tests/a.py": 2.0, "tests/b.py": 9.0, "tests/c.py": 4.5}
    tests = {"tests/a.py": 4, "tests/b.py": 3, "tests/c.py": 9}
    lines = slowest_files(seconds, tests, count=2)
    assert [line.split()[-1] for line in lines] == ["tests/b.py", "tests/c.py"]
    assert lines[0].split() == ["9.0", "s", "3", "tests", "3.00", "s/test", "tests/b.py"]
    assert lines[1].split()[:5] == ["4.5", "s", "9", "tests", "0.50"]


def test_a_file_whose_tests_all_errored_in_setup_is_still_ranked():
    assert slowest_files({"tests/x.py": 1.25}, {}, count=10) == ["     1.2 s     0 tests   1.25 s/test  tests/x.py"]


SLOW = """
import time
import pytest

@pytest.fixture(scope="module")
def slow_start():
    time.sleep(0.6)

def test_one(slow_start):
    pass

def test_two():
    time.sleep(0.3)
"""

QUICK = """
def test_quick():
    pass
"""


def test_a_run_ends_with_the_slowest_files_their_module_fixtures_counted(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
):
    pytester.makepyfile(test_slow=SLOW, test_quick=QUICK)
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    result = pytester.runpytest_subprocess("-p", "tests.plugins.tiers", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(
        [
            "*time per tier*",
            "all * 3 tests *",
            "*10 slowest test files (setup, call and teardown)*",
            "* s     2 tests * s/test  test_slow.py",
            "* s     1 tests * s/test  test_quick.py",
        ]
    )
    (slow,) = [line.split() for line in result.outlines if line.endswith("  test_slow.py")]
    assert float(slow[0]) >= 0.9  # the module fixture's 0.6 s and the test's 0.3 s
    assert float(slow[4]) == pytest.approx(float(slow[0]) / 2, abs=0.01)
