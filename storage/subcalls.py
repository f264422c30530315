"""The sub-call cache's store: one row per answer, keyed by the engine's digest.

Implements the engine's `SubCallCache` protocol (get/put) without importing the engine: the
engine builds the key (corpus, model, endpoint, prompt, parameters) and this only keeps text.
Reads count hits; a failed write is the caller's to ignore (the answer was already given).
"""

from __future__ import annotations

import time

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from storage.connect import WRITE, guarded
from storage.tables import SubCallAnswer

TABLE = SubCallAnswer.__table__


class SubCallStore:
    """`get(key)` / `put(key, model, response)` on one database; thread-safe."""

    def __init__(self, engine: Engine, shown: str) -> None:
        self._engine = engine
        self._writer = engine.execution_options(**WRITE)
        self._shown = shown

    def get(self, key: str) -> str | None:
        with guarded(self._shown), self._engine.connect() as connection:
            found = connection.execute(
                sa.select(TABLE.c.response).where(TABLE.c.key == key)
            ).scalar()
        if found is not None:
            with guarded(self._shown), self._writer.begin() as connection:
                connection.execute(
                    TABLE.update().where(TABLE.c.key == key).values(hits=TABLE.c.hits + 1)
                )
        return found

    def put(self, key: str, model: str, response: str) -> None:
        with guarded(self._shown), self._writer.begin() as connection:
            exists = connection.execute(sa.select(TABLE.c.key).where(TABLE.c.key == key)).first()
            if exists is None:  # two runs may ask the same at once: the first answer stays
                connection.execute(
                    TABLE.insert().values(
                        key=key, model=model[:300], response=response, created_at=time.time(),
                        hits=0,
                    )
                )  # fmt: skip

    def count(self) -> int:
        """How many answers are kept."""
        with guarded(self._shown), self._engine.connect() as connection:
            return int(connection.execute(sa.select(sa.func.count()).select_from(TABLE)).scalar())
