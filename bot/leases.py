"""Per-update leases, so that an update delivered twice (a redelivery, or two processes at once) is answered once.

Before handling update N a process claims it: :attr:`Claim.OURS` means go ahead, :attr:`Claim.BUSY`
that another handler holds it right now (answer "retry later"), :attr:`Claim.DONE` that it was
answered already (acknowledge and drop it). A lease expires after ``lease_seconds``, so a crashed
owner's update is picked up by the next delivery. ``finish`` replaces the lease with a done mark
kept 26 hours, longer than Telegram keeps an undelivered update (24 hours); ``release`` gives the
update up at once (handling failed: let a redelivery proceed without waiting out the lease).
"""

from __future__ import annotations

import enum
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from .connections import StoreUnavailable

if TYPE_CHECKING:
    import redis.asyncio

DONE_SECONDS = 26 * 3600
DONE_MARK = "done"

# KEYS[1] the update's key; ARGV[1] our token, ARGV[2] lease ms, ARGV[3] the done mark.
_CLAIM = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 'ours' end
if redis.call('GET', KEYS[1]) == ARGV[3] then return 'done' end
return 'busy'
"""
# ARGV[1] our token, ARGV[2] the done mark, ARGV[3] done ms. Not over another process's live lease:
# that one answers the update now and will mark it done itself.
_FINISH = """
local holder = redis.call('GET', KEYS[1])
if holder == false or holder == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 1
end
if holder == ARGV[2] then return 1 end
return 0
"""
# ARGV[1] our token.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class Claim(enum.Enum):
    """The answer to "may I handle this update?"."""

    OURS = "ours"  # go ahead, then finish() (or release() on failure)
    DONE = "done"  # answered already: acknowledge and drop
    BUSY = "busy"  # someone is answering it right now: ask Telegram to retry later


class Leases(Protocol):
    """What the webhook server needs of a lease store: :class:`MemoryLeases` or :class:`RedisLeases`."""

    async def claim(self, update_id: int) -> Claim: ...
    async def finish(self, update_id: int) -> None: ...
    async def release(self, update_id: int) -> None: ...


class MemoryLeases:
    """Leases of one process: a bounded dict of update id → (done?, expiry), oldest dropped first."""

    def __init__(
        self,
        *,
        lease_seconds: float = 30.0,
        done_seconds: float = DONE_SECONDS,
        max_entries: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.lease_seconds = lease_seconds
        self.done_seconds = done_seconds
        self.max_entries = max(1, max_entries)
        self.clock = clock
        self._entries: OrderedDict[int, tuple[bool, float]] = OrderedDict()

    def _put(self, update_id: int, done: bool, now: float) -> None:
        self._entries[update_id] = (done, now + (self.done_seconds if done else self.lease_seconds))
        self._entries.move_to_end(update_id)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def _live(self, update_id: int, now: float) -> tuple[bool, float] | None:
        # Drop expired entries from the old end (cheap, amortized); the cap bounds the rest.
        while self._entries:
            oldest, (_, expires) = next(iter(self._entries.items()))
            if expires > now:
                break
            del self._entries[oldest]
        entry = self._entries.get(update_id)
        if entry is not None and entry[1] <= now:
            del self._entries[update_id]
            return None
        return entry

    async def claim(self, update_id: int) -> Claim:
        """OURS (now leased to us), DONE (answered already) or BUSY (leased, not expired)."""
        now = self.clock()
        entry = self._live(update_id, now)
        if entry is not None:
            return Claim.DONE if entry[0] else Claim.BUSY
        self._put(update_id, False, now)
        return Claim.OURS

    async def finish(self, update_id: int) -> None:
        """Mark the update answered for ``done_seconds``."""
        self._put(update_id, True, self.clock())

    async def release(self, update_id: int) -> None:
        """Drop the lease (not a done mark) so that a redelivery proceeds at once."""
        entry = self._live(update_id, self.clock())
        if entry is not None and not entry[0]:
            del self._entries[update_id]


class RedisLeases:
    """Leases shared by every process: ``SET <prefix>update:<id> <token> NX PX``; a done mark replaces the token."""

    def __init__(
        self,
        client: redis.asyncio.Redis,
        *,
        prefix: str = "summit:",
        lease_seconds: float = 30.0,
        done_seconds: float = DONE_SECONDS,
    ) -> None:
        self.client = client
        self.prefix = prefix
        self.lease_ms = max(1, int(lease_seconds * 1000))
        self.done_ms = max(1, int(done_seconds * 1000))
        # This instance's token: a lease is "ours" only if it still holds this value.
        self.token = f"lease:{uuid.uuid4().hex}"
        self._claim = client.register_script(_CLAIM)
        self._finish = client.register_script(_FINISH)
        self._release = client.register_script(_RELEASE)

    def _key(self, update_id: int) -> str:
        return f"{self.prefix}update:{int(update_id)}"

    async def claim(self, update_id: int) -> Claim:
        """OURS (now leased to us), DONE (answered already) or BUSY (leased by someone, not expired)."""
        result = await self._call(self._claim, update_id, self.token, self.lease_ms, DONE_MARK)
        return Claim(result.decode() if isinstance(result, bytes) else result)

    async def finish(self, update_id: int) -> None:
        """Mark the update answered for ``done_seconds``, unless another process holds a live lease on it now."""
        await self._call(self._finish, update_id, self.token, DONE_MARK, self.done_ms)

    async def release(self, update_id: int) -> None:
        """Delete our lease (only if still ours) so that a redelivery proceeds at once."""
        await self._call(self._release, update_id, self.token)

    async def _call(self, script: object, update_id: int, *args: object) -> object:
        import redis

        try:
            return await script(keys=[self._key(update_id)], args=list(args))  # type: ignore[operator]
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            raise StoreUnavailable(f"Redis (update leases) did not answer: {exc}") from exc
