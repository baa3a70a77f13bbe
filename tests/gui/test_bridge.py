import threading

from app.bridge import EventBridge, latest_only
from core.errors import AppError, InputError
from core.jobs import JobFinished, JobPreview, JobProgress, JobStarted
from tests.gui.conftest import pump, pump_until


def test_latest_only_keeps_the_newest_progress_and_preview_per_job():
    events = [
        JobStarted(1, "s", "t", "standard"),
        JobProgress(1, 0.1),
        JobProgress(2, 0.5),
        JobPreview(1, b"a", "image/png"),
        JobProgress(1, 0.2),
        JobPreview(1, b"b", "x"),
        JobFinished(2, "done"),
    ]
    kept = latest_only(events)
    assert kept == [events[0], events[2], events[4], events[5], events[6]]


def test_events_from_worker_threads_reach_the_tk_thread_in_order(root):
    seen: list = []
    handled_on: set = set()

    def handle(event):
        seen.append(event)
        handled_on.add(threading.current_thread() is threading.main_thread())

    bridge = EventBridge(root, handle, interval_ms=5, batch=50)
    bridge.start()
    workers = [
        threading.Thread(
            target=lambda n=n: [bridge.put(JobFinished(n * 100 + i, "done")) for i in range(60)]
        )
        for n in range(4)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    for _ in range(50):
        pump(root, 10)
        if len(seen) == 240:
            break
    bridge.stop()
    assert len(seen) == 240 and handled_on == {True}
    for n in range(4):  # each worker's events keep their order
        ids = [e.job_id for e in seen if e.job_id // 100 == n]
        assert ids == sorted(ids)


def test_calls_run_off_the_tk_thread_in_order_and_their_results_come_back_on_it(root):
    events: list = []
    bridge = EventBridge(root, events.append, interval_ms=5)
    bridge.start()
    ran_on, results = [], []

    def work(n: int):
        ran_on.append(threading.current_thread() is threading.main_thread())
        bridge.put(JobFinished(n, "done"))  # an event the call emits reaches the window first
        if n == 1:
            raise InputError("job 1 is queued — only failed jobs can be retried")
        if n == 2:
            raise KeyError("surprise")
        return n

    for n in range(4):
        bridge.call(lambda n=n: work(n), lambda result: results.append((len(events), result)))
    assert pump_until(root, lambda: len(results) == 4, 10)
    bridge.stop()
    assert ran_on == [False] * 4
    assert [r for _, r in results][::3] == [0, 3]
    assert [seen for seen, _ in results] == [1, 2, 3, 4]
    assert isinstance(results[1][1], InputError) and "retried" in str(results[1][1])
    failure = results[2][1]
    assert isinstance(failure, AppError) and "KeyError" in str(failure) and "\n" not in str(failure)
