"""A test step that prints, sleeps, and then fails or succeeds as its params say."""

import time

from resources.compute.entry import StepReporter, run_entry


def main(params: dict, reporter: StepReporter) -> dict:
    print(f"sleepy step starting, sleeping {params['sleep_s']}s", flush=True)
    time.sleep(params["sleep_s"])
    if params.get("fail"):
        raise ValueError(f"sleepy step refused its input: {params['fail']}")
    return {"slept_s": params["sleep_s"]}


if __name__ == "__main__":
    run_entry(main)
