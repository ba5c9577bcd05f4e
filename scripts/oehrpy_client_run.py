#!/usr/bin/env python3
"""Drives a running Socle through the oehrpy SDK (PyPI), unchanged.

oehrpy is an ITS-REST 1.1 client written against EHRbase: it calls
`{base}/rest/openehr/v1/…`, `{base}/rest/status` and `{base}/rest/admin/…`.
Every step below is a call a hospital's integration script would make; each
prints PASS or FAIL with what went wrong, and the exit status is the number
of failed steps (0: all passed). Run by the test suite (`OehrpyClientTests`)
against a live Socle; usable by hand:

    python3 scripts/oehrpy_client_run.py http://127.0.0.1:8080 alice secret OPT_FILE FLAT_FILE [ehrbase|generic]
"""

from __future__ import annotations

import asyncio
import sys
import uuid

from client_steps import Run, check
from oehrpy.client import ContributionBuilder
from oehrpy.client.ehrbase import EHRBaseClient
from oehrpy.client.openehr import OpenEHRClient

TEMPLATE_ID = "ehrbase.testcase06.v0"
ROOT = "ehrbase.testcase6.v0"
SYSTOLIC = f"{ROOT}/blood_pressure/any_event:0/systolic|magnitude"


def status_body(subject_id: str) -> dict:
    return {
        "_type": "EHR_STATUS",
        "archetype_node_id": "openEHR-EHR-EHR_STATUS.generic.v1",
        "name": {"_type": "DV_TEXT", "value": "EHR Status"},
        "subject": {
            "_type": "PARTY_SELF",
            "external_ref": {
                "_type": "PARTY_REF",
                "id": {"_type": "GENERIC_ID", "value": subject_id, "scheme": "id_scheme"},
                "namespace": "examples",
                "type": "PERSON",
            },
        },
        "is_queryable": True,
        "is_modifiable": True,
    }


def folder(name: str) -> dict:
    return {
        "_type": "FOLDER",
        "archetype_node_id": "openEHR-EHR-FOLDER.generic.v1",
        "name": {"_type": "DV_TEXT", "value": name},
    }


async def drive(client, opt: str, flat: dict, run: Run) -> None:
    step = run.async_step

    async def server_info():
        info = await client.get_server_info()
        check(info is not None, "no server info")

    await step("server info (/rest/status)", server_info)

    async def upload():
        await client.upload_template(opt)

    await step("template upload", upload)

    async def template_list():
        templates = await client.list_templates()
        check(any(t.template_id == TEMPLATE_ID for t in templates), f"{TEMPLATE_ID} not listed: {templates}")

    await step("template list", template_list)

    async def web_template():
        web = await client.get_web_template(TEMPLATE_ID)
        check(web.get("templateId") == TEMPLATE_ID and web.get("tree", {}).get("id") == ROOT, f"web template: {list(web)}")

    await step("web template", web_template)

    async def example_flat():
        example = await client.get_template_example(TEMPLATE_ID, format="FLAT")
        check(any(key.startswith(ROOT + "/") for key in example), f"FLAT example keys: {list(example)[:5]}")

    await step("template example in FLAT", example_flat)

    async def example_canonical():
        example = await client.get_template_example(TEMPLATE_ID, format="CANONICAL")
        check(example.get("_type") == "COMPOSITION", f"canonical example: {str(example)[:200]}")
        return example

    canonical_example = await step("template example in canonical JSON", example_canonical)

    subject = str(uuid.uuid4())

    async def create_ehr():
        ehr = await client.create_ehr(subject_id=subject, subject_namespace="examples")
        check(bool(ehr.ehr_id), "no ehr_id")
        return ehr.ehr_id

    ehr_id = await step("EHR create", create_ehr)
    if ehr_id is None:
        return

    async def get_ehr():
        ehr = await client.get_ehr(ehr_id)
        check(ehr.ehr_id == ehr_id, f"{ehr.ehr_id} != {ehr_id}")

    await step("EHR get", get_ehr)

    async def ehr_status():
        status = await client.get_ehr_status(ehr_id)
        check(status.get("_type") == "EHR_STATUS", f"status: {status}")
        uid = status["uid"]["value"]
        updated = await client.update_ehr_status(ehr_id, uid, status_body(subject))
        check(updated is not None, "no update answer")
        again = await client.get_ehr_status(ehr_id)
        check(again["uid"]["value"].endswith("::2"), f"status version: {again['uid']}")

    await step("EHR status get and update", ehr_status)

    async def flat_create():
        created = await client.create_composition(ehr_id, flat, template_id=TEMPLATE_ID, format="FLAT")
        check(bool(created.uid) and created.uid.endswith("::1"), f"uid {created.uid}")
        return created.uid

    flat_uid = await step("composition create in FLAT", flat_create)

    async def canonical_create():
        check(canonical_example is not None, "no canonical example to commit")
        created = await client.create_composition(ehr_id, canonical_example, format="CANONICAL")
        check(bool(created.uid), "no uid")
        return created.uid

    canonical_uid = await step("composition create in canonical JSON", canonical_create)

    async def get_both():
        check(flat_uid is not None, "nothing created")
        as_flat = await client.get_composition(ehr_id, flat_uid, format="FLAT")
        check(as_flat.composition.get(SYSTOLIC) is not None, f"FLAT read: {list(as_flat.composition)[:5]}")
        as_canonical = await client.get_composition(ehr_id, flat_uid, format="CANONICAL")
        check(as_canonical.composition.get("_type") == "COMPOSITION", "canonical read")

    await step("composition get in FLAT and canonical JSON", get_both)

    async def update():
        check(flat_uid is not None, "nothing created")
        changed = dict(flat)
        changed[SYSTOLIC] = 142.0
        object_id = flat_uid.split("::")[0]
        updated = await client.update_composition(ehr_id, object_id, flat_uid, changed, template_id=TEMPLATE_ID, format="FLAT")
        check(updated.uid.endswith("::2"), f"uid {updated.uid}")
        read = await client.get_composition(ehr_id, object_id, format="FLAT")
        check(float(read.composition[SYSTOLIC]) == 142.0, f"systolic {read.composition.get(SYSTOLIC)}")
        return updated.uid

    updated_uid = await step("composition update in FLAT", update)

    async def versioned():
        check(updated_uid is not None, "not updated")
        object_id = updated_uid.split("::")[0]
        container = await client.get_versioned_composition(ehr_id, object_id)
        check(container.uid == object_id, f"versioned composition: {container}")
        # ITS-REST 1.0.3 §VERSIONED_COMPOSITION: …/version/{version_uid} is one
        # ORIGINAL_VERSION (…/version without an id is the one at a time, not a
        # list: oehrpy's list_composition_versions finds no list there, as on EHRbase).
        for number, preceding in [(1, None), (2, flat_uid)]:
            uid = updated_uid.rsplit("::", 1)[0] + f"::{number}"
            version = await client.get_composition_version(ehr_id, object_id, uid)
            check(version.version_uid == uid and version.preceding_version_uid == preceding, f"version {number}: {version}")
            check(version.data is not None and version.data.get("_type") == "COMPOSITION", f"version {number} data")

    await step("versioned composition and its versions", versioned)

    async def aql_post():
        result = await client.query(
            "SELECT c/uid/value FROM EHR e CONTAINS COMPOSITION c WHERE e/ehr_id/value = $ehr_id", query_parameters={"ehr_id": ehr_id}
        )
        check(len(result.rows) == 2, f"{len(result.rows)} rows")

    await step("AQL by POST", aql_post)

    async def aql_get():
        result = await client.query_get(f"SELECT c/uid/value FROM EHR e[ehr_id/value='{ehr_id}'] CONTAINS COMPOSITION c")
        check(len(result.rows) == 2, f"{len(result.rows)} rows")

    await step("AQL by GET", aql_get)

    name = "org.socle::compositions" + str(uuid.uuid4())[:8]

    async def stored_queries():
        await client.store_query(name, "SELECT c/uid/value FROM EHR e CONTAINS COMPOSITION c WHERE e/ehr_id/value = $ehr_id", "1.0.0")
        listed = await client.list_stored_queries(name)
        check(len(listed) == 1, f"listed {listed}")
        result = await client.execute_stored_query(name, "1.0.0", query_parameters={"ehr_id": ehr_id})
        check(len(result.rows) == 2, f"{len(result.rows)} rows")

    await step("stored query store, list, execute", stored_queries)

    async def directory():
        created = await client.create_directory(ehr_id, folder("root"))
        uid = created["uid"]["value"] if created else None
        check(uid is not None, f"directory: {created}")
        read = await client.get_directory(ehr_id)
        check(read["name"]["value"] == "root", f"directory read: {read}")
        updated = await client.update_directory(ehr_id, uid, folder("renamed"))
        check(updated is None or updated.get("name", {}).get("value") == "renamed", f"directory update: {updated}")

    await step("directory create, get, update", directory)

    async def contribution():
        check(canonical_example is not None, "no canonical example to commit")
        body = ContributionBuilder().add_creation(composition=canonical_example).set_audit(committer="oehrpy", description="client run").build()
        created = await client.create_contribution(ehr_id, body)
        check(bool(created.contribution_uid) and len(created.versions) == 1, f"contribution: {created}")
        read = await client.get_contribution(ehr_id, created.contribution_uid)
        check(read.contribution_uid == created.contribution_uid and read.versions == created.versions, f"contribution read: {read}")

    await step("contribution create and get", contribution)

    async def delete():
        check(canonical_uid is not None, "nothing to delete")
        await client.delete_composition(ehr_id, canonical_uid.split("::")[0] + "::" + canonical_uid.split("::")[1])
        deleted = False
        try:
            read = await client.get_composition(ehr_id, canonical_uid.split("::")[0], format="CANONICAL")
            deleted = read is None or not read.composition
        except Exception:
            deleted = True
        check(deleted, "still readable after DELETE")

    await step("composition delete by versioned object id", delete)

    if client.admin_prefix is None:
        print("SKIP admin EHR delete: this client flavour has no admin API", flush=True)
        return

    async def admin_delete():
        await client.delete_ehr(ehr_id)
        try:
            await client.get_ehr(ehr_id)
        except Exception:
            return
        raise AssertionError("EHR still there after admin delete")

    await step("admin EHR delete (/rest/admin)", admin_delete)


async def main() -> int:
    base, user, password, opt_file, flat_file = sys.argv[1:6]
    flavour = sys.argv[6] if len(sys.argv) > 6 else "ehrbase"
    import json

    with open(opt_file, encoding="utf-8") as handle:
        opt = handle.read()
    with open(flat_file, encoding="utf-8") as handle:
        flat = json.load(handle)
    kind = EHRBaseClient if flavour == "ehrbase" else OpenEHRClient
    run = Run()
    async with kind(base_url=base, username=user, password=password) as client:
        await drive(client, opt, flat, run)
    print(f"oehrpy ({flavour}): {run.passed} passed, {len(run.failed)} failed", flush=True)
    return len(run.failed)


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
