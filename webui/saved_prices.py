"""Price overrides saved in the data directory (prices.json), the default of every new session.

Prices are not secrets, so unlike keys they may be written down. A file that cannot be read is
reported and left as it is: nothing is lost, and the session starts without saved prices.
"""

from __future__ import annotations

import json
import logging
import math
import os
from pathlib import Path

from rlm_engine.paths import data_dir

log = logging.getLogger(__name__)
FILE_NAME = "prices.json"

Prices = dict[str, tuple[float, float]]


def prices_path() -> Path:
    return data_dir() / FILE_NAME


def _price(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    number = float(value)
    return number if math.isfinite(number) and number >= 0 else None


def load_prices() -> Prices:
    """The saved overrides ({} when none, or when the file is not what we write)."""
    path = prices_path()
    if not path.exists():
        return {}
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        prices: Prices = {}
        for model, pair in dict(raw).items():
            numbers = [_price(p) for p in pair]
            if isinstance(model, str) and len(numbers) == 2 and None not in numbers:
                prices[model] = (float(numbers[0] or 0), float(numbers[1] or 0))
        return prices
    except (OSError, ValueError, TypeError) as exc:
        log.warning("Saved prices in %s could not be read (%s); left as they are", path, exc)
        return {}


def save_prices(prices: Prices) -> Path:
    """Write the overrides (atomically: a crash leaves the old file whole)."""
    path = prices_path()
    temporary = path.with_suffix(".json.tmp")
    data = {model: [inp, out] for model, (inp, out) in sorted(prices.items())}
    temporary.write_text(json.dumps(data, indent=2), encoding="utf-8")
    os.replace(temporary, path)
    return path
