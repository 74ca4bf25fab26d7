import pytest

from tsrtest import System


@pytest.fixture(scope="module")
def system():
    s = System().start()
    yield s
    s.stop()
