"""Session state in Redis, shared by replicas on any number of machines.

Keys live under `virt:<namespace>:` and expire after `ttl` seconds without use, so abandoned
sessions go by themselves. `advance` is one round trip (HINCRBY and EXPIRE, pipelined). Every
call fails fast (1 s timeouts, one immediate retry for a connection Redis closed) with
StateUnavailable naming the URL without its password; the next call reconnects.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast
from urllib.parse import unquote, urlsplit

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from virt.errors import ConfigError, StateUnavailable
from virt.model import iso_utc
from virt.state.base import (
    MAX_RECORDS,
    SERVED_KEPT,
    check_record,
    shown,
    split,
    too_many,
)
from virt.state.batch import Batcher

DEFAULT_TTL = 24 * 3600
"""Seconds a session's state outlives its last request."""

TIMEOUT = 1.0
"""Seconds to connect to Redis, and to wait for an answer, before the state is unavailable."""

QUIET = 1.0
"""Seconds during which a Redis that timed out is not asked again."""

NAMESPACE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")

# HSET within MAX_RECORDS, atomically: KEYS[1] records, ARGV name, value, max, ttl
_PUT = """
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0
    and redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[3]) then
  return 0
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[4])
return 1
"""

# appends a batch to the journal: KEYS seq, entries, counts; ARGV kept, then match, entry, ...
_SERVED = """
for i = 2, #ARGV, 2 do
  if ARGV[i + 1] ~= '' then
    local id = redis.call('INCR', KEYS[1])
    redis.call('LPUSH', KEYS[2], id .. '\\0' .. ARGV[i] .. '\\0' .. ARGV[i + 1])
  end
  redis.call('HINCRBY', KEYS[3], ARGV[i], 1)
end
redis.call('LTRIM', KEYS[2], 0, tonumber(ARGV[1]) - 1)
return 1
"""


class RedisState:
    """Positions and records per session in the Redis at `url` (redis:// or rediss://)."""

    def __init__(self, url: str, namespace: str = "default", ttl: int = DEFAULT_TTL) -> None:
        self.url = shown(url)
        if not NAMESPACE.match(namespace):
            raise ConfigError(
                f"state namespace {namespace!r} in {self.url}: use 1 to 64 letters, digits, "
                "'_', '.' or '-'",
            )
        if ttl < 1:
            raise ConfigError(f"state ttl {ttl} in {self.url}: give a number of seconds, 1 or more")
        self.namespace, self.ttl = namespace, ttl
        self._prefix = f"virt:{namespace}:"
        self._password = _password(url)
        try:
            self._client = redis.Redis.from_url(
                url,
                socket_timeout=TIMEOUT,
                socket_connect_timeout=TIMEOUT,
                # once, at once: a connection Redis closed (restarted) is replaced, a Redis that
                # is away is said at once rather than after the client's default backoff
                retry=Retry(NoBackoff(), 1, supported_errors=(redis.ConnectionError,)),
            )
        except ValueError as e:
            raise ConfigError(f"bad Redis URL {self.url}: {self._scrub(e)}") from e
        self._put = self._client.register_script(_PUT)
        self._served_script = self._client.register_script(_SERVED)
        self._served: RedisServed | None = None
        self._timed_out = ""
        """Why the last call timed out; empty once a call succeeds."""
        self._quiet_until = 0.0

    def advance(self, cursor: str) -> int:
        """The position of `cursor` (`session\\0sequence`), moved one on for the next call."""
        session, sequence = split(cursor)
        key = self._prefix + "p:" + session
        with self._calling("advance a sequence"):
            pipe = self._client.pipeline(transaction=False)
            pipe.hincrby(key, sequence, 1)
            pipe.expire(key, self.ttl)
            position, _ = pipe.execute()
        return int(position) - 1

    def put(self, session: str, name: str, value: bytes) -> None:
        check_record(name, value)
        with self._calling("keep a record"):
            kept = self._put(
                keys=[self._prefix + "r:" + session], args=[name, value, MAX_RECORDS, self.ttl]
            )
        if not kept:
            raise too_many(session)

    def get(self, session: str, name: str) -> bytes | None:
        key = self._prefix + "r:" + session
        with self._calling("read a record"):
            pipe = self._client.pipeline(transaction=False)
            pipe.hget(key, name)
            pipe.expire(key, self.ttl)
            value, _ = pipe.execute()
        return None if value is None else bytes(value)

    def delete(self, session: str, name: str) -> bool:
        with self._calling("delete a record"):
            gone = self._client.hdel(self._prefix + "r:" + session, name)
        return bool(gone)

    def names(self, session: str, prefix: str = "") -> list[str]:
        with self._calling("list records"):
            kept = cast(list[bytes], self._client.hkeys(self._prefix + "r:" + session))
        names = (n.decode("utf-8", "surrogateescape") for n in kept)
        return sorted(n for n in names if n.startswith(prefix))

    def ttl_of(self, session: str) -> int:
        """Seconds until `session`'s positions expire (-2 none kept, -1 no expiry)."""
        with self._calling("read a TTL"):
            return int(self._client.ttl(self._prefix + "p:" + session))

    def clear(self) -> None:
        with self._calling("forget the sessions"):
            for kind in ("p:", "r:"):
                batch: list[Any] = []
                for key in self._client.scan_iter(
                    match=_glob(self._prefix + kind) + "*", count=500
                ):
                    batch.append(key)
                    if len(batch) == 500:
                        self._client.unlink(*batch)
                        batch = []
                if batch:
                    self._client.unlink(*batch)

    def generation(self) -> int:
        with self._calling("read the generation"):
            value = self._client.get(self._prefix + "generation")
        return 0 if value is None else int(cast(bytes, value))

    def bump(self) -> int:
        with self._calling("say the recordings changed"):
            return int(self._client.incr(self._prefix + "generation"))

    def served(self) -> RedisServed:
        """The journal of every replica using this Redis and namespace."""
        if self._served is None:
            self._served = RedisServed(self)
        return self._served

    def close(self) -> None:
        if self._served is not None:
            self._served.close()
        self._client.close()

    @contextmanager
    def _calling(self, doing: str) -> Iterator[None]:
        """Redis errors become StateUnavailable naming the URL (no password) and the call.

        A Redis that timed out is not asked again for QUIET seconds: calls run on the event
        loop, and a second of waiting per request would stall every connection of the door.
        A refused connection fails at once, so it is tried again at every call.
        """
        if self._timed_out and time.monotonic() < self._quiet_until:
            raise self._unavailable(doing, f"{self._timed_out} (not asked again for {QUIET:g}s)")
        try:
            yield
        except redis.TimeoutError as e:
            self._timed_out = self._scrub(e)
            self._quiet_until = time.monotonic() + QUIET
            raise self._unavailable(doing, self._timed_out) from e
        except redis.RedisError as e:
            raise self._unavailable(doing, self._scrub(e)) from e
        self._timed_out = ""

    def _unavailable(self, doing: str, why: str) -> StateUnavailable:
        return StateUnavailable(
            f"session state at {self.url}: cannot {doing}: {why}",
            hint=f"check that Redis answers at {self.url}; virt reconnects by itself",
        )

    def _scrub(self, e: Exception) -> str:
        text = str(e) or type(e).__name__
        return text.replace(self._password, "***") if self._password else text


class RedisServed:
    """The journal of every replica, in Redis: a list of the newest SERVED_KEPT entries, a hash
    of counts by match kind, written by a thread in batches."""

    def __init__(self, state: RedisState) -> None:
        self._state = state
        self._client = state._client
        prefix = state._prefix
        self._keys = [prefix + "served:seq", prefix + "served", prefix + "served:counts"]
        self._batcher: Batcher[tuple[str, bytes]] = Batcher(self._write, "virt-state-journal")
        with state._calling("read when the journal started"):
            self._client.set(prefix + "served:started", iso_utc(time.time()), nx=True)
            started = self._client.get(prefix + "served:started")
        self.started = bytes(cast(bytes, started)).decode() if started else iso_utc(time.time())

    def add(self, match: str, entry: bytes) -> None:
        self._batcher.add((match, entry))

    def newest(self, limit: int, match: str | None = None) -> list[tuple[int, bytes]]:
        self._batcher.flush()
        with self._state._calling("read the journal"):
            kept = cast(list[bytes], self._client.lrange(self._keys[1], 0, SERVED_KEPT - 1))
        out = []
        for item in kept:
            seq, kind, entry = item.split(b"\0", 2)
            if match is None or kind.decode() == match:
                out.append((int(seq), entry))
                if len(out) == limit:
                    break
        return out

    def counts(self) -> dict[str, int]:
        self._batcher.flush()
        with self._state._calling("read the journal's counts"):
            kept = cast(dict[bytes, bytes], self._client.hgetall(self._keys[2]))
        return {k.decode(): int(v) for k, v in kept.items()}

    def clear(self) -> None:
        self._batcher.flush()
        with self._state._calling("clear the journal"):
            self._client.delete(self._keys[1])

    def close(self) -> None:
        self._batcher.close()

    def _write(self, batch: list[tuple[str, bytes]]) -> None:
        args: list[Any] = [SERVED_KEPT]
        for match, entry in batch:
            args += [match, entry]
        with self._state._calling("write the journal"):
            self._state._served_script(keys=self._keys, args=args)


def _password(url: str) -> str:
    try:
        password = urlsplit(url).password
    except ValueError:
        return ""
    return unquote(password) if password else ""


def _glob(text: str) -> str:
    """`text` with Redis glob characters escaped, for SCAN MATCH."""
    return re.sub(r"([*?\[\]\\])", r"\\\1", text)
