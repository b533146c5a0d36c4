"""Walking the playbooks' YAML: the tasks of a task list or play, blocks opened."""

from __future__ import annotations

from typing import Any

NESTED = ("block", "rescue", "always", "tasks", "pre_tasks", "post_tasks")


def tasks_in(node: Any) -> list[dict[str, Any]]:
    """Every task of a task list (or of plays): a block's or play's own tasks in its place,
    the block or play itself not (it runs no module)."""
    found: list[dict[str, Any]] = []
    for task in node or []:
        if not isinstance(task, dict):
            continue
        parts = [task[key] for key in NESTED if key in task]
        found.extend([t for part in parts for t in tasks_in(part)] if parts else [task])
    return found
