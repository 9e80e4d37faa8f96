"""Prometheus metrics: request counts and latency per endpoint, offers, predictions served,
the sentiment of scored reviews, job progress.

Request metrics are counted in the process that served the request. Under gunicorn
(`loyalty serve` sets ``PROMETHEUS_MULTIPROC_DIR``) every worker writes them to files there and
a scrape adds the workers up; without it they live in the process. The business figures
(offers by status, reviews by sentiment, running jobs) are read from the database at scrape
time, so they are right whichever worker answers.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

from flask import Flask, Response, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy import Engine, func, select

from loyalty.config import Settings
from loyalty.jobs import mark_interrupted
from loyalty.models import Job, Offer, Review

REQUESTS = Counter("loyalty_http_requests_total", "HTTP requests answered",
                   ["method", "endpoint", "status"])
LATENCY = Histogram("loyalty_http_request_duration_seconds", "Time to answer a request",
                    ["method", "endpoint"],
                    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10))
PREDICTIONS_SERVED = Counter("loyalty_predictions_served_total",
                             "Customer predictions returned by the API")
OFFERS_ISSUED = Counter("loyalty_offers_issued_by_api_total", "Offers the API issued")
OFFERS_REDEEMED = Counter("loyalty_offers_redeemed_by_api_total", "Offers redeemed via the API")


class DatabaseCollector:
    """Figures read from the database when Prometheus scrapes."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine = engine
        self.settings = settings

    def collect(self) -> Iterator[GaugeMetricFamily]:
        offers = GaugeMetricFamily("loyalty_offers", "Offers by status and group",
                                   labels=["status", "group"])
        sentiment = GaugeMetricFamily("loyalty_reviews_scored",
                                      "Scored reviews by sentiment label", labels=["label"])
        jobs = GaugeMetricFamily("loyalty_jobs", "Jobs by kind and status",
                                 labels=["kind", "status"])
        progress = GaugeMetricFamily("loyalty_job_progress_ratio",
                                     "Share done of each running job", labels=["job", "kind"])
        # A killed job must not be counted (or its progress shown) as running.
        mark_interrupted(self.engine, self.settings)
        with self.engine.connect() as conn:
            for status, control, n in conn.execute(
                    select(Offer.status, Offer.is_control, func.count())
                    .group_by(Offer.status, Offer.is_control)):
                offers.add_metric([status, "control" if control else "treated"], n)
            for label, n in conn.execute(
                    select(Review.sentiment_label, func.count())
                    .where(Review.sentiment_label.is_not(None))
                    .group_by(Review.sentiment_label)):
                sentiment.add_metric([label], n)
            for kind, status, n in conn.execute(
                    select(Job.kind, Job.status, func.count()).group_by(Job.kind, Job.status)):
                jobs.add_metric([kind, status], n)
            for job_id, kind, done, total in conn.execute(
                    select(Job.id, Job.kind, Job.progress_done, Job.progress_total)
                    .where(Job.status == "running")):
                progress.add_metric([str(job_id), kind],
                                    (done or 0) / total if total else 0.0)
        yield from (offers, sentiment, jobs, progress)


def exposition(engine: Engine, settings: Settings) -> Response:
    """The text exposition: this process's (or all workers') counters, then the database's."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        counters = CollectorRegistry()
        MultiProcessCollector(counters)
    else:
        counters = REGISTRY
    database = CollectorRegistry(auto_describe=True)
    database.register(DatabaseCollector(engine, settings))
    body = generate_latest(counters) + generate_latest(database)
    return Response(body, mimetype=CONTENT_TYPE_LATEST)


def instrument(app: Flask) -> None:
    """Time every request and count it by endpoint (the URL rule, not the raw path, so ids do
    not explode the label set)."""

    @app.before_request
    def start_timer() -> None:
        g.request_started = time.perf_counter()

    @app.after_request
    def record(response: Response) -> Response:
        started = g.pop("request_started", None)
        endpoint = request.url_rule.rule if request.url_rule is not None else "unmatched"
        REQUESTS.labels(request.method, endpoint, str(response.status_code)).inc()
        if started is not None:
            LATENCY.labels(request.method, endpoint).observe(time.perf_counter() - started)
        return response
