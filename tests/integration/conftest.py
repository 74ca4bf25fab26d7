import pytest

from tsrtest import System


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
