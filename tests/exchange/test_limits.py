"""The exchange's limits are stated once: the brokers (the playbooks) and the code agree."""

from __future__ import annotations

from pathlib import Path

import yaml

from sunlight.runtime.exchange import envelope, topology

PLAYBOOKS = Path(__file__).resolve().parents[2] / "playbooks"
ROLE = PLAYBOOKS / "roles" / "rabbitmq"


def test_group_vars_state_the_numbers_the_code_uses() -> None:
    shared = yaml.safe_load((PLAYBOOKS / "group_vars" / "all.yml").read_text())
    assert shared["sunlight_exchange_max_message_bytes"] == envelope.MAX_BODY_BYTES
    assert shared["sunlight_exchange_queue_max_length"] == topology.QUEUE_MAX_LENGTH
    assert shared["sunlight_exchange_queue_max_bytes"] == topology.QUEUE_MAX_BYTES


def test_the_broker_role_takes_them_from_group_vars() -> None:
    defaults = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
    assert defaults["rabbitmq_max_message_size"] == "{{ sunlight_exchange_max_message_bytes }}"
    assert defaults["rabbitmq_queue_max_length"] == "{{ sunlight_exchange_queue_max_length }}"
    assert defaults["rabbitmq_queue_max_bytes"] == "{{ sunlight_exchange_queue_max_bytes }}"
    conf = (ROLE / "templates" / "rabbitmq.conf.j2").read_text()
    assert "max_message_size = {{ rabbitmq_max_message_size | int }}" in conf
    definitions = (ROLE / "tasks" / "topology.yml").read_text()
    assert "'--max-length', rabbitmq_queue_max_length" in definitions
    assert "'--max-bytes', rabbitmq_queue_max_bytes" in definitions


def test_the_definitions_bound_every_queue_and_refuse_publishes_when_full() -> None:
    defs = topology.broker_definitions("320700", parent="320000", children=["320703"],
                                       parent_uri="amqp://child-320700:pw@10.9.0.2:5672/sunlight",
                                       max_length=10, max_bytes=1000)
    for policy in defs["policies"]:
        assert policy["definition"]["max-length"] == 10
        assert policy["definition"]["max-length-bytes"] == 1000
        assert policy["definition"]["overflow"] == "reject-publish"  # never drop-head
