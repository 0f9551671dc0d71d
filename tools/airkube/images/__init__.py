"""Container images without Docker: OCI archives from a debootstrap Debian rootfs, PyPI and Go/C builds.

    from airkube.images import IMAGES, build_images
    paths = build_images(["pause", "coredns"])   # short name -> OCI archive (.tar), cached by input hash

Import with `ctr -n k8s.io images import --all-platforms <tar>`: the index carries
`io.containerd.image.name` (the full ref) and `org.opencontainers.image.ref.name` (the tag).
"""

from airkube.images.build import build_images, cache_dir, input_key, status
from airkube.images.specs import IMAGES, ImageSpec

__all__ = ["IMAGES", "ImageSpec", "build_images", "cache_dir", "input_key", "status"]
