"""Baseline for webhook ingest: a bare Litestar app that only verifies the Stripe signature.

The same framework and server as the hub (Litestar on uvicorn, no access log), the same route
shape, the same check (stripe-python's ``WebhookSignature.verify_header``, Stripe's 300 s
tolerance) and the same answer, and nothing else: no database, no tenant lookup. The hub's
ingest throughput is reported as a ratio of this one's, measured in the same run.

Run: ``BENCH_WEBHOOK_SECRET=whsec_... python bench/verify_only.py --port 8422 [--workers 1]``
"""

from __future__ import annotations

import argparse
import os
import sys

import stripe
from litestar import Litestar, Request, post
from litestar.exceptions import HTTPException

SECRET = os.environ.get("BENCH_WEBHOOK_SECRET", "")


@post("/v1/webhooks/stripe/{tenant_id:str}", status_code=200)
async def receive(request: Request, tenant_id: str) -> dict[str, bool]:
    payload = await request.body()
    try:
        stripe.WebhookSignature.verify_header(
            payload.decode(), request.headers.get("stripe-signature", ""), SECRET, tolerance=300
        )
    except (stripe.SignatureVerificationError, UnicodeDecodeError):
        raise HTTPException(status_code=400, detail="signature_invalid") from None
    return {"received": True}


app = Litestar(route_handlers=[receive], openapi_config=None)


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    if not SECRET:
        sys.exit("BENCH_WEBHOOK_SECRET is not set")
    uvicorn.run(
        "verify_only:app",
        app_dir=os.path.dirname(os.path.abspath(__file__)),
        host="127.0.0.1",
        port=args.port,
        workers=args.workers,
        log_level="warning",
        access_log=False,
        server_header=False,
    )


if __name__ == "__main__":
    main()
