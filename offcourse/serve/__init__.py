"""``offcourse serve``: race control, live, over the engine.

Trackers (the Traccar Client app, OsmAnd, many devices) send positions over the OsmAnd HTTP
protocol; each runner has one :class:`~offcourse.detect.Monitor`; positions, engine state and
alerts live in SQLite; race control watches a live page and gets a webhook per alert.

The package is a layer over the engine, never inside it: the engine imports nothing from here,
and nothing here but :mod:`~offcourse.serve.app` and :mod:`~offcourse.serve.webhook` needs the
``serve`` extra (Starlette, uvicorn, httpx). Its modules, one idea each:

- :mod:`~offcourse.serve.ingest`: the OsmAnd / Traccar protocol and the JSON batch, parsed and bounded
- :mod:`~offcourse.serve.auth`: the race-control token, registered devices and their keys, rate limits
- :mod:`~offcourse.serve.store`: SQLite (WAL): positions, engine snapshots, events, acknowledgements
- :mod:`~offcourse.serve.field`: one monitor per runner, restored from the store on demand
- :mod:`~offcourse.serve.events`: Server-Sent Events fan-out
- :mod:`~offcourse.serve.webhook`: one POST per alert, off the request path, bounded retries
- :mod:`~offcourse.serve.page`: the live race-control page and a runner's page
- :mod:`~offcourse.serve.app`: the Starlette application
- :mod:`~offcourse.serve.report`: the batch field report from what was received
- :mod:`~offcourse.serve.demo`: a simulated field sent to a server (``make serve-demo``)
"""

from __future__ import annotations

__all__: list[str] = []
