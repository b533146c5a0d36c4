"""Poison messages: each is dead-lettered once, acknowledged, and the queue goes on (no broker,
no database: the consumer runs on fake deliveries and a fake transaction).

The bug these stop (issue 15): a 200 kB body of nested arrays, published with a county's
shovel credentials to the city's ``sunlight.up.in``, raised ``RecursionError`` in the
city's consumer, was put back and retried every few seconds, never dead-lettered, and the
batches around it waited.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import Counter, deque
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from prometheus_client import CollectorRegistry

from sunlight.runtime.exchange import consumer as consumer_module
from sunlight.runtime.exchange import inbound
from sunlight.runtime.exchange.consumer import Consumer
from sunlight.runtime.exchange.envelope import MAX_BODY_BYTES
from sunlight.runtime.exchange.handlers import Applied, Handlers
from sunlight.runtime.exchange.inbound import Inbound
from sunlight.runtime.exchange.metrics import ExchangeMetrics
from sunlight.runtime.exchange.models import DeadLetter, OutboxRow
from sunlight.runtime.exchange.schemas import CASE_EVENT
from sunlight.runtime.exchange.signing import Keyring, seal
from sunlight.runtime.exchange.topology import Q_IN_UP
from tests.exchange.conftest import case_envelope

RECEIPT = "320703-20261201-000001"
#: The body of the issue: 200 kB of nested arrays.
NESTED = b"[" * 100_000 + b"]" * 100_000


class _Store:
    """What the fake database holds after each committed transaction."""

    def __init__(self) -> None:
        self.dead: list[DeadLetter] = []
        self.forwarded: list[OutboxRow] = []
        self.inbox: set[str] = set()
        self.applied: list[int] = []


class _Session:
    def __init__(self, store: _Store) -> None:
        self.store, self.added, self.claimed = store, [], set()  # type: ignore[var-annotated]
        self.applied: list[int] = []

    def add(self, row: Any) -> None:
        self.added.append(row)

    def execute(self, _statement: Any, params: dict[str, Any]) -> Any:
        event_id = str(params["id"])
        fresh = event_id not in self.store.inbox and event_id not in self.claimed
        self.claimed.add(event_id)

        class Claimed:
            def first(self) -> tuple[str] | None:
                return (event_id,) if fresh else None
        return Claimed()

    @contextlib.contextmanager
    def begin_nested(self) -> Iterator[None]:
        yield

    def commit(self) -> None:
        self.store.dead += [r for r in self.added if isinstance(r, DeadLetter)]
        self.store.forwarded += [r for r in self.added if isinstance(r, OutboxRow)]
        self.store.inbox |= self.claimed
        self.store.applied += self.applied


@pytest.fixture
def store(monkeypatch: pytest.MonkeyPatch) -> _Store:
    """A fake ``transaction``: commits what a session did only when nothing raised."""
    found = _Store()

    @contextlib.contextmanager
    def transaction(_engine: Any) -> Iterator[_Session]:
        session = _Session(found)
        yield session
        session.commit()

    monkeypatch.setattr(inbound, "transaction", transaction)

    async def no_wait(_seconds: float) -> None:
        return None

    monkeypatch.setattr(consumer_module.asyncio, "sleep", no_wait)
    return found


class _Message:
    def __init__(self, body: bytes) -> None:
        self.body, self.type, self.state = body, None, "delivered"

    async def ack(self) -> None:
        self.state = "acked"

    async def nack(self, requeue: bool = True) -> None:
        self.state = "requeued" if requeue else "dropped"


def _city(keyring: Callable[[str], Keyring], broken: int | None = None) -> Inbound:
    handlers = Handlers()

    def apply(session: Any, site: str, env: dict[str, Any]) -> Applied:
        if env["sequence"] == broken:
            raise KeyError("a bug in applying")
        session.applied.append(env["sequence"])
        return "applied"

    handlers.on(CASE_EVENT, apply)
    return Inbound("320700", keyring("320700"), ("320703",), handlers)


def _run(coroutine: Any) -> Any:
    """Run ``coroutine`` on a loop of its own (asyncio.run would unset the thread's loop,
    which later tests' libraries still ask for)."""
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(coroutine)
    finally:
        loop.close()


def _drain(consumer: Consumer, bodies: list[bytes], batch: int) -> Counter[bytes]:
    """Deliver ``bodies`` as RabbitMQ would (a requeued message goes back to its place);
    how often each body was delivered."""
    waiting = deque(_Message(b) for b in bodies)
    delivered: Counter[bytes] = Counter()

    async def run() -> None:
        rounds = 0
        while waiting:
            rounds += 1
            assert rounds < 100, "the queue never empties"
            taken = [waiting.popleft() for _ in range(min(batch, len(waiting)))]
            delivered.update(m.body for m in taken)
            await consumer._handle(taken, Q_IN_UP, "up")  # type: ignore[arg-type]
            back = [m for m in taken if m.state == "requeued"]
            assert all(m.state in ("acked", "requeued") for m in taken)
            for message in reversed(back):
                message.state = "delivered"
                waiting.appendleft(message)

    _run(run())
    return delivered


def _poison(key: Ed25519PrivateKey) -> dict[str, bytes]:
    """Each poison body of the issue, by the reason it must be dead-lettered with."""
    big = seal(case_envelope(seq=9, receipt=RECEIPT), key)  # valid and signed, but padded
    return {
        "nested": NESTED,
        "oversized": big + b" " * (MAX_BODY_BYTES + 1 - len(big)),
        "not_utf8": b'{"id": "\xff\xfe", "source": "320703"}',
        "array": json.dumps([{"source": "320703", "id": "x"}]).encode(),
    }


REASON = {"nested": "malformed", "oversized": "oversized", "not_utf8": "malformed",
          "array": "malformed"}


@pytest.mark.parametrize("poison", sorted(REASON))
@pytest.mark.parametrize("batch", [1, 200])
def test_a_poison_message_is_dead_lettered_once_and_good_events_around_it_are_applied(
        store: _Store, keyring: Callable[[str], Keyring],
        private: Callable[[str], Ed25519PrivateKey], poison: str, batch: int) -> None:
    key = private("320703")
    good = [seal(case_envelope(seq=n, receipt=RECEIPT), key) for n in (1, 2, 3)]
    bad = _poison(key)[poison]
    consumer = Consumer(object(), _city(keyring),  # type: ignore[arg-type]
                        ExchangeMetrics(CollectorRegistry()), batch=batch)
    delivered = _drain(consumer, [good[0], bad, good[1], good[2]], batch)
    assert store.applied == [1, 2, 3]  # in order, none lost behind the poison
    assert [d.reason for d in store.dead] == [REASON[poison]]  # once, with its reason
    assert delivered[bad] == 1  # never put back
    assert store.dead[0].body == bad[:inbound.MAX_BODY_KEPT]  # evidence, bounded
    rejected = consumer.metrics.rejected.labels("unknown", REASON[poison])._value.get()
    assert rejected == 1


def test_the_deep_body_is_refused_in_the_first_check_without_a_recursion_error(
        keyring: Callable[[str], Keyring]) -> None:
    with pytest.raises(inbound.Rejected) as caught:
        inbound.accept(_city(keyring), NESTED, "up")
    assert (caught.value.reason, caught.value.doc) == ("malformed", None)
    assert "deeper than" in caught.value.detail


def test_nesting_inside_a_valid_object_is_refused_too(
        keyring: Callable[[str], Keyring], private: Callable[[str], Ed25519PrivateKey]) -> None:
    doc = json.loads(seal(case_envelope(seq=1, receipt=RECEIPT), private("320703")))
    doc["data"]["comment"] = json.loads("[" * 900 + "]" * 900)  # under json's own limit
    with pytest.raises(inbound.Rejected) as caught:
        inbound.accept(_city(keyring), json.dumps(doc).encode(), "up")
    assert caught.value.reason == "malformed" and "deeper than" in caught.value.detail


@pytest.mark.parametrize("poison", sorted(REASON))
def test_a_poison_body_is_read_at_most_once(
        monkeypatch: pytest.MonkeyPatch, store: _Store, keyring: Callable[[str], Keyring],
        private: Callable[[str], Ed25519PrivateKey], poison: str) -> None:
    reads: list[int] = []
    loads = json.loads

    def counting(text: Any, *args: Any, **kwargs: Any) -> Any:
        reads.append(len(text))
        return loads(text, *args, **kwargs)

    monkeypatch.setattr(json, "loads", counting)
    bad = _poison(private("320703"))[poison]
    outcomes = inbound.handle(object(), _city(keyring), [bad],  # type: ignore[arg-type]
                              Q_IN_UP, "up")
    assert [(o.kind, o.reason) for o in outcomes] == [("dead", REASON[poison])]
    assert len(reads) <= 1, f"{poison} was parsed {len(reads)} times"


def test_a_bug_in_applying_dead_letters_the_event_as_apply_failed_and_it_replays(
        store: _Store, keyring: Callable[[str], Keyring],
        private: Callable[[str], Ed25519PrivateKey], monkeypatch: pytest.MonkeyPatch) -> None:
    key = private("320703")
    good = [seal(case_envelope(seq=n, receipt=RECEIPT), key) for n in (1, 2, 3)]
    consumer = Consumer(object(), _city(keyring, broken=2),  # type: ignore[arg-type]
                        ExchangeMetrics(CollectorRegistry()), batch=200)
    delivered = _drain(consumer, good, 200)
    assert store.applied == [1, 3]
    (dead,) = store.dead
    assert (dead.reason, dead.claimed_type, dead.body) == ("apply_failed", CASE_EVENT, good[1])
    assert "a bug in applying" in dead.detail
    assert delivered[good[1]] == consumer_module.MAX_APPLY_ATTEMPTS  # then dead-lettered

    class Rows(_Session):
        def get(self, _model: Any, id_: int, **_: Any) -> DeadLetter | None:
            return dead if id_ == 7 and dead in store.dead else None

        def delete(self, row: DeadLetter) -> None:
            self.deleted = row

    @contextlib.contextmanager
    def transaction(_engine: Any) -> Iterator[_Session]:
        session = Rows(store)
        yield session
        session.commit()
        if getattr(session, "deleted", None) is not None:
            store.dead.remove(session.deleted)

    monkeypatch.setattr(inbound, "transaction", transaction)
    with pytest.raises(inbound.NotReplayable, match="no dead letter 8"):
        inbound.replay(object(), _city(keyring), 8)  # type: ignore[arg-type]
    with pytest.raises(KeyError):  # still broken: nothing changes
        inbound.replay(object(), _city(keyring, broken=2), 7)  # type: ignore[arg-type]
    assert store.dead == [dead] and store.applied == [1, 3]
    outcome = inbound.replay(object(), _city(keyring), 7)  # type: ignore[arg-type]
    assert outcome.kind == "applied" and store.applied == [1, 3, 2] and store.dead == []
    with pytest.raises(inbound.NotReplayable, match="no dead letter 7"):
        inbound.replay(object(), _city(keyring), 7)  # type: ignore[arg-type]


def test_a_refused_event_is_not_replayed(store: _Store, keyring: Callable[[str], Keyring],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    refused = DeadLetter(id=5, queue=Q_IN_UP, reason="malformed", detail="", body=NESTED)

    class Rows(_Session):
        def get(self, _model: Any, _id: int, **_: Any) -> DeadLetter:
            return refused

    @contextlib.contextmanager
    def transaction(_engine: Any) -> Iterator[_Session]:
        yield Rows(store)

    monkeypatch.setattr(inbound, "transaction", transaction)
    with pytest.raises(inbound.NotReplayable, match="only apply_failed"):
        inbound.replay(object(), _city(keyring), 5)  # type: ignore[arg-type]


def test_the_publisher_keeps_an_oversized_event_and_sends_the_rest(
        monkeypatch: pytest.MonkeyPatch, private: Callable[[str], Ed25519PrivateKey]) -> None:
    from sunlight.runtime.exchange.publisher import Outgoing, Publisher

    rows = [Outgoing(1, "a", "320700", CASE_EVENT, b"{}"),
            Outgoing(2, "b", "320700", CASE_EVENT, b" " * (MAX_BODY_BYTES + 1)),
            Outgoing(3, "c", "320700", CASE_EVENT, b"{}")]
    sent: list[bytes] = []
    marks: list[tuple[list[int], list[int]]] = []

    class Exchange:
        async def publish(self, message: Any, routing_key: str, mandatory: bool) -> None:
            sent.append(message.body)

    class Channel:
        async def get_exchange(self, name: str, ensure: bool) -> Exchange:
            return Exchange()

    publisher = Publisher(object(), "320703", private("320703"),  # type: ignore[arg-type]
                          {"320700": ("sunlight.up", "up")}, batch=200)
    monkeypatch.setattr(publisher, "pending", lambda: rows if not marks else [])

    class Stop(Exception):
        pass

    def mark(done: list[int], failed: list[int]) -> None:
        marks.append((done, failed))
        if 3 in done:
            raise Stop  # the round is over

    monkeypatch.setattr(publisher, "mark", mark)
    with pytest.raises(Stop):
        _run(asyncio.wait_for(publisher.run(
            Channel(), ExchangeMetrics(CollectorRegistry()), poll_s=0.01),  # type: ignore[arg-type]
            timeout=10))
    assert sent == [b"{}", b"{}"]
    assert marks == [([], [2]), ([1, 3], [])]
