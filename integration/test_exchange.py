"""Cross-tier exchange on real RabbitMQ ×3 and PostgreSQL: 320000 → 320700 → 320703.

Each site is a real `sunlight serve core` with its own broker; shovels cross the backbone
(the session's chain, conftest.py `tiers`, shared with the other test_exchange* modules).
The four checks of issue 6: a county case's lifecycle reaches the city and the province in
order (with the periodic statistics); a province supervision order reaches the county case
and its answer comes back (and the catalogue baseline goes down and adoptions come up the
same way); a cut county ↔ city link loses nothing of 1,000 events (SUNLIGHT_LINK_CUT_S,
default 15 s); tampered, wrongly signed, replayed and out-of-order events are handled as
specified and nothing is wrongly applied. Issue 15: poison messages published with the
county's shovel credentials (a deeply nested 200 kB body, one that is not UTF-8, a JSON
array, and one above the brokers' maximum) stop nothing: each readable one is dead-lettered
once, the oversized one is refused by the city's broker, and good events around them apply.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import aio_pika
import httpx

from exchange_sites import GAP_ALERT_S, Tier, act
from platform_site import ANNUAL_REPORT, wait_for
from sunlight.runtime.exchange.envelope import MAX_BODY_BYTES, Envelope
from sunlight.runtime.exchange.signing import open_sealed, seal

CUT_S = float(os.environ.get("SUNLIGHT_LINK_CUT_S", "15"))

FLOW = ["submit", "accept", "approve_step", "grant", "close"]
_receipts = itertools.count(1)


def next_receipt() -> str:
    return f"320703-20261201-{next(_receipts):06d}"


def _view(tier: Tier, receipt: str) -> dict[str, Any] | None:
    rows = tier.staff("admin").get("/api/v1/subordinates/320703/cases",
                                   params={"receipt": receipt}).json()
    return rows[0] if rows else None


def _lifecycle(county: Tier, receipt: str) -> None:
    case_id = county.submit(receipt)
    clerk, reviewer, approver = (county.staff(u) for u in ("clerk", "reviewer", "approver"))
    for client, action in ((clerk, "accept"), (reviewer, "approve_step"), (approver, "grant"),
                           (clerk, "close")):
        act(client, case_id, action)


def test_county_case_lifecycle_reaches_city_and_province_in_order(
        tiers: dict[str, Tier]) -> None:
    county, city, province = tiers["320703"], tiers["320700"], tiers["320000"]
    receipt = next_receipt()
    _lifecycle(county, receipt)
    sent = county.sql("SELECT event_id FROM exchange_outbox WHERE type = 'sunlight.case.event' "
                      "AND envelope->>'subject' = %s ORDER BY seq", receipt)
    for tier in (city, province):
        view = wait_for(lambda t=tier: (v := _view(t, receipt)) and v["last_seq"] == 5 and v)
        events = view["events"]
        assert [e["action"] for e in events] == FLOW and view["status"] == "closed"
        assert [e["seq"] for e in events] == [1, 2, 3, 4, 5]
        assert [e["event_id"] for e in events] == [str(r[0]) for r in sent]
        applied = [e["applied_at"] for e in events]
        assert applied == sorted(applied)  # applied in sequence order
    # The province got the county's own envelopes: the city forwarded the bodies unchanged.
    forwarded = city.sql("SELECT body FROM exchange_outbox WHERE link = '320000' AND "
                         "type = 'sunlight.case.event' AND event_id = ANY(%s)",
                         [r[0] for r in sent])
    assert len(forwarded) == 5
    for (body,) in forwarded:
        assert open_sealed(bytes(body), province.keyring())["source"] == "320703"
    assert province.sql("SELECT DISTINCT via FROM exchange_event_inbox WHERE "
                        "event_id = ANY(%s)", [r[0] for r in sent]) == [("320700",)]
    # Periodic statistics go up too; every ancestor keeps the newest per subordinate.
    def closed_in_stats() -> list[dict[str, Any]]:
        subs = province.staff("admin").get("/api/v1/subordinates").json()
        stats = {s["site"]: s["stats"] for s in subs if s["stats"]}
        closed = [c for c in (stats.get("320703") or {}).get("counts", [])
                  if c["status"] == "closed"]
        return subs if closed and "320700" in stats else []
    wait_for(closed_in_stats)
    status = county.exchange_cli("status", "--url", county.url, "--json")
    assert status.returncode == 0, status.stdout + status.stderr
    link = json.loads(status.stdout)["links"]["320700"]
    assert link["published"] >= 5 and link["queued"] is not None


def test_province_supervision_order_reaches_county_and_answer_returns(
        tiers: dict[str, Tier]) -> None:
    county, city, province = tiers["320703"], tiers["320700"], tiers["320000"]
    receipt = next_receipt()
    county.submit(receipt)
    wait_for(lambda: _view(province, receipt))  # the province saw the case it supervises
    issued = province.staff("admin").post("/api/v1/supervision/orders", json={
        "target": "320703", "receipt": receipt, "text": "请说明该件办理进度，三个工作日内回复。",
        "due_days": 3})
    assert issued.status_code == 201, issued.text
    order_id = issued.json()["id"]
    approver = county.staff("approver")
    order = wait_for(lambda: [o for o in approver.get("/api/v1/supervision/orders").json()
                              if o["id"] == order_id])[0]
    assert (order["issuer"], order["receipt"], order["status"]) == ("320000", receipt, "open")
    answered = approver.post(f"/api/v1/supervision/orders/{order_id}/answer",
                             json={"text": "已受理，正在审查，预计 12 月 3 日办结。"})
    assert answered.status_code == 200, answered.text
    again = approver.post(f"/api/v1/supervision/orders/{order_id}/answer", json={"text": "x"})
    assert again.status_code == 409
    back = wait_for(lambda: [o for o in province.staff("admin").get(
        "/api/v1/supervision/orders", params={"status": "answered"}).json()
        if o["id"] == order_id])[0]
    assert back["answer"] == "已受理，正在审查，预计 12 月 3 日办结。"
    assert back["answered_by"] == "approver" and back["target"] == "320703"
    assert city.sql("SELECT count(*) FROM supervision_orders") == [(0,)]  # it only forwarded
    assert [a for (a,) in county.sql("SELECT action FROM audit_log WHERE entity = "
                                     "'supervision' ORDER BY seq")] == ["receive", "answer"]
    # The catalogue baseline travels down the same way; adoptions come back up.
    published = province.exchange_cli("baseline", "publish", "--title", "2026 年版权力清单基线",
                                      "--code", ANNUAL_REPORT, "--code", "320703-SCJGJ-XK-001")
    assert published.returncode == 0, published.stderr
    wait_for(lambda: county.sql("SELECT version FROM catalogue_baselines WHERE issuer = "
                                "'320000'") == [(1,)])
    localized = county.exchange_cli("baseline", "adopt", "320000", "1", "--localize",
                                    f"{ANNUAL_REPORT}=本地承诺时限缩短为 1 个工作日")
    assert localized.returncode == 0, localized.stderr
    adopted = city.exchange_cli("baseline", "adopt", "320000", "1")
    assert adopted.returncode == 0, adopted.stderr

    def adoptions() -> dict[str, str]:
        found = province.staff("admin").get("/api/v1/baselines").json()
        decided = {a["site"]: a["decision"] for a in found[0]["adoptions"]}
        return decided if len(decided) == 2 else {}
    assert wait_for(adoptions) == {"320700": "adopted", "320703": "localized"}


def _produce(county: Tier, receipts: list[str], workers: int = 4) -> float:
    """Four events per case (submit, accept, approve_step, suspend), cases in parallel. The
    fourth is a suspension rather than a grant: a grant renders its decision PDF (about 0.7 s
    of CPU each, see licence_decision) and the test is about the link, not the renderer."""
    started = time.monotonic()
    local = threading.local()

    def one(receipt: str) -> None:
        if not hasattr(local, "staff"):
            local.staff = {u: county.staff(u) for u in ("clerk", "reviewer", "approver")}
        case_id = county.submit(receipt)
        for user, action, comment in (("clerk", "accept", ""), ("reviewer", "approve_step", ""),
                                      ("approver", "suspend", "现场核查期间中止办理")):
            act(local.staff[user], case_id, action, comment)

    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(one, receipts))
    return time.monotonic() - started


def _case_event_ids(tier: Tier, column: str, table: str, receipts: list[str]) -> set[str]:
    rows = tier.sql(f"SELECT {column} FROM {table} WHERE receipt = ANY(%s)", receipts)
    return {str(r[0]) for r in rows}


def test_cut_county_city_link_loses_nothing_of_1000_events(
        tiers: dict[str, Tier], report: Callable[[str, str], None]) -> None:
    county, city, province = tiers["320703"], tiers["320700"], tiers["320000"]
    receipts = [next_receipt() for _ in range(250)]
    dead_before = [t.sql("SELECT count(*) FROM exchange_dead_letters") for t in (city, province)]
    county.broker.cut(city.broker.backbone_ip)
    cut_at = time.monotonic()
    try:
        produced_s = _produce(county, receipts)
        time.sleep(max(0.0, CUT_S - (time.monotonic() - cut_at)))
        # Nothing crossed while cut: it waits in the county's link queue.
        assert not _case_event_ids(city, "receipt", "subordinate_cases", receipts)
        # All but what a shovel may hold in flight (its prefetch, 500) is counted as queued.
        link = wait_for(lambda: (lk := county.status().links["320700"]).queued
                        and lk.queued >= 500 and lk, timeout=10)
        assert link.oldest_undelivered_s > 0
    finally:
        county.broker.heal()
    cut_s = time.monotonic() - cut_at
    sent = {str(r[0]) for r in county.sql(
        "SELECT event_id FROM exchange_outbox WHERE type = 'sunlight.case.event' AND "
        "envelope->>'subject' = ANY(%s)", receipts)}
    assert len(sent) == 1000
    caught_up = {}
    for tier in (city, province):
        wait_for(lambda t=tier: len(_case_event_ids(t, "event_id", "subordinate_case_events",
                                                    receipts)) == 1000, timeout=180,
                 interval=1)
        caught_up[tier.code] = time.monotonic() - cut_at - cut_s
    for tier in (city, province):
        # Each event applied exactly once, and each case in sequence: ids and counts agree.
        assert _case_event_ids(tier, "event_id", "subordinate_case_events", receipts) == sent
        rows = tier.sql("SELECT receipt, array_agg(seq ORDER BY seq), count(DISTINCT event_id) "
                        "FROM subordinate_case_events WHERE receipt = ANY(%s) GROUP BY receipt",
                        receipts)
        assert len(rows) == 250 and all(seqs == [1, 2, 3, 4] and n == 4 for _, seqs, n in rows)
        inbox = tier.sql("SELECT count(*) FROM exchange_event_inbox WHERE event_id = ANY(%s)",
                         list(sent))
        assert inbox == [(1000,)]
        assert tier.sql("SELECT count(*) FROM exchange_held_events") == [(0,)]
    assert [t.sql("SELECT count(*) FROM exchange_dead_letters")
            for t in (city, province)] == dead_before
    report("exchange: county ↔ city link cut", (
        f"cut {cut_s:.1f} s (SUNLIGHT_LINK_CUT_S={CUT_S:g}); 1000 events produced in "
        f"{produced_s:.1f} s during the cut; after the link returned the city had all of them "
        f"in {caught_up['320700']:.1f} s, the province in {caught_up['320000']:.1f} s; "
        f"duplicates dropped at the city: {city.status().links['320703'].duplicates}"))


def _county_event(receipt: str, seq: int, action: str = "accept", **data: Any) -> Envelope:
    body = {"receipt": receipt, "action": action, "from_status": None,
            "to_status": "submitted", "department": "320703-SCJGJ", "item_code": ANNUAL_REPORT,
            "item_version": 1, "actor": "clerk", "role": "clerk",
            "at": "2026-12-01T08:00:00+08:00", "due_on": "2026-12-03", "overdue": False,
            "decision": None, "comment": "", **data}
    return Envelope.new("320703", "sunlight.case.event", body, subject=receipt, sequence=seq)


def _refused(county: Tier, city: Tier, receipt: str) -> dict[str, list[bytes]]:
    """Bodies the city must refuse, by the reason it must give, as the county's shovel
    would deliver them."""
    key = county.private_key
    tampered = json.loads(seal(_county_event(receipt, 1, "submit"), key))
    tampered["data"]["to_status"] = "closed"
    return {
        "bad_signature": [json.dumps(tampered).encode()],  # changed after signing
        # signed by another site's key: its key id is none of the county's
        "unknown_key": [seal(_county_event(receipt, 1, "submit"), city.private_key)],
        "unknown_source": [seal(Envelope.new("320706", "sunlight.case.event",
                                             _county_event(receipt, 1).data, subject=receipt,
                                             sequence=1), key)],
        "schema_violation": [seal(_county_event(receipt, 1, to_status="teleported"), key)],
        "unknown_type": [seal(Envelope.new("320703", "sunlight.case.deleted", {}), key)],
    }


def test_tampered_forged_replayed_and_out_of_order_events(tiers: dict[str, Tier]) -> None:
    county, city, province = tiers["320703"], tiers["320700"], tiers["320000"]
    key, receipt = county.private_key, next_receipt()
    first = seal(_county_event(receipt, 1, "submit"), key)
    bad = _refused(county, city, receipt)
    for bodies in bad.values():
        for body in bodies:
            assert city.broker.publish("sunlight.up.in", body)
    earlier = next_receipt()
    county.submit(earlier)
    (event_id,), = county.sql("SELECT event_id FROM exchange_outbox WHERE type = "
                              "'sunlight.case.event' AND envelope->>'subject' = %s", earlier)
    replayed = wait_for(lambda: city.sql("SELECT body FROM exchange_outbox WHERE link = "
                                         "'320000' AND event_id = %s", event_id))[0][0]
    for body in (first, first, bytes(replayed)):  # a replay, and one captured earlier
        assert city.broker.publish("sunlight.up.in", body)
    third = seal(_county_event(receipt, 3, "approve_step"), key)
    second = seal(_county_event(receipt, 2, "accept"), key)
    assert city.broker.publish("sunlight.up.in", third)  # before its predecessor
    wait_for(lambda: city.sql("SELECT seq FROM exchange_held_events") == [(3,)])
    gap = wait_for(lambda: (s := city.status()).gaps_overdue == 1 and s, timeout=GAP_ALERT_S * 5)
    assert gap.held_events == 1
    unhealthy = city.exchange_cli("status", "--url", city.url)
    assert unhealthy.returncode == 1 and "gap(s) past the alert" in unhealthy.stdout
    assert city.broker.publish("sunlight.up.in", second)
    for tier in (city, province):
        view = wait_for(lambda t=tier: (v := _view(t, receipt)) and v["last_seq"] == 3 and v)
        assert [e["seq"] for e in view["events"]] == [1, 2, 3]
        assert [e["action"] for e in view["events"]] == ["submit", "accept", "approve_step"]
        assert view["status"] == "submitted"  # not the tampered "closed"
    wait_for(lambda: city.status().gaps_overdue == 0)
    dead = city.sql("SELECT reason, count(*) FROM exchange_dead_letters GROUP BY reason")
    assert dict(dead) == {reason: len(bodies) for reason, bodies in bad.items()}
    rejected = city.status().links
    assert sum(sum(link.rejected.values()) for link in rejected.values()) == 5
    assert city.status().links["320703"].duplicates >= 2
    # Refused events stop at the first site; the province never sees them.
    assert province.sql("SELECT count(*) FROM exchange_dead_letters") == [(0,)]
    ids = [json.loads(b)["id"] for bodies in bad.values() for b in bodies]
    assert province.sql("SELECT count(*) FROM exchange_event_inbox WHERE event_id::text = "
                        "ANY(%s)", ids) == [(0,)]
    assert county.sql("SELECT count(*) FROM exchange_dead_letters") == [(0,)]
    assert httpx.get(f"{city.url}/readyz").status_code == 200


def _as_county_shovel(city: Tier, bodies: list[bytes]) -> list[BaseException | None]:
    """Publish each body to the city's ``sunlight.up.in`` with the county's shovel user and
    publisher confirms, one channel each; what each publish raised (None: confirmed)."""
    url = city.broker.amqp_url("child-320703", city.broker.child_passwords["320703"])

    async def publish() -> list[BaseException | None]:
        results: list[BaseException | None] = []
        connection = await aio_pika.connect(url, timeout=10)
        async with connection:
            for body in bodies:
                channel = await connection.channel(publisher_confirms=True)
                try:
                    exchange = await channel.get_exchange("sunlight.up.in", ensure=False)
                    await exchange.publish(aio_pika.Message(
                        body, delivery_mode=aio_pika.DeliveryMode.PERSISTENT), routing_key="",
                        timeout=60)
                    results.append(None)
                except Exception as exc:  # the broker refused it (channel closed)
                    results.append(exc)
                finally:
                    if not channel.is_closed:
                        await channel.close()
        return results

    loop = asyncio.new_event_loop()  # not asyncio.run: it would unset the thread's loop
    try:
        return loop.run_until_complete(publish())
    finally:
        loop.close()


def test_poison_messages_on_the_county_shovel_are_dead_lettered_once(
        tiers: dict[str, Tier]) -> None:
    county, city, province = tiers["320703"], tiers["320700"], tiers["320000"]
    key, receipt = county.private_key, next_receipt()
    events = [seal(_county_event(receipt, n, action), key)
              for n, action in ((1, "submit"), (2, "accept"), (3, "approve_step"))]
    nested = b"[" * 100_000 + b"]" * 100_000  # the body of the issue: 200 kB of arrays
    not_utf8 = b'{"id": "\xff\xfe", "source": "320703", "type": "sunlight.case.event"}'
    array = json.dumps([json.loads(events[0])]).encode()
    oversized = events[1] + b" " * (MAX_BODY_BYTES + 1 - len(events[1]))
    dead_sql = "SELECT reason, count(*) FROM exchange_dead_letters GROUP BY reason"
    before = dict(city.sql(dead_sql))
    results = _as_county_shovel(city, [events[0], nested, not_utf8, oversized, array,
                                       events[1], nested, events[2]])
    refused = results.pop(3)
    assert results == [None] * 7, results
    assert refused is not None and "larger than" in str(refused), repr(refused)
    for tier in (city, province):  # the good events around them are applied, in order
        view = wait_for(lambda t=tier: (v := _view(t, receipt)) and v["last_seq"] == 3 and v)
        assert [e["seq"] for e in view["events"]] == [1, 2, 3]

    def added() -> dict[str, int]:
        now = dict(city.sql(dead_sql))
        return {r: n - before.get(r, 0) for r, n in now.items() if n != before.get(r, 0)}

    wait_for(lambda: added() == {"malformed": 4})  # nested twice, not UTF-8, the array
    time.sleep(8)  # the old consumer put the nested body back every few seconds
    assert added() == {"malformed": 4}  # each once: none put back and refused again
    details = [d for (d,) in city.sql("SELECT detail FROM exchange_dead_letters "
                                      "ORDER BY id DESC LIMIT 4")]
    assert sum("deeper than" in d for d in details) == 2, details
    assert city.broker.queue("sunlight.in.up")["messages"] == 0
    assert province.sql("SELECT count(*) FROM exchange_dead_letters") == [(0,)]
    assert httpx.get(f"{city.url}/readyz").status_code == 200
