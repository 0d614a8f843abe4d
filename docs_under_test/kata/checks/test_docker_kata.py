"""After a Docker guide: a container started with `--runtime kata` runs in a Kata VM.

The guides promise that `uname -r` in a Kata container prints the *guest* kernel, "normally
different from the host's": that difference is the evidence the container did not run on runc.
Run by doctest-runner with pytest-testinfra against the guide's VM (`host` fixture).
"""


def test_docker_knows_the_kata_runtime(host):
    with host.sudo():
        runtimes = host.check_output("docker info --format '{{json .Runtimes}}'")
    assert '"kata"' in runtimes


def test_kata_container_runs_the_guest_kernel(host):
    host_kernel = host.check_output("uname -r").strip()
    with host.sudo():
        result = host.run("timeout 600 docker run --runtime kata --rm busybox:latest uname -r")
    assert result.rc == 0, result.stderr
    guest_kernel = result.stdout.strip()
    assert guest_kernel, "the Kata container printed no kernel version"
    assert guest_kernel != host_kernel, f"the container ran on the host kernel {host_kernel}, not in a Kata VM"
