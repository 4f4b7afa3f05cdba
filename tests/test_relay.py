"""The one event relay: dispatch by kind, one progress throttle for every front end."""
from nemo_desk.core.events import LogEvent, Progress, RetryEvent
from nemo_desk.core.relay import EventRelay


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_stage_changes_and_the_final_update_pass_the_rest_is_thinned():
    clock, seen, logs, retries = Clock(), [], [], []
    relay = EventRelay(seen.append, retries.append, logs.append, interval=0.1, clock=clock)
    relay(Progress("downloading", 0, 100))
    for done in range(1, 101):
        clock.now += 0.01  # a hundred events a second
        relay(Progress("downloading", done, 100))
    relay(Progress("downloading", 100, 100))  # a repeated 100 % is not a new final
    relay(Progress("unpacking", 0, 10))
    relay(RetryEvent("replace", "a", 1, 8, 0.1, "busy"))
    relay(LogEvent("warning", "interrupted"))
    fractions = [p.fraction for p in seen if p.stage == "downloading"]
    assert fractions[0] == 0.0 and fractions[-1] == 1.0 and fractions.count(1.0) == 1
    assert 9 <= len(fractions) <= 13 and fractions == sorted(fractions)
    assert seen[-1].stage == "unpacking"
    assert [r.path for r in retries] == ["a"] and [e.message for e in logs] == ["interrupted"]
    relay.reset()
    relay(Progress("unpacking", 1, 10))
    assert seen[-1].done == 1  # a new job's first event always passes
