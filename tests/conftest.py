"""Shared test fixtures and options.

* ``--run-slow`` runs tests marked ``slow`` (long fuzzing runs, large benchmarks' checks).
* Hypothesis: the everyday run (and CI) draws the same examples every time (profile
  ``repeatable``), so a red run is reproducible and never a matter of luck; ``--run-slow`` loads
  ``explore``, which draws new examples on every run to find new failures. Choose one with
  ``HOTSPOTS_HYPOTHESIS_PROFILE``.
* ``engine``: runs a test twice, with the compiled (numba) KDE loops and the pure-numpy fallback.
* ``demo_files``: the synthetic demo data set (seed 0) written once per session; read only.
* ``demo``, ``derby``: the demo data bundle (seed 0) once per module, and its incidents near Derby
  centre in 2023 (a module may define its own ``demo``, which then replaces this one).
* ``leicestershire_asb``: the real Leicestershire ASB incidents, loaded once per session.
* Real police.uk data is read from ``../shared/data/police_uk`` relative to the repository root,
  only from tests, and tests that need it skip cleanly when it is absent.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

REPO = Path(__file__).resolve().parents[1]
SHARED_POLICE_UK = REPO.parent / "shared" / "data" / "police_uk"
TEST_OUTPUT = REPO / "test-output"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--run-slow", action="store_true", default=False, help="run tests marked slow")


hypothesis_settings.register_profile("repeatable", derandomize=True)
hypothesis_settings.register_profile("explore", derandomize=False)


def pytest_configure(config: pytest.Config) -> None:
    # Before the test modules are imported: their module-level ``settings(...)`` objects take
    # the profile loaded here as their parent.
    default = "explore" if config.getoption("--run-slow") else "repeatable"
    hypothesis_settings.load_profile(os.environ.get("HOTSPOTS_HYPOTHESIS_PROFILE", default))


SLOW_TIMEOUT_S = 4 * 3600  # a long fuzz run (--run-slow) may take tens of minutes


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--run-slow"):
        for item in items:
            if "slow" in item.keywords and item.get_closest_marker("timeout") is None:
                item.add_marker(pytest.mark.timeout(SLOW_TIMEOUT_S))
        return
    skip = pytest.mark.skip(reason="slow: run with --run-slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def police_uk_dir() -> Path:
    """The shared real police.uk data folder; skips the test when it is absent."""
    if not SHARED_POLICE_UK.is_dir():
        pytest.skip(f"real police.uk data not found at {SHARED_POLICE_UK}")
    return SHARED_POLICE_UK


@pytest.fixture(scope="session")
def derbyshire_dir(police_uk_dir: Path) -> Path:
    d = police_uk_dir / "derbyshire"
    if not d.is_dir() or not list(d.glob("*.csv")):
        pytest.skip(f"Derbyshire police.uk files not found in {d}")
    return d


@pytest.fixture(scope="session")
def leicestershire_asb(police_uk_dir: Path):
    """The anti-social behaviour incidents of the real Leicestershire police.uk files (loaded once; read only)."""
    from hotspots.io import load_police_uk

    d = police_uk_dir / "leicestershire"
    if not d.is_dir():
        pytest.skip("Leicestershire files absent")
    return load_police_uk(d, categories="asb").data


@pytest.fixture(scope="session")
def test_output() -> Path:
    """Folder for screenshots and files that humans may want to look at after a run."""
    TEST_OUTPUT.mkdir(exist_ok=True)
    return TEST_OUTPUT


@pytest.fixture(scope="session")
def demo_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The demo data set (seed 0) as files, written once per session: read them, never change them."""
    from hotspots.demo import write_demo

    return write_demo(tmp_path_factory.mktemp("demo"), seed=0)


@pytest.fixture(scope="module")
def demo():
    """The app's demo data bundle (seed 0), made once per test module."""
    from hotspots.app_support import demo_bundle

    return demo_bundle(0)


@pytest.fixture(scope="module")
def derby(demo):
    """The demo's incidents within 6 km of Derby centre in 2023 (see :func:`helpers.near_derby`)."""
    from helpers import near_derby

    return near_derby(demo.incidents)


@pytest.fixture(params=["compiled", "numpy"])
def engine(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test with the numba KDE loops (skipped when numba is missing) and with the pure-numpy fallback."""
    import importlib

    mod = importlib.import_module("hotspots.kde_compiled")
    if request.param == "compiled" and mod.compiled_loops() is None:
        pytest.skip("numba not installed")
    monkeypatch.setattr(mod, "USE_NUMBA", request.param == "compiled")
    return request.param
