"""Shared harness for the boto3 scripts under e2e/: output helpers, exact
error checks, an ecsd process on a free loopback port, and a runner that
builds ecsd, starts it, runs a scenario and stops it."""

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
            [binary, "--listen", "127.0.0.1:0", "--data-dir", data_dir, "--log-level", "info",
             # tasks count healthy at once (ecsd and ECS wait 40s): the scripts test the API, not the wait
             "--service-healthy-after", "0s"],
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



def run(name, scenario):
    """Build (unless ECSD_BIN is set) and start ecsd, run scenario(endpoint),
    stop ecsd; return the process exit status."""
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
        scenario(server.endpoint)
    except Mismatch as e:
        print(f"   FAIL: {e}", file=sys.stderr)
        if server:
            print("   --- ecsd log (last 20 lines) ---\n" + server.tail(), file=sys.stderr)
        return 1
    finally:
        if server:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)
    print(f"\nPASS: {name}")
    return 0
