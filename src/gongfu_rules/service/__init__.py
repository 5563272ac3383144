"""The HTTP/JSON service for government portals (``gongfu serve``; extra ``gongfu-rules[service]``).

A FastAPI app over the library's public API, for portals written in Java or JavaScript:

    POST /v1/evaluate              one household (or person), on a date or over a period
    POST /v1/evaluate/batch        many households in one JSON request (at most ``max_batch``)
    POST /v1/evaluate/stream       the NDJSON variant: a profile per line in, a result per line out
    POST /v1/screen                a partial profile: what applies, and what may apply if ...
    GET  /v1/standards[/{id}[/history]]   the standards, their rule and values on a date, history
    GET  /v1/facts                 the facts a profile may give, with zh/en labels (form builders)
    GET  /v1/version, /healthz
    POST /v1/reform/compare        a reform and a population: a job (202), polled at
    GET  /v1/reform/jobs/{id}[/result]    its status, then its figures or HTML report

Contract: money is a decimal string (``"1374.00"``), as in ``Evaluation.to_json()``; every error
is ``{"errors": [{code, loc, msg}]}`` with a 4xx status taken from the library's error class
(:attr:`~gongfu_rules.errors.GongfuError.http_status`, mapped in :mod:`.problems` only); every
response names the standards set it used in ``Gongfu-Standards-Digest`` and
``Gongfu-Standards-Version``. The set loads once at start; SIGHUP reloads it and swaps it in
atomically, keeping the old set when the new one does not load. See ``docs/http-api.md``.
"""

from .app import create_app
from .server import serve

__all__ = ["create_app", "serve"]
