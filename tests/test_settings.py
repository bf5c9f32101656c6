"""Tests for hotspots.settings: the before/after periods the settings ask for."""

import pytest

from hotspots import ParameterError
from hotspots.settings import Settings
from hotspots.validation import argument_names


def test_an_after_period_earlier_than_the_before_period_is_refused_with_the_swap():
    s = Settings(before=("2025-09", "2025-12"), after=("2025-01", "2025-04"))
    with pytest.raises(ParameterError) as err:
        s.change_periods()
    msg = str(err.value)
    assert "the after period (Jan 2025 – Apr 2025) comes before the before period (Sep 2025 – Dec 2025)" in msg
    assert msg.endswith("swap them: `before` 2025-01:2025-04 and `after` 2025-09:2025-12.")
    with argument_names({"before": "--before", "after": "--after"}), pytest.raises(ParameterError, match="`--before` 2025-01"):
        s.change_periods()


def test_periods_in_order_pass_even_with_a_gap_between_them():
    before, after = Settings(before=("2025-01", "2025-04"), after=("2025-09", "2025-12")).change_periods()
    assert (before.start.isoformat(), after.end.isoformat()) == ("2025-01-01", "2025-12-31")
