import threading

from app.bridge import EventBridge, latest_only
from core.jobs import JobFinished, JobPreview, JobProgress, JobStarted
from tests.gui.conftest import pump


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
