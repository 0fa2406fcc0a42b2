"""Celery tasks: thin wrappers over deposits.services (which enqueues them by name, never importing this)."""
from __future__ import annotations

from celery import shared_task

from deposits import services


@shared_task(name="deposits.send_refund", acks_late=True)
def send_refund(order_id: int) -> str:
    """Send one refund order to the bank. Failures are recorded on the order and retried with backoff
    by the clock tick (deposits.services.tick), so a lost task or a bank outage never loses a refund."""
    return services.dispatch_refund(order_id=order_id)


@shared_task(name="deposits.tick")
def tick() -> int:
    return services.tick()
