import pytest

from tsrtest import System

# Lines a test wants printed whatever happens (counts, measured figures):
# shown in pytest's closing summary, which ctest keeps.
REPORT = []


@pytest.fixture(scope="session")
def report():
    return REPORT.append


def pytest_terminal_summary(terminalreporter):
    for line in REPORT:
        terminalreporter.write_line(line)


@pytest.fixture(scope="module")
def system():
    s = System()
    try:
        s.start()
    except BaseException:
        s.stop()            # a failed start must not leave a cluster behind
        raise
    yield s
    s.stop()
