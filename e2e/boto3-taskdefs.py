#!/usr/bin/env python3
"""Drive ecsd's task-definition lifecycle with boto3, as a Python user would.

    python3 e2e/boto3-taskdefs.py                    # builds ecsd from this checkout
    ECSD_BIN=/path/to/ecsd python3 e2e/boto3-taskdefs.py

Needs: go (unless ECSD_BIN is set) and boto3. ecsd runs on a free loopback
port with a throwaway data directory and is stopped on exit. Every step is
printed; the first mismatch exits non-zero.
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

import boto3
import botocore.config
from botocore.exceptions import ClientError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ACCOUNT = "000000000000"
REGION = "us-east-1"


def step(msg):
    print(f"\n== {msg}", flush=True)


def ok(msg):
    print(f"   ok: {msg}", flush=True)


class Mismatch(Exception):
    pass


def expect(what, want, got):
    if want != got:
        raise Mismatch(f"{what}: want {want!r}, got {got!r}")
    ok(f"{what} = {got!r}")


def expect_error(what, code, message, call, **kwargs):
    """Call must fail with exactly this ECS error code and message."""
    try:
        call(**kwargs)
    except ClientError as e:
        err, meta = e.response["Error"], e.response["ResponseMetadata"]
        expect(f"{what}: error", (code, message), (err.get("Code"), err.get("Message")))
        expect(f"{what}: HTTP status", 400, meta["HTTPStatusCode"])
        if not meta.get("RequestId"):
            raise Mismatch(f"{what}: no request id in {meta}")
        return
    raise Mismatch(f"{what}: succeeded, want {code}: {message}")


class Ecsd:
    """An ecsd process on a kernel-chosen loopback port."""

    def __init__(self, binary, data_dir, log_path):
        self.log_path = log_path
        self.log = open(log_path, "w")
        self.proc = subprocess.Popen(
            [binary, "--listen", "127.0.0.1:0", "--data-dir", data_dir, "--log-level", "info"],
            stdout=self.log, stderr=self.log)
        deadline = time.monotonic() + 15
        addr = None
        while addr is None:
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise Mismatch("ecsd did not start:\n" + self.tail())
            m = re.search(r'msg="ecsd listening" addr=([0-9.:]+)', open(log_path).read())
            if m:
                addr = m.group(1)
            else:
                time.sleep(0.05)
        self.endpoint = f"http://{addr}"
        while True:
            try:
                with urllib.request.urlopen(self.endpoint + "/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise Mismatch("ecsd never became healthy:\n" + self.tail())
            time.sleep(0.05)
        ok(f"ecsd {self.proc.pid} listening on {self.endpoint}")

    def tail(self):
        return "".join(open(self.log_path).readlines()[-20:])

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def client(endpoint, key="AKIDEXAMPLE", region=REGION):
    # A 12-digit access key id selects that account; anything else is
    # ecsd's default account.
    return boto3.client(
        "ecs", endpoint_url=endpoint, region_name=region,
        aws_access_key_id=key, aws_secret_access_key="secret",
        config=botocore.config.Config(retries={"total_max_attempts": 1}))


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
    expect_error("delete_capacity_provider", "UnsupportedFeatureException",
                 "ecsd does not implement DeleteCapacityProvider yet; see docs/compat.md for the operations it supports.",
                 ecs.delete_capacity_provider, capacityProvider="asg")


def main():
    work = tempfile.mkdtemp(prefix="ecsd-boto3-")
    server = None
    try:
        binary = os.environ.get("ECSD_BIN")
        step("build ecsd")
        if not binary:
            binary = os.path.join(work, "ecsd")
            subprocess.run(["go", "build", "-o", binary, "./cmd/ecsd"], cwd=ROOT, check=True)
        ok(f"using {binary}; boto3 {boto3.__version__}")
        step("start ecsd")
        server = Ecsd(binary, os.path.join(work, "data"), os.path.join(work, "ecsd.log"))
        lifecycle(client(server.endpoint), client(server.endpoint, key="111111111111"))
    except Mismatch as e:
        print(f"   FAIL: {e}", file=sys.stderr)
        if server:
            print("   --- ecsd log (last 20 lines) ---\n" + server.tail(), file=sys.stderr)
        return 1
    finally:
        if server:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)
    print("\nPASS: boto3 task-definition lifecycle against ecsd")
    return 0


if __name__ == "__main__":
    sys.exit(main())
