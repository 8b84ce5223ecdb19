"""Package discovery that pyproject.toml cannot express: proofs/ (at the top of the repository) ships as
refloss.proofs with every family's subpackage, so that a new family needs no line here or in pyproject.toml."""

from setuptools import find_packages, setup

proofs = ["refloss.proofs" + name.removeprefix("proofs") for name in find_packages(include=["proofs", "proofs.*"])]
setup(packages=find_packages(include=["refloss", "refloss.*", "accel", "accel.*"]) + proofs,
      package_dir={"refloss.proofs": "proofs"})
