#!/usr/bin/env python3
"""Deploy a service with boto3 and its waiters, as a Python deployment tool
would: cluster, revision, service, tasks, a rolling update, a deregistered
revision that keeps running, a failing revision rolled back by the
deployment circuit breaker, and deletion.

    python3 e2e/boto3-services.py                    # builds ecsd from this checkout
    ECSD_BIN=/path/to/ecsd python3 e2e/boto3-services.py
"""

import sys
import time

from ecsdharness import Mismatch, client, expect, expect_error, ok, run, step

FAST = {"Delay": 1, "MaxAttempts": 60}  # boto3's waiters poll every 15 s by default


def register(ecs, image, env=None):
    container = {"name": "app", "image": image, "memory": 128, "essential": True}
    if env:
        container["environment"] = [{"name": k, "value": v} for k, v in env.items()]
    return ecs.register_task_definition(family="api", containerDefinitions=[container])["taskDefinition"]


def scenario(endpoint):
    ecs = client(endpoint)

    step("cluster, revision, service")
    # The service runs EC2 tasks: give the cluster two simulated container instances.
    ecs.create_cluster(clusterName="py", tags=[{"key": "ecsd:sim-instances", "value": "2"}])
    td1 = register(ecs, "api:1")
    ecs.create_service(cluster="py", serviceName="api", taskDefinition="api", desiredCount=3,
                       deploymentConfiguration={"minimumHealthyPercent": 50, "maximumPercent": 200,
                                                "deploymentCircuitBreaker": {"enable": True, "rollback": True}})
    ecs.get_waiter("services_stable").wait(cluster="py", services=["api"], WaiterConfig=FAST)
    ok("services_stable")
    # services_stable needs only runningCount == desiredCount and one
    # deployment, on AWS too: the rollout can complete a scheduler pass
    # later. Wait for that, then check it.
    deadline = time.monotonic() + 60
    while True:
        svc = ecs.describe_services(cluster="py", services=["api"])["services"][0]
        if svc["deployments"][0]["rolloutState"] == "COMPLETED" or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    expect("running", 3, svc["runningCount"])
    expect("deployment", ("PRIMARY", "COMPLETED"), (svc["deployments"][0]["status"], svc["deployments"][0]["rolloutState"]))
    arns = ecs.list_tasks(cluster="py", serviceName="api")["taskArns"]
    ecs.get_waiter("tasks_running").wait(cluster="py", tasks=arns, WaiterConfig=FAST)
    ok("tasks_running")

    step("a standalone task, stopped by the user")
    task = ecs.run_task(cluster="py", taskDefinition=td1["taskDefinitionArn"], startedBy="py-script")["tasks"][0]
    ecs.get_waiter("tasks_running").wait(cluster="py", tasks=[task["taskArn"]], WaiterConfig=FAST)
    ecs.stop_task(cluster="py", task=task["taskArn"], reason="done here")
    ecs.get_waiter("tasks_stopped").wait(cluster="py", tasks=[task["taskArn"]], WaiterConfig=FAST)
    t = ecs.describe_tasks(cluster="py", tasks=[task["taskArn"]])["tasks"][0]
    expect("stop", ("UserInitiated", "done here"), (t["stopCode"], t["stoppedReason"]))

    step("rolling update to api:2, then deregister it: the service keeps it and scales")
    td2 = register(ecs, "api:2")
    ecs.update_service(cluster="py", service="api", taskDefinition=td2["taskDefinitionArn"])
    ecs.get_waiter("services_stable").wait(cluster="py", services=["api"], WaiterConfig=FAST)
    ecs.deregister_task_definition(taskDefinition=td2["taskDefinitionArn"])
    ecs.update_service(cluster="py", service="api", desiredCount=4)
    ecs.get_waiter("services_stable").wait(cluster="py", services=["api"], WaiterConfig=FAST)
    svc = ecs.describe_services(cluster="py", services=["api"])["services"][0]
    expect("service on the INACTIVE api:2", (td2["taskDefinitionArn"], 4), (svc["taskDefinition"], svc["runningCount"]))
    expect_error("run_task on INACTIVE", "InvalidParameterException", "TaskDefinition is inactive",
                 ecs.run_task, cluster="py", taskDefinition=td2["taskDefinitionArn"])

    step("a revision whose essential container exits 1 at once is rolled back by the circuit breaker")
    bad = register(ecs, "api:3", {"ECSD_SIM_RUN_SECONDS": "0", "ECSD_SIM_EXIT_CODE": "1"})
    ecs.update_service(cluster="py", service="api", taskDefinition=bad["taskDefinitionArn"])
    ecs.get_waiter("services_stable").wait(cluster="py", services=["api"], WaiterConfig=FAST)
    svc = ecs.describe_services(cluster="py", services=["api"])["services"][0]
    expect("rolled back to api:2", td2["taskDefinitionArn"], svc["taskDefinition"])
    messages = [e["message"] for e in svc["events"]]
    if not any("deployment failed: tasks failed to start." in m for m in messages):
        raise Mismatch(f"no circuit-breaker event in {messages[:5]}")
    ok("circuit-breaker event present")
    stopped = ecs.list_tasks(cluster="py", serviceName="api", desiredStatus="STOPPED")["taskArns"]
    failed = [t for t in ecs.describe_tasks(cluster="py", tasks=stopped[:100])["tasks"]
              if t["taskDefinitionArn"] == bad["taskDefinitionArn"]]
    if not failed:
        raise Mismatch("no stopped task of the failing revision")
    expect("failed task", ("EssentialContainerExited", 1), (failed[0]["stopCode"], failed[0]["containers"][0]["exitCode"]))

    step("delete")
    ecs.delete_service(cluster="py", service="api", force=True)
    ecs.get_waiter("services_inactive").wait(cluster="py", services=["api"], WaiterConfig=FAST)
    ok("services_inactive")
    expect("list_services", [], ecs.list_services(cluster="py")["serviceArns"])
    ecs.delete_cluster(cluster="py")
    ok("cluster deleted")


if __name__ == "__main__":
    sys.exit(run("boto3 service deployment against ecsd", scenario))
