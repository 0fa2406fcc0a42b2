from celery import shared_task


@shared_task(name="trading.tasks.clock_tick", ignore_result=True)
def clock_tick() -> dict:
    from trading.clock import run_all_ticks

    return run_all_ticks()
