"""The step runner the real-client scripts share (oehrpy_client_run.py,
fhirpy_client_run.py): each step prints PASS or FAIL with what went wrong,
and the run goes on; the exit status is the number of failed steps."""

from __future__ import annotations

import sys
import traceback


class Run:
    def __init__(self) -> None:
        self.failed: list[str] = []
        self.passed = 0

    def record(self, name, error=None):
        if error is None:
            print(f"PASS {name}", flush=True)
            self.passed += 1
            return
        detail = getattr(error, "response_body", None) or ""
        print(f"FAIL {name}: {type(error).__name__}: {error} {detail}", flush=True)
        traceback.print_exception(error, limit=2, file=sys.stdout)
        self.failed.append(name)

    def step(self, name, action):
        """Runs a step; its result, or None when it failed."""
        try:
            result = action()
        except Exception as error:  # a failed step is reported, the run goes on
            self.record(name, error)
            return None
        self.record(name)
        return result

    async def async_step(self, name, action):
        """The same for a coroutine function."""
        try:
            result = await action()
        except Exception as error:
            self.record(name, error)
            return None
        self.record(name)
        return result


def check(condition: bool, message: str) -> None:
    if not condition:
        raise AssertionError(message)
