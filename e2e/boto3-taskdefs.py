#!/usr/bin/env python3
"""Drive ecsd's task-definition lifecycle with boto3, as a Python user would.

    python3 e2e/boto3-taskdefs.py                    # builds ecsd from this checkout
    ECSD_BIN=/path/to/ecsd python3 e2e/boto3-taskdefs.py

Needs: go (unless ECSD_BIN is set) and boto3. ecsd runs on a free loopback
port with a throwaway data directory and is stopped on exit. Every step is
printed; the first mismatch exits non-zero.
"""

import sys

from botocore.exceptions import ClientError
from ecsdharness import ACCOUNT, REGION, Mismatch, client, expect, expect_error, ok, run, step

def arn(family, revision, region=REGION, account=ACCOUNT):
    return f"arn:aws:ecs:{region}:{account}:task-definition/{family}:{revision}"


def lifecycle(ecs, other):
    app = [{"name": "app", "image": "busybox:1.36", "memory": 128}]

    step("register")
    for want in (1, 2):
        td = ecs.register_task_definition(family="py", containerDefinitions=app)["taskDefinition"]
        expect("revision", want, td["revision"])
    out = ecs.register_task_definition(family="py", containerDefinitions=app,
                                       tags=[{"key": "team", "value": "core"}])
    expect("ARN", arn("py", 3), out["taskDefinition"]["taskDefinitionArn"])
    expect("echoed tags", [{"key": "team", "value": "core"}], out["tags"])
    td = out["taskDefinition"]
    expect("status", "ACTIVE", td["status"])
    expect("compatibilities", ["EXTERNAL", "EC2"], td["compatibilities"])
    c = td["containerDefinitions"][0]
    expect("container defaults", (0, True, [], []), (c["cpu"], c["essential"], c["portMappings"], c["environment"]))
    if "tags" in ecs.register_task_definition(family="py-untagged", containerDefinitions=app):
        raise Mismatch("tags echoed although none were sent")
    ok("no tags echoed when none were sent")

    step("registration errors")
    expect_error("blank family", "ClientException", "Family can not be blank.",
                 ecs.register_task_definition, family="", containerDefinitions=app)
    expect_error("empty tags", "ClientException", "Tags can not be empty.",
                 ecs.register_task_definition, family="py", containerDefinitions=app, tags=[])
    expect_error("duplicate container names", "ClientException",
                 "Container names must be unique within a Task Definition.",
                 ecs.register_task_definition, family="py", containerDefinitions=app + app)

    step("describe")
    expect("latest ACTIVE", 3, ecs.describe_task_definition(taskDefinition="py")["taskDefinition"]["revision"])
    described = ecs.describe_task_definition(taskDefinition=arn("py", 3), include=["TAGS"])
    expect("tags", [{"key": "team", "value": "core"}], described["tags"])
    expect("tags of an untagged revision", [],
           ecs.describe_task_definition(taskDefinition="py:1", include=["TAGS"])["tags"])
    expect_error("unknown", "ClientException", "Unable to describe task definition.",
                 ecs.describe_task_definition, taskDefinition="nope")
    expect_error("another account's ARN", "ClientException", "Unable to describe task definition.",
                 other.describe_task_definition, taskDefinition=arn("py", 1))

    step("list with the paginator")
    pages = list(ecs.get_paginator("list_task_definitions").paginate(
        familyPrefix="py", PaginationConfig={"PageSize": 1}))
    arns = [a for p in pages for a in p["taskDefinitionArns"]]
    expect("pages", 3, len(pages))
    expect("ARNs", [arn("py", r) for r in (1, 2, 3)], arns)
    fams = [f for p in ecs.get_paginator("list_task_definition_families").paginate(
        PaginationConfig={"PageSize": 1}) for f in p["families"]]
    expect("families", ["py", "py-untagged"], fams)
    expect_error("maxResults 0", "InvalidParameterException", "maxResults must be between 1 and 100.",
                 ecs.list_task_definitions, maxResults=0)

    step("deregister and delete")
    expect("deregister", "INACTIVE", ecs.deregister_task_definition(taskDefinition="py:1")["taskDefinition"]["status"])
    expect_error("bare family", "ClientException", "Revision is missing.",
                 ecs.deregister_task_definition, taskDefinition="py")
    out = ecs.delete_task_definitions(taskDefinitions=["py:1", "py:2"])
    expect("deleted", [("py", 1, "DELETE_IN_PROGRESS")],
           [(t["family"], t["revision"], t["status"]) for t in out["taskDefinitions"]])
    expect("failures", [{"arn": "py:2", "reason": "The specified task definition is still in ACTIVE status. "
                                                   "Please deregister the target and try again."}], out["failures"])
    try:
        ecs.deregister_task_definition(taskDefinition="py:1")
        raise Mismatch("deregistering a DELETE_IN_PROGRESS revision succeeded")
    except ClientError as e:
        if e.response["Error"]["Code"] != "ClientException" or \
                "in the process of being deleted" not in e.response["Error"]["Message"]:
            raise Mismatch(f"deregister DELETE_IN_PROGRESS: {e.response['Error']}")
        ok(f"deregister DELETE_IN_PROGRESS refused: {e.response['Error']['Message']}")

    step("tags")
    ecs.tag_resource(resourceArn=arn("py", 3), tags=[{"key": "env", "value": "prod"}])
    ecs.untag_resource(resourceArn=arn("py", 3), tagKeys=["team"])
    expect("tags", [{"key": "env", "value": "prod"}], ecs.list_tags_for_resource(resourceArn=arn("py", 3))["tags"])
    expect_error("malformed ARN", "InvalidParameterException", "The ARN provided is invalid.",
                 ecs.list_tags_for_resource, resourceArn="py:3")

    step("operations not built yet")
    expect_error("describe_daemon", "UnsupportedFeatureException",
                 "ecsd does not implement DescribeDaemon yet; see docs/compat.md for the operations it supports.",
                 ecs.describe_daemon, daemonArn="arn:aws:ecs:us-east-1:000000000000:daemon/prod/agent")


def main():
    return run("boto3 task-definition lifecycle against ecsd",
               lambda endpoint: lifecycle(client(endpoint), client(endpoint, key="111111111111")))


if __name__ == "__main__":
    sys.exit(main())
