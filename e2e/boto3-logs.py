#!/usr/bin/env python3
"""Page through CloudWatch Logs in ecsd with boto3, as a Python user would:
get_log_events forward and backward with nextForwardToken and
nextBackwardToken, filter_log_events through boto3's paginator, and the
errors CloudWatch Logs answers.

    python3 e2e/boto3-logs.py                    # builds ecsd from this checkout
    ECSD_BIN=/path/to/ecsd python3 e2e/boto3-logs.py

Needs: go (unless ECSD_BIN is set) and boto3.
"""

import sys
import time

import boto3
import botocore.config
from ecsdharness import REGION, Mismatch, expect, expect_error, ok, run, step


def logs_client(endpoint):
    return boto3.client(
        "logs", endpoint_url=endpoint, region_name=REGION,
        aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret",
        config=botocore.config.Config(retries={"total_max_attempts": 1}))


def scenario(endpoint):
    logs = logs_client(endpoint)
    group, stream = "/ecs/boto3", "web/app/0123456789abcdef0123456789abcdef"

    step("create and write 2500 events in three calls")
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName=stream)
    base = int(time.time() * 1000) - 60_000
    messages = [f"event {i:04d}" + (" ERROR" if i % 100 == 0 else "") for i in range(2500)]
    for lo, hi in ((0, 1000), (1000, 2000), (2000, 2500)):
        out = logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=[
            {"timestamp": base + i // 10, "message": messages[i]} for i in range(lo, hi)])
        if "rejectedLogEventsInfo" in out:
            raise Mismatch(f"rejected: {out['rejectedLogEventsInfo']}")
    ok("2500 events stored")

    step("get_log_events forward from the head, 1000 at a time")
    got, token, pages = [], None, 0
    while True:
        kwargs = {"logGroupName": group, "logStreamName": stream, "startFromHead": True, "limit": 1000}
        if token:
            kwargs["nextToken"] = token
        out = logs.get_log_events(**kwargs)
        got += [e["message"] for e in out["events"]]
        if out["nextForwardToken"] == token:
            expect("events on the page that repeats the token", 0, len(out["events"]))
            break
        token, pages = out["nextForwardToken"], pages + 1
        if pages > 10:
            raise Mismatch("paging never ended")
    expect("pages with events", 3, pages)
    expect("every event once, in order (of 2500)", True, got == messages)

    step("get_log_events backward from the end")
    out = logs.get_log_events(logGroupName=group, logStreamName=stream, limit=1000)
    expect("last page is events 1500-2499", True, [e["message"] for e in out["events"]] == messages[1500:])
    back = logs.get_log_events(logGroupName=group, logStreamName=stream, limit=1000, nextToken=out["nextBackwardToken"])
    expect("the page before it is events 500-1499", True, [e["message"] for e in back["events"]] == messages[500:1500])
    fwd = logs.get_log_events(logGroupName=group, logStreamName=stream, limit=5, nextToken=back["nextForwardToken"])
    expect("forward again from that page", messages[1500:1505], [e["message"] for e in fwd["events"]])

    step("a time window: startTime inclusive, endTime exclusive")
    out = logs.get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True,
                              startTime=base + 10, endTime=base + 12)
    expect("window", messages[100:120], [e["message"] for e in out["events"]])

    step("filter_log_events through the paginator")
    pages = logs.get_paginator("filter_log_events").paginate(
        logGroupName=group, filterPattern="ERROR", PaginationConfig={"PageSize": 7})
    found = [e["message"] for page in pages for e in page["events"]]
    expect("ERROR events", [m for m in messages if "ERROR" in m], found)

    step("errors")
    expect_error("missing stream", "ResourceNotFoundException", "The specified log stream does not exist.",
                 logs.get_log_events, logGroupName=group, logStreamName="nope")
    expect_error("missing group", "ResourceNotFoundException", "The specified log group does not exist.",
                 logs.describe_log_streams, logGroupName="/nope")
    expect_error("bad token", "InvalidParameterException", "The specified nextToken is invalid.",
                 logs.get_log_events, logGroupName=group, logStreamName=stream, nextToken="f/123")
    expect_error("an operation ecsd does not serve", "InvalidOperationException",
                 "ecsd does not implement StartQuery yet; see docs/compat.md for the operations it supports.",
                 logs.start_query, logGroupName=group, startTime=0, endTime=1, queryString="fields @message")


def main():
    return run("boto3 CloudWatch Logs paging against ecsd", scenario)


if __name__ == "__main__":
    sys.exit(main())
