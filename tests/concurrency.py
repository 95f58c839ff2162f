"""Start work in several threads at the same instant (a barrier), each with its own database
connection, and collect what each returned. An exception in any thread fails the caller."""

import threading
from collections.abc import Callable


def run_together(calls: list[Callable[[], object]]) -> list:
    """Run each callable in its own thread, released together; return their results in order."""
    from django.db import connections

    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)
    errors: list[BaseException] = []

    def run(index: int, call: Callable[[], object]) -> None:
        try:
            barrier.wait()
            results[index] = call()
        except BaseException as exc:  # re-raised in the caller below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results
