"""The air-gap bundle: one archive that sets up a control node and its hosts with no network.

``sunlight bundle create`` (:mod:`.create`) writes the node image, the wheelhouse, the source
tree (playbooks and their collections), the Debian packages the roles install as a flat apt
repository (:mod:`.apt_repo`) and a manifest of versions and SHA-256 checksums
(:mod:`.manifest`); it is cached by a hash of its inputs (:mod:`.key`). ``sunlight bundle
install`` (:mod:`.install`) verifies it, loads the image, makes a fresh virtual environment
with ``pip --no-index`` and leaves the apt repository where the roles copy it to hosts.
docs/bundle.md is the operator's guide.
"""
