"""pytest-cov's total, for the session record."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from _pytest.config import Config


def coverage_total(config: Config) -> float | None:
    """pytest-cov's total percent, which it computes at the end of the test loop (before
    sessionfinish) into its `_cov` plugin's `cov_total`; None when it did not run or report."""
    plugin = config.pluginmanager.getplugin("_cov")
    total = getattr(plugin, "cov_total", None)
    if isinstance(total, (int, float)) and not isinstance(total, bool):
        value = float(total)
        return value if value == value else None  # NaN
    return None
