#!/usr/bin/env python3
"""Drives a running Socle's FHIR face through the fhirpy SDK (PyPI), unchanged:
create, read, update, patch, delete, history and a transaction. Each step
prints PASS or FAIL; the exit status is the number of failed steps. Run by
the test suite (FhirpyClientTests) against a live Socle; by hand:

    python3 scripts/fhirpy_client_run.py http://127.0.0.1:8080/fhir alice secret
"""

from __future__ import annotations

import base64
import sys
import uuid

from client_steps import Run, check
from fhirpy import SyncFHIRClient
from fhirpy.base.exceptions import ResourceNotFound


def drive(client: SyncFHIRClient, run: Run) -> None:
    state: dict = {}

    def create():
        patient = client.resource("Patient", name=[{"family": "Durand", "given": ["Lucie"]}], gender="female", birthDate="1984-03-02")
        patient.save()
        check(bool(patient.id) and patient["meta"]["versionId"] == "1", f"created: {patient}")
        state["patient"] = patient

    run.step("create (POST)", create)

    def read():
        patient = client.reference("Patient", state["patient"].id).to_resource()
        check(patient["name"][0]["family"] == "Durand", f"read: {patient}")

    run.step("read (GET)", read)

    def update():
        patient = state["patient"]
        patient["active"] = True
        patient.save()
        check(patient["meta"]["versionId"] == "2", f"updated: {patient['meta']}")
        again = client.get("Patient", patient.id)
        check(again["active"] is True, "update not read back")

    run.step("update (PUT)", update)

    def patch():
        patched = client.patch("Patient", state["patient"].id, gender="other")
        check(patched["gender"] == "other" and patched["name"][0]["family"] == "Durand", f"patched: {patched}")
        saved = state["patient"]
        saved["birthDate"] = "1984-03-03"
        saved.save(fields=["birthDate"])
        check(client.get("Patient", saved.id)["birthDate"] == "1984-03-03", "save(fields=…) not applied")

    run.step("patch (PATCH, save with fields)", patch)

    def history():
        bundle = client.execute(f"Patient/{state['patient'].id}/_history", method="get")
        check(bundle["type"] == "history" and bundle["total"] == 4, f"history: total {bundle.get('total')}")

    run.step("history", history)

    def transaction():
        patient_url = f"urn:uuid:{uuid.uuid4()}"
        bundle = {
            "resourceType": "Bundle",
            "type": "transaction",
            "entry": [
                {"fullUrl": patient_url, "resource": {"resourceType": "Patient", "gender": "male"}, "request": {"method": "POST", "url": "Patient"}},
                {
                    "resource": {
                        "resourceType": "Observation",
                        "status": "final",
                        "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
                        "subject": {"reference": patient_url},
                        "valueQuantity": {"value": 72, "unit": "/min", "system": "http://unitsofmeasure.org", "code": "/min"},
                    },
                    "request": {"method": "POST", "url": "Observation"},
                },
                {
                    "resource": {"resourceType": "Binary", "contentType": "text/plain", "data": base64.b64encode(b"x").decode()},
                    "request": {"method": "POST", "url": "Binary"},
                },
            ],
        }
        response = client.execute("", method="post", data=bundle)
        statuses = [entry["response"]["status"] for entry in response["entry"]]
        check(statuses == ["201 Created"] * 3, f"statuses {statuses}")
        observation = client.get("Observation", response["entry"][1]["response"]["location"].split("/")[1])
        check(observation["subject"]["reference"].startswith("Patient/"), f"reference {observation['subject']}")

    run.step("transaction (POST Bundle)", transaction)

    def delete():
        client.delete("Patient", state["patient"].id)
        try:
            client.get("Patient", state["patient"].id)
        except ResourceNotFound:
            return
        raise AssertionError("still readable after DELETE")

    run.step("delete (DELETE, then 410)", delete)


def main() -> int:
    base, user, password = sys.argv[1:4]
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    client = SyncFHIRClient(base, authorization=f"Basic {token}")
    run = Run()
    drive(client, run)
    print(f"fhirpy: {run.passed} passed, {len(run.failed)} failed", flush=True)
    return len(run.failed)


if __name__ == "__main__":
    sys.exit(main())
