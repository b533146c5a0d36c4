"""The baseline for bench_submissions.py: a bare FastAPI endpoint doing one INSERT.

It uses the same driver (psycopg 3) and pool (SQLAlchemy's) as the portal, so the ratio
measures what the portal adds: validation, receipt numbers, the outbox.

Run: BENCH_DATABASE_URL=postgresql+psycopg://... uvicorn bench_bare_app:app
"""

from __future__ import annotations

import json
import os
import uuid

from fastapi import FastAPI
from pydantic import BaseModel
from sqlalchemy import create_engine, text

engine = create_engine(os.environ["BENCH_DATABASE_URL"], pool_size=10, max_overflow=10)
app = FastAPI()
INSERT = text("INSERT INTO bench (id, name, payload) VALUES (:id, :name, CAST(:payload AS jsonb))")


class Body(BaseModel):
    name: str
    payload: dict[str, object]


@app.post("/insert", status_code=201)
def insert(body: Body) -> dict[str, str]:
    row_id = uuid.uuid4()
    with engine.begin() as conn:
        conn.execute(INSERT, {"id": row_id, "name": body.name,
                              "payload": json.dumps(body.payload, ensure_ascii=False)})
    return {"id": str(row_id)}
