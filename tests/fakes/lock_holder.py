"""Another process holding the database's write lock: `python -m tests.fakes.lock_holder URL SECONDS`.

It connects, prints "ready", waits for a line on stdin, takes the lock (SQLite: BEGIN
IMMEDIATE, the one write lock; PostgreSQL: LOCK TABLE deliveries IN ACCESS EXCLUSIVE MODE,
which blocks every reader and writer of the outbox), prints "locked", holds it for SECONDS,
rolls back and prints "released". A real process, so the service sees what it would see
when `sotabot import` or an operator's psql session holds the database.
"""

from __future__ import annotations

import sys
import time

from sqlalchemy import text

from sotabot.storage.db import is_postgres, make_engine


def main(url: str, seconds: float) -> None:
    engine = make_engine(url)
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
        conn.rollback()
        print("ready", flush=True)
        sys.stdin.readline()
        if is_postgres(engine):
            conn.execute(text("LOCK TABLE deliveries IN ACCESS EXCLUSIVE MODE"))
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        print("locked", flush=True)
        time.sleep(seconds)
        conn.rollback()
    print("released", flush=True)
    engine.dispose()


if __name__ == "__main__":
    main(sys.argv[1], float(sys.argv[2]))
