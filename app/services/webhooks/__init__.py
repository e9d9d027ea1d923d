"""Webhooks: subscriptions, the event outbox and its scanner, signed deliveries with retries, the worker loop.

* `events`: the event catalogue, recording an event in the writer's transaction, fan-out, the scanner.
* `subscriptions`: the use cases behind the API (subscriptions, secrets, pings, the delivery log).
* `signing`: the HMAC-SHA256 signature receivers verify.
* `dispatcher`: claims due deliveries, POSTs them, records each attempt and schedules retries.
* `worker`: the background loop each server process runs (and `zhaoshang webhooks run-once`).
"""
