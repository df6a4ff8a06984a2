"""Moving a key's automatic-rotation date into the past in a stopped kmsd's database.

kmsd rotates a key automatically once its next rotation date has passed, one rotation per
elapsed period, the next time the key is used (server/ops/rotation.hpp). Its clock is the
system's, so a test cannot wait for a period of 90 days or more; what it can do is what a kmsd
that was stopped for that long sees on restart: a rotation date far behind. The end-to-end tests
and the benchmark use this to give a key more rotations than RotateKeyOnDemand's limit of 25
allows, and then check that kmsd made them.

Only the one column is changed, with kmsd stopped (its data-directory lock is not taken here:
the caller stops kmsd first). Standard library only (bench/ imports it too).
"""
from __future__ import annotations

import os
import sqlite3
import time

SECONDS_PER_DAY = 86400


def backdate_rotation_schedule(data_dir: str | os.PathLike, key_id: str, periods: int,
                               period_days: int) -> int:
    """Sets the next rotation date of `key_id` (rotation enabled with `period_days`) so that
    `periods` rotation dates have passed by now, the last of them half a period ago. Returns
    that first date (epoch seconds); the rotations kmsd makes are dated first + i * period."""
    period = period_days * SECONDS_PER_DAY
    first = int(time.time()) - (periods - 1) * period - period // 2
    db = sqlite3.connect(os.path.join(data_dir, "kms.db"))
    try:
        with db:
            changed = db.execute(
                "UPDATE keys SET next_rotation_date = ? "
                "WHERE key_id = ? AND rotation_enabled = 1 AND rotation_period_days = ?",
                (first, key_id, period_days)).rowcount
    finally:
        db.close()
    if changed != 1:
        raise AssertionError(f"no key {key_id} rotating every {period_days} days in {data_dir}")
    return first
