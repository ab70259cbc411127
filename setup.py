"""Which packages the distribution holds: every package under postcheck/, and flows/,
verifiers/ and fixtures/ installed as postcheck.flows, postcheck.verifiers and
postcheck.fixtures. Found, not listed, so that a new platform package
(postcheck/sources/<platform>/) needs no edit anywhere else.

A folder of data (fixtures/images/, verifiers/data/, a platform's fixture folder) is a
package too, with every file in it as its data: setuptools warns that installing an
importable folder that is not listed as a package is deprecated."""

from pathlib import Path

from setuptools import find_namespace_packages, find_packages, setup

MAPPED = {
    "postcheck.flows": "flows",
    "postcheck.verifiers": "verifiers",
    "postcheck.fixtures": "fixtures",
}
NOT_PACKAGES = ["*__pycache__*", "*.egg-info*"]

packages = find_packages(include=["postcheck", "postcheck.*"])
package_dir = {"postcheck": "postcheck", **MAPPED}
# Alembic's template for new migrations (`alembic revision`), beside them.
package_data: dict[str, list[str]] = {"postcheck.store.migrations": ["script.py.mako"]}
for name, folder in MAPPED.items():
    packages.append(name)
    package_data[name] = ["*.json"]
    for sub in find_namespace_packages(folder, exclude=NOT_PACKAGES):
        packages.append(f"{name}.{sub}")
        if not (Path(folder, *sub.split(".")) / "__init__.py").exists():  # a data folder
            package_data[f"{name}.{sub}"] = ["*"]

setup(packages=packages, package_dir=package_dir, package_data=package_data)
