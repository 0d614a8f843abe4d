"""After a containerd guide: containerd runs Kata containers through the shim v2 runtime.

`ctr run --runtime io.containerd.kata.v2` must print a kernel that differs from the host's
(the container ran inside a Kata VM), and containerd's effective configuration must contain the
Kata runtime the guide added (a config file containerd ignores would pass a plain `grep`).
"""

RUNTIME = "io.containerd.kata.v2"
IMAGE = "docker.io/library/busybox:latest"


def test_containerd_loaded_the_kata_runtime(host):
    with host.sudo():
        config = host.check_output("containerd config dump")
    assert f'runtime_type = "{RUNTIME}"' in config


def test_kata_container_runs_the_guest_kernel(host):
    host_kernel = host.check_output("uname -r").strip()
    with host.sudo():
        pulled = host.run(f"ctr image pull {IMAGE}")
        assert pulled.rc == 0, pulled.stderr
        result = host.run(f"timeout 600 ctr run --runtime {RUNTIME} --rm {IMAGE} doctest-kata-check uname -r")
    assert result.rc == 0, result.stderr
    guest_kernel = result.stdout.strip()
    assert guest_kernel, "the Kata container printed no kernel version"
    assert guest_kernel != host_kernel, f"the container ran on the host kernel {host_kernel}, not in a Kata VM"
