"""The portal (external zone, 网上政务大厅): catalogue, applications, materials, tracking."""
