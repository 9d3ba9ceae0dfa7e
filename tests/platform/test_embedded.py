"""The embedded servers keep their data across a stop, as the servers they stand in for would."""

import redis

from yijing.embedded import EmbeddedRedis


def test_a_restarted_embedded_redis_still_has_its_queue(tmp_path):
    server = EmbeddedRedis(tmp_path / "redis")
    server.start()
    try:
        with redis.Redis(unix_socket_path=str(server.socket)) as client:
            client.rpush("arq:queue:test", "a queued job")
        server.stop()  # SIGTERM: Redis writes its snapshot, then exits
        server.start()
        with redis.Redis(unix_socket_path=str(server.socket)) as client:
            assert client.lrange("arq:queue:test", 0, -1) == [b"a queued job"]
    finally:
        server.stop()
