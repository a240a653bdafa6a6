"""Prefect automations a Jimu deployment needs: ``python -m jimu.flows.automations`` (once, per server).

**Crash zombie flow runs**: a worker killed with -9 (or a machine that died) leaves its flow run
``Running`` forever, holding the deployment's concurrency slot. With heartbeats on
(``PREFECT_FLOWS_HEARTBEAT_FREQUENCY=60`` in the workers' environment), a flow run that sends
none for 3 minutes is marked ``Crashed`` (Prefect's documented pattern,
docs.prefect.io/v3/advanced/detect-zombie-flows). Jimu's side needs nothing from it: the next
batch marks a batch whose process died as failed, and claims whose lease ran out go to another
worker (:mod:`jimu.store.claims`).
"""

from __future__ import annotations

from datetime import timedelta

NAME = "jimu: crash zombie flow runs"


def zombie_automation() -> object:
    from prefect.automations import Automation
    from prefect.client.schemas.objects import StateType
    from prefect.events.actions import ChangeFlowRunState
    from prefect.events.schemas.automations import EventTrigger, Posture
    from prefect.events.schemas.events import ResourceSpecification

    return Automation(
        name=NAME,
        trigger=EventTrigger(
            after={"prefect.flow-run.heartbeat"},
            expect={"prefect.flow-run.heartbeat", "prefect.flow-run.Completed", "prefect.flow-run.Failed",
                    "prefect.flow-run.Cancelled", "prefect.flow-run.Crashed"},
            match=ResourceSpecification({"prefect.resource.id": ["prefect.flow-run.*"]}),
            for_each={"prefect.resource.id"},
            posture=Posture.Proactive,
            threshold=1,
            within=timedelta(minutes=3),
        ),
        actions=[ChangeFlowRunState(state=StateType.CRASHED, message="no heartbeat for 3 minutes: the worker died")],
    )


def ensure() -> str:
    """Create the automation unless it exists; returns what was done."""
    from prefect.automations import Automation

    try:
        found = Automation.read(name=NAME)
        return f"automation '{NAME}' already exists" if found else ""
    except ValueError:
        pass
    zombie_automation().create()  # type: ignore[attr-defined]
    return f"created automation '{NAME}'"


if __name__ == "__main__":
    print(ensure())
