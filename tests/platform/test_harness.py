"""The test harness's own rules: parallel workers never share a Redis database."""

import pytest

from tests.conftest import redis_url_of_worker, worker_index


@pytest.mark.parametrize(("name", "index"), [("master", 0), ("gw0", 0), ("gw1", 1), ("gw3", 3)])
def test_worker_index(name, index):
    assert worker_index(name) == index


@pytest.mark.parametrize(
    ("url", "index", "expected"),
    [
        ("redis://127.0.0.1:6379/15", 0, "redis://127.0.0.1:6379/15"),
        ("redis://127.0.0.1:6379/15", 1, "redis://127.0.0.1:6379/14"),
        ("redis://127.0.0.1:6379", 1, "redis://127.0.0.1:6379/15"),
        ("redis://:secret@redis.internal:6380/0", 2, "redis://:secret@redis.internal:6380/14"),
        ("unix:///data/redis.sock?db=0", 1, "unix:///data/redis.sock?db=15"),
    ],
)
def test_each_worker_has_a_redis_database_of_its_own(url, index, expected):
    assert redis_url_of_worker(url, index) == expected
