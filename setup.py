"""Which packages the distribution holds: every package under postcheck/, and flows/,
verifiers/ and fixtures/ installed as postcheck.flows, postcheck.verifiers and
postcheck.fixtures. Found, not listed, so that a new platform package
(postcheck/sources/<platform>/) needs no edit anywhere else."""

from setuptools import find_packages, setup

MAPPED = {
    "postcheck.flows": "flows",
    "postcheck.verifiers": "verifiers",
    "postcheck.fixtures": "fixtures",
}

packages = find_packages(include=["postcheck", "postcheck.*"])
package_dir = {"postcheck": "postcheck", **MAPPED}
for name, folder in MAPPED.items():
    packages += [name] + [f"{name}.{sub}" for sub in find_packages(folder)]

setup(packages=packages, package_dir=package_dir)
