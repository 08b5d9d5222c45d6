"""Participants answering their questionnaires on a phone through their private links (ePRO).

Each simulated user is one participant at a time, taken from the pool of private links that
``bench/load/run.py`` seeded (``ATTUNE_LOAD_TOKENS``: one token a line). It opens its link, starts the
first questionnaire on the list, answers every item as the phone page offers it (one option per item,
at random), sends the answers with the page's CSRF token and version, and goes back to its list, as
the "Back to my questionnaires" button does. When nothing is left to answer, the user takes the next
participant (a fresh phone: new cookies).

Think time, stated in the report: 1-3 s between pages (reading the list or the thank-you page,
tapping) and 2-6 s to fill in a questionnaire. Real participants take minutes per questionnaire, so
each simulated user stands for many real ones.

Every submission is logged before it is sent and again when the thank-you page comes back, and
every request with its response time; both lists and the timings go to ``ATTUNE_LOAD_SENT`` (JSON)
at the end, for the driver to compare with the database and to compute exact percentiles.
"""

from __future__ import annotations

import json
import os
import random
import re
import time
from collections import deque
from pathlib import Path
from typing import Any

from locust import between, events, task
from locust.contrib.fasthttp import FastHttpUser
from locust.exception import StopUser

FILL_SECONDS = (2.0, 6.0)
BETWEEN_PAGES_SECONDS = (1.0, 3.0)

TOKENS: deque[str] = deque(
    Path(os.environ["ATTUNE_LOAD_TOKENS"]).read_text().split()
    if "ATTUNE_LOAD_TOKENS" in os.environ
    else []
)
ATTEMPTED: list[dict[str, Any]] = []  # logged just before each submission is sent
SENT: list[dict[str, Any]] = []  # submissions the server confirmed ("Thank you")
EXHAUSTED = {"count": 0}
REQUESTS: list[tuple[str, float, float, bool]] = []  # name, start (s), response time (ms), failed

# .../forms/<visit>/<instrument>/
FORM_LINK = re.compile(r'href="(/p/[^/"]+/forms/([^/"]+/[^/"]+)/)"')
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
VERSION = re.compile(r'name="version" value="(\d+)"')
OPTION = re.compile(r'name="item_(\d+)" value="(-?\d+)"')


def choose_answers(page: str) -> dict[str, int]:
    """One option per item, as a participant taps them (every item answered)."""
    options: dict[str, list[int]] = {}
    for item, code in OPTION.findall(page):
        options.setdefault(item, []).append(int(code))
    return {item: random.choice(codes) for item, codes in options.items()}


class Participant(FastHttpUser):
    wait_time = between(*BETWEEN_PAGES_SECONDS)

    def on_start(self) -> None:
        self.token: str | None = None
        self.due: list[tuple[str, str]] | None = None  # the list as the home page last showed it

    def next_participant(self) -> None:
        if not TOKENS:
            EXHAUSTED["count"] += 1
            raise StopUser()  # the pool was too small: the driver reports it
        self.token = TOKENS.popleft()
        self.client.cookiejar.clear()

    @task
    def step(self) -> None:
        if self.due is None or not self.due:
            self.open_list()
        else:
            self.answer(*self.due[0])

    def open_list(self) -> None:
        first = self.token is None or self.due == []
        if first:
            self.next_participant()
        # The first visit of a participant is named apart (cold caches, a first session).
        name = "GET /p/[token]/ (list, first visit)" if first else "GET /p/[token]/ (list)"
        with self.client.get(f"/p/{self.token}/", name=name, catch_response=True) as response:
            if response.status_code != 200 or "Your questionnaires" not in (response.text or ""):
                response.failure(f"list page: status {response.status_code}")
                self.due = None
                return
            self.due = list(FORM_LINK.findall(response.text or ""))

    def answer(self, url: str, form: str) -> None:
        """Answer one questionnaire (``form``: "<visit>/<instrument>", stored on the first answers)."""
        with self.client.get(
            url,
            name="GET /p/[token]/forms/[visit]/[instrument]/ (questionnaire)",
            catch_response=True,
        ) as response:
            page = response.text or ""
            csrf, version = CSRF.search(page), VERSION.search(page)
            if response.status_code != 200 or csrf is None or version is None:
                response.failure(f"questionnaire page: status {response.status_code}")
                self.due = None
                return
        answers = choose_answers(page)
        self.wait_seconds(*FILL_SECONDS)
        entry = {"token": self.token, "form": form, "answers": answers}
        ATTEMPTED.append(entry)
        data = {f"item_{item}": str(code) for item, code in answers.items()}
        data |= {"csrfmiddlewaretoken": csrf.group(1), "version": version.group(1)}
        with self.client.post(
            url,
            data=data,
            headers={"Referer": (self.host or "").rstrip("/") + url},
            name="POST /p/[token]/forms/[visit]/[instrument]/ (submit)",
            catch_response=True,
        ) as response:
            if response.status_code == 200 and "Thank you" in (response.text or ""):
                SENT.append(entry)
            else:
                response.failure(f"submit: status {response.status_code}")
        self.due = None  # back to the list, as the thank-you page's button does

    def wait_seconds(self, low: float, high: float) -> None:
        time.sleep(random.uniform(low, high))  # gevent's sleep: locust patches the standard library


def count_request(
    name: str, response_time: float, exception: BaseException | None, **details: Any
) -> None:
    """Every request's own time, for exact percentiles (locust's own are rounded)."""
    start = details.get("start_time") or time.time() - response_time / 1000
    REQUESTS.append((name, start, response_time, exception is not None))


def write_log(**_: Any) -> None:
    if path := os.environ.get("ATTUNE_LOAD_SENT"):
        log = {
            "attempted": ATTEMPTED,
            "sent": SENT,
            "pool_exhausted": EXHAUSTED["count"],
            "requests": REQUESTS,
        }
        Path(path).write_text(json.dumps(log))


events.request.add_listener(count_request)  # type: ignore[no-untyped-call]
events.quitting.add_listener(write_log)  # type: ignore[no-untyped-call]
