#!/usr/bin/env python3
"""Set up and time EC2 placement on one ECS endpoint (ecsd or moto_server).

Registers N container instances in a cluster (on moto_server, after creating
the EC2 instances its RegisterContainerInstance requires), then places T tasks
with RunTask in calls of 10 (ECS's maximum count) and prints one JSON line:
the setup and placement times and the ARNs of the first 10 instances, which
bench/instances.sh hands to wrk for DescribeContainerInstances.

    bench/instances.py ENDPOINT [--instances 100] [--tasks 1000] [--ec2]
"""
import argparse
import json
import sys
import time

import boto3


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("endpoint")
    ap.add_argument("--instances", type=int, default=100)
    ap.add_argument("--tasks", type=int, default=1000)
    ap.add_argument("--ec2", action="store_true", help="create the EC2 instances first (moto_server)")
    a = ap.parse_args()
    kw = dict(endpoint_url=a.endpoint, region_name="us-east-1", aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret")
    ecs = boto3.client("ecs", **kw)
    ecs.create_cluster(clusterName="place", tags=[{"key": "ecsd:sim-instances", "value": "0"}])
    ecs.register_task_definition(family="small", containerDefinitions=[
        {"name": "app", "image": "busybox", "cpu": 128, "memory": 256}])
    if a.ec2:
        ec2 = boto3.client("ec2", **kw)
        image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
        ids = []
        while len(ids) < a.instances:
            n = min(100, a.instances - len(ids))
            r = ec2.run_instances(ImageId=image, MinCount=n, MaxCount=n, InstanceType="c5.2xlarge")
            ids += [i["InstanceId"] for i in r["Instances"]]
    else:
        ids = ["i-%017x" % (i + 1) for i in range(a.instances)]
    t0 = time.perf_counter()
    arns = []
    for k, iid in enumerate(ids):
        doc = json.dumps({"instanceId": iid, "availabilityZone": "us-east-1" + "abc"[k % 3],
                          "instanceType": "c5.2xlarge", "imageId": "ami-0abc", "architecture": "x86_64", "region": "us-east-1"})
        r = ecs.register_container_instance(
            cluster="place", instanceIdentityDocument=doc, instanceIdentityDocumentSignature="c2ln",
            totalResources=[{"name": "CPU", "type": "INTEGER", "integerValue": 8192},
                            {"name": "MEMORY", "type": "INTEGER", "integerValue": 15000},
                            {"name": "PORTS", "type": "STRINGSET", "stringSetValue": ["22", "2375", "2376", "51678", "51679"]}],
            versionInfo={"agentVersion": "1.86.0", "agentHash": "a1b2c3d4", "dockerVersion": "DockerVersion: 25.0.6"},
            # What the agent reports and a revision's requiresAttributes
            # name (docker-remote-api.1.18 for any revision).
            attributes=[{"name": "ecs.os-type", "value": "linux"},
                        {"name": "com.amazonaws.ecs.capability.docker-remote-api.1.18"}])
        arns.append(r["containerInstance"]["containerInstanceArn"])
    register_s = time.perf_counter() - t0

    placed, failures, calls = 0, 0, []
    t0 = time.perf_counter()
    while placed + failures < a.tasks:
        n = min(10, a.tasks - placed - failures)
        c0 = time.perf_counter()
        r = ecs.run_task(cluster="place", taskDefinition="small", count=n, launchType="EC2",
                         placementStrategy=[{"type": "spread", "field": "attribute:ecs.availability-zone"},
                                            {"type": "binpack", "field": "memory"}])
        calls.append(time.perf_counter() - c0)
        placed += len(r["tasks"])
        failures += n - len(r["tasks"])
    place_s = time.perf_counter() - t0
    calls.sort()
    print(json.dumps({
        "instances": len(arns), "register_s": round(register_s, 3),
        "tasks_placed": placed, "tasks_failed": failures, "place_s": round(place_s, 3),
        "runtask_p50_ms": round(calls[len(calls) // 2] * 1000, 2),
        "runtask_p99_ms": round(calls[min(len(calls) - 1, int(len(calls) * 0.99))] * 1000, 2),
        "arns": arns[:10],
    }))


if __name__ == "__main__":
    sys.exit(main())
