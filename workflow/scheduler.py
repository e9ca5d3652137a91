"""The timer scheduler: one APScheduler job that sweeps due timers and re-arms itself.

Contract
    ``Scheduler(db, engine, clock=...)``; ``start()`` runs an APScheduler ``BackgroundScheduler``
    with ONE job. Each run of the job first makes sure this scheduler holds the database's leader
    lock (``workflow.scheduler_lock``). Holding it, it calls ``timers.sweep(db, engine,
    clock.now())`` and re-arms for the next due time, but no later than ``poll_interval`` seconds
    (timers created by other processes are seen within that bound). Not holding it, it stands by
    and asks again after ``standby_interval`` seconds, so it takes over within about that long once
    the active scheduler dies. ``shutdown()`` waits for a running sweep (which stops between cases),
    then releases the lock. ``nudge(due)`` asks for a sweep at ``due`` (default: now) if that is
    earlier than planned: a command that created an earlier timer in this process can call it.

Other periodic work
    ``jobs``: callables taking business time (e.g. the outbox's e-mail delivery,
    ``workflow.delivery.deliver_due``), run by the active scheduler after each sweep, each in a
    ``try``: a failing job is logged and tried again on the next run; it never stops the sweep.

A case that fails
    A case whose timers cannot fire (a broken diagram, an expression over its budget, a year the
    calendar does not know) is logged and skipped; the others fire. It stays due and is tried again
    at the next sweep, then after one poll interval, two, four, … at most an hour (``Backoff``,
    business time), so a case that keeps failing costs little; ``last_result.deferred`` lists
    the cases a sweep left for later.

After downtime
    The first sweep of the process that becomes active fires everything that fell due meanwhile,
    once, earliest first (see ``workflow.timers``).

Two clocks
    ``clock`` is business time: what ``now`` the sweep passes to the engine (a ``FakeClock`` in
    tests). APScheduler waits on the wall clock; the delay until the next due time is computed on
    ``clock`` and applied on the wall clock. Nothing here sleeps: waits belong to APScheduler.

Why the job re-arms from a listener
    The job's next run is set with ``modify_job`` once the run has ended (from the executed-job
    event, which APScheduler sends after it stopped counting the run as running): set from inside
    the job, an immediate re-run could be skipped as "maximum number of running instances
    reached". APScheduler's ``shutdown`` holds its job-store lock while it waits for a running job,
    so re-arming and shutting down are serialized by ``_arm_lock``: a run that ends after shutdown
    began does not re-arm.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, JobEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from . import anchors
from .clock import Clock, SystemClock
from .engine import Engine
from .scheduler_lock import LeaderLock, lock_for
from .store import Database
from .timers import Backoff, SweepResult, sweep

__all__ = ["JOB_ID", "Scheduler"]

log = logging.getLogger("shanyu.scheduler")

JOB_ID = "shanyu-timers"


class Scheduler:
    """One active scheduler per database; the others stand by (see module doc)."""

    def __init__(
        self,
        db: Database,
        engine: Engine,
        *,
        clock: Clock | None = None,
        poll_interval: float = 30.0,
        standby_interval: float = 10.0,
        lock: LeaderLock | None = None,
        anchor_every: timedelta | None = None,
        jobs: Sequence[Callable[[datetime], Any]] = (),
    ) -> None:
        if poll_interval <= 0 or standby_interval <= 0:
            raise ValueError("poll_interval and standby_interval must be positive")
        self.db = db
        self.engine = engine
        self.clock: Clock = clock or SystemClock()
        self.poll_interval = poll_interval
        self.standby_interval = standby_interval
        self.lock = lock or lock_for(db)
        # with a period, the active scheduler signs an anchor of every case's chain head whenever the
        # newest anchor is older than that (workflow.anchors); ``shanyu serve`` and ``shanyu
        # scheduler`` ask for one a day
        self.anchor_every = anchor_every
        self.jobs = tuple(jobs)
        self.last_result: SweepResult | None = None
        self.backoff = Backoff(first=timedelta(seconds=poll_interval))
        self.runs = 0  # runs of the job, active or standing by
        self.sweeps = 0  # sweeps run while active
        self.fired = 0  # timers fired by them
        self._wall = SystemClock()
        self._active = False
        self._running = False
        self._stopping = False
        self._nudged: datetime | None = None  # wall time a nudge asked for while a sweep ran
        self._next_delay = poll_interval
        self._arm_lock = threading.Lock()
        self._aps: BackgroundScheduler | None = None

    @property
    def active(self) -> bool:
        """Whether this scheduler holds the lock and sweeps (as of its last run)."""
        return self._active

    # -- lifecycle ---------------------------------------------------------------------------------
    def start(self) -> None:
        if self._aps is not None:
            raise RuntimeError("this scheduler was already started")
        self._aps = BackgroundScheduler(timezone=UTC, executors={"default": ThreadPoolExecutor(1)})
        self._aps.add_listener(self._ran, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
        self._aps.add_job(
            self._run,
            IntervalTrigger(seconds=self.poll_interval, timezone=UTC),
            id=JOB_ID,
            name="shanyu: fire due timers",
            next_run_time=self._wall.now(),
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
        )
        self._aps.start()
        log.info(
            "timer scheduler started (poll every %gs, standby retry every %gs, %s)",
            self.poll_interval,
            self.standby_interval,
            self.lock.describe(),
        )

    def shutdown(self, wait: bool = True) -> None:
        """Stop: let a running sweep finish its current case, then release the lock."""
        with self._arm_lock:
            self._stopping = True
        if self._aps is not None and self._aps.running:
            self._aps.shutdown(wait=wait)
        self.lock.release()
        if self._active:
            log.info("timer scheduler stopped; the lock is released for a standby")
        self._active = False

    def nudge(self, due: datetime | None = None) -> None:
        """Sweep at ``due`` (business time; default now) if that is earlier than planned."""
        self._arm(self._delay_until(due), only_earlier=True)

    # -- the job -----------------------------------------------------------------------------------
    def _run(self) -> None:
        with self._arm_lock:
            if self._stopping:
                return
            self._running, self._nudged = True, None
        self.runs += 1
        delay = self.poll_interval
        try:
            if self._leading():
                now = self.clock.now()
                result = sweep(
                    self.db, self.engine, now, stop=lambda: self._stopping, skip=self.backoff.skip(now)
                )
                self.backoff.update(result)
                self.last_result, self.sweeps, self.fired = result, self.sweeps + 1, self.fired + result.count
                self._anchor_if_due()
                if result.next_due is not None:
                    delay = self._delay_until(result.next_due)
                for job in self.jobs:
                    if self._stopping:
                        break
                    try:
                        job(self.clock.now())
                    except Exception:  # a job's failure is its own; the timers go on
                        log.exception("periodic job %s failed; trying again on the next run", job)
            else:
                delay = self.standby_interval
        except Exception:  # the database is away, say; try again later, never die
            log.exception("timer sweep failed; trying again in %gs", self.poll_interval)
        self._next_delay = delay

    def _anchor_if_due(self) -> None:
        if self.anchor_every is None:
            return
        try:
            now = self.clock.now()
            with self.db.read() as session:
                last = anchors.latest_at(session)
            if last is not None and now - last < self.anchor_every:
                return
            key = anchors.load_key()
            with self.db.write() as session:
                doc = anchors.make_anchor(session, now=now, created_by="scheduler", key=key)
            path = anchors.write_anchor(doc, anchors.anchor_dir(), now)
            log.info("anchored the chain heads of every case: %s", path)
        except Exception:  # an unwritable folder, say: the timers must fire all the same
            log.exception("writing the daily anchor failed; trying again at the next sweep")

    def _ran(self, event: JobEvent) -> None:
        if event.job_id == JOB_ID:
            self._arm(self._next_delay, finishing=True)

    def _leading(self) -> bool:
        if self._active:
            if self.lock.held():
                return True
            self._active = False
            log.warning("lost the scheduler lock (%s); standing by", self.lock.describe())
        if self.lock.try_acquire():
            self._active = True
            log.info("this process is now the active timer scheduler (%s)", self.lock.describe())
        return self._active

    def _delay_until(self, due: datetime | None) -> float:
        if due is None:
            return 0.0
        seconds = (due - self.clock.now()).total_seconds()
        return min(max(seconds, 0.0), self.poll_interval)

    def _arm(self, delay: float, *, only_earlier: bool = False, finishing: bool = False) -> None:
        at = self._wall.now() + timedelta(seconds=delay)
        with self._arm_lock:
            if finishing:
                self._running = False
            if self._stopping or self._aps is None:
                return
            if self._running:  # the run re-arms when it ends; keep the wish until then
                if only_earlier:
                    self._nudged = at if self._nudged is None else min(self._nudged, at)
                return
            if self._nudged is not None:
                at, self._nudged = min(at, self._nudged), None
            try:
                job = self._aps.get_job(JOB_ID)
                if job is None or (
                    only_earlier and job.next_run_time is not None and job.next_run_time <= at
                ):
                    return
                self._aps.modify_job(JOB_ID, next_run_time=at)
            except JobLookupError:
                return
