"""After docs/how-to/run-kata-with-crictl.md: the guide's pods run on the `kata` runtime handler.

The guide starts three pods (busybox-pod, redis-server-pod, redis-client-pod) with
`crictl runp/run -r kata`; each must be Ready, sandboxed by the Kata runtime, and its container
running. Names come from the fixtures in ../fixtures/crictl/.
"""

import json

import pytest

PODS = {
    "busybox-pod": "busybox-container",
    "redis-server-pod": "redis-server",
    "redis-client-pod": "redis-client",
}


def _pod(host, name):
    with host.sudo():
        out = host.check_output(f"crictl pods --name {name} --output json")
    items = json.loads(out).get("items", [])
    assert items, f"no pod named {name}"
    return items[0]


@pytest.mark.parametrize("pod_name", sorted(PODS))
def test_pod_is_ready_on_kata(host, pod_name):
    pod = _pod(host, pod_name)
    assert pod["state"] == "SANDBOX_READY"
    assert pod.get("runtimeHandler") == "kata", f"{pod_name} runs on {pod.get('runtimeHandler')!r}, not kata"


@pytest.mark.parametrize("pod_name", sorted(PODS))
def test_container_is_running(host, pod_name):
    pod = _pod(host, pod_name)
    with host.sudo():
        out = host.check_output(f"crictl ps --pod {pod['id']} --name {PODS[pod_name]} --output json")
    containers = json.loads(out).get("containers", [])
    assert containers and containers[0]["state"] == "CONTAINER_RUNNING"
