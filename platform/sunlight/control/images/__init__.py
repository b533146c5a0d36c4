"""The golden node image: source hash, debootstrapped base, and the build itself."""
