"""No blocking database call on the event loop in core, the gateway, the exchange or the portal.

A synchronous SQLAlchemy call made inside an ``async def`` runs on the event loop: while it
waits (on a row lock another request holds, say) the whole process stops answering —
``/healthz`` included, and with it the systemd watchdog. Two checks keep that out:

- every route of core's and the gateway's app whose endpoint (or any dependency) is a
  coroutine takes no database session: the routes that use the database are plain ``def``
  and run in the thread pool;
- no ``async def`` in these packages calls the database directly (``transaction(...)``,
  ``session.execute(...)``, ``engine.connect()``...): it hands a function to
  ``asyncio.to_thread`` / ``run_in_threadpool`` instead.

Before issue 15, core's ``POST /api/v1/admin/enforcement/officers`` was an ``async def``
taking a session and importing the registry on the loop: the first test failed naming it.
"""

from __future__ import annotations

import ast
import inspect
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

import sunlight.runtime as runtime_pkg
from sunlight.runtime.deps import get_session
from tests.platform.role_settings import role_settings

RUNTIME = Path(runtime_pkg.__file__).resolve().parent
# Where the loop must never block on the database.
PACKAGES = ("core", "gateway", "exchange", "portal")
# Calls that reach the database synchronously.
DB_FUNCTIONS = frozenset({"transaction", "database_ready", "handle", "dead_letter"})
DB_METHODS = frozenset({"execute", "scalar", "scalars", "commit", "flush", "connect",
                        "begin", "get", "merge", "refresh"})
DB_RECEIVERS = frozenset({"session", "engine", "conn", "connection_db", "db"})



def _async_with_session(dependant: Dependant, chain: tuple[str, ...] = ()) -> list[str]:
    """Names of the coroutine callables in the tree that take a session directly."""
    found = []
    call: Any = dependant.call
    name = getattr(call, "__name__", repr(call))
    takes_session = any(d.call is get_session for d in dependant.dependencies)
    if takes_session and inspect.iscoroutinefunction(call):
        found.append(" <- ".join((*chain, name)))
    for sub in dependant.dependencies:
        found += _async_with_session(sub, (*chain, name))
    return found


def _api_routes(routes: Iterable[Any]) -> Iterator[APIRoute]:
    """Every APIRoute, included routers' too (FastAPI keeps those behind a wrapper)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from _api_routes(inner.routes)


@pytest.mark.parametrize("role", ["core", "gateway", "portal"])
def test_no_async_route_takes_a_database_session(role: str) -> None:
    module = __import__(f"sunlight.runtime.{role}.app", fromlist=["create_app"])
    app = module.create_app(role_settings(role))
    routes = list(_api_routes(app.routes))
    assert routes, "the app has no routes to check"
    offenders = [f"{sorted(r.methods)} {r.path}: {hit}" for r in routes
                 for hit in _async_with_session(r.dependant)]
    assert not offenders, ("async routes that would run database calls on the event loop "
                           "(make them plain def, or move the work to a thread):\n"
                           + "\n".join(offenders))
    if role == "core":  # the check sees the session routes at all
        assert any(any(d.call is get_session for d in r.dependant.dependencies)
                   for r in routes)


def _db_calls(fn: ast.AsyncFunctionDef) -> list[str]:
    """Direct database calls in an async function's own body (nested defs excluded)."""
    hits: list[str] = []

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                continue  # runs elsewhere (e.g. handed to a thread)
            if isinstance(child, ast.Call):
                func = child.func
                if isinstance(func, ast.Name) and func.id in DB_FUNCTIONS:
                    hits.append(f"{func.id}() at line {child.lineno}")
                elif (isinstance(func, ast.Attribute) and func.attr in DB_METHODS
                      and isinstance(func.value, ast.Name)
                      and func.value.id in DB_RECEIVERS):
                    hits.append(f"{func.value.id}.{func.attr}() at line {child.lineno}")
            visit(child)

    visit(fn)
    return hits


def _sources() -> list[Path]:
    return sorted(p for pkg in PACKAGES for p in (RUNTIME / pkg).rglob("*.py"))


def test_no_async_function_calls_the_database_directly() -> None:
    offenders = []
    for path in _sources():
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.AsyncFunctionDef):
                offenders += [f"{path.relative_to(RUNTIME)}:{node.name}: {hit}"
                              for hit in _db_calls(node)]
    assert not offenders, "database calls on the event loop:\n" + "\n".join(offenders)


def test_the_ast_check_catches_a_blocking_call() -> None:
    """The checker itself: a session call in an async def is found, one in a thread not."""
    tree = ast.parse(
        "async def bad(session):\n    session.execute(1)\n"
        "async def good(engine):\n    await asyncio.to_thread(lambda: engine.connect())\n"
        "async def also_bad(engine):\n    with transaction(engine) as s:\n        pass\n")
    found = {n.name: _db_calls(n) for n in tree.body if isinstance(n, ast.AsyncFunctionDef)}
    assert found == {"bad": ["session.execute() at line 2"], "good": [],
                     "also_bad": ["transaction() at line 6"]}
