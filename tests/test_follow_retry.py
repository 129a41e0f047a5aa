"""A following page that did not reach the class's settings tries again: at once for its first
tries, then 2, 4, 8... s after the last, never more than RETRY_SECONDS apart, never giving up
(bnlab_ui/classroom.py)."""
import time

from bnlab_ui import classroom


def tried(tries: int, ago: float) -> tuple:
    return (("Shuffling", {"shuffle": "1"}), tries, time.monotonic() - ago)


def test_no_later_try_before_the_tries_at_once_are_used():
    assert not classroom._retry_due(None)
    for tries in range(classroom.MAX_TRIES):
        assert not classroom._retry_due(tried(tries, ago=1000))  # those are the full runs' own


def test_later_tries_wait_twice_as_long_each_time_up_to_the_cap():
    first = classroom.MAX_TRIES
    waits = [2.0, 4.0, 8.0, 16.0, classroom.RETRY_SECONDS, classroom.RETRY_SECONDS]
    for n, wait in enumerate(waits):
        assert not classroom._retry_due(tried(first + n, ago=wait - 0.5)), (n, wait)
        assert classroom._retry_due(tried(first + n, ago=wait + 0.01)), (n, wait)
    # however many tries failed, the next one comes within RETRY_SECONDS: it never gives up
    assert classroom._retry_due(tried(first + 1000, ago=classroom.RETRY_SECONDS + 0.01))
